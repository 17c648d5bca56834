"""The canonical directory behind every dialect.  No Flask, no HTTP.

One :class:`Directory` holds users, groups, direct memberships (users and
nested groups), OAuth clients, API tokens, issued access tokens and an
append-only change log.  The Okta, Graph and SCIM blueprints only *render*
it, so every dialect shows the same directory: a user whose status is
``SUSPENDED`` is ``SUSPENDED`` in Okta, ``accountEnabled: false`` in Graph
and ``active: false`` in SCIM.  The records themselves are in
:mod:`mock_idp.state.records` (re-exported here).

Each object carries two ids: ``object_id`` (a GUID, used by Graph and SCIM)
and ``okta_id`` (``00u…``/``00g…``, 20 characters, used by Okta).  Both are
derived from the directory's seed, so a seeded directory is reproducible.

Every mutation runs under ``Directory.lock``, bumps ``version`` and appends
to ``changes``; timestamps come from a clock that never repeats a
millisecond, so ``lastUpdated gt X`` filters and delta tokens are exact.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Callable
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from typing import Any

from mock_idp.state.bulk import BulkLoad
from mock_idp.state.deleted_items import DeletedItems
from mock_idp.state.deleted_items import DeletedUser
from mock_idp.state.memberships import Memberships
from mock_idp.state.records import ACTIVE_STATUSES
from mock_idp.state.records import BASE62
from mock_idp.state.records import DIALECTS as DIALECTS  # re-exported
from mock_idp.state.records import GROUP_FIELDS
from mock_idp.state.records import OKTA_STATUSES
from mock_idp.state.records import USER_FIELDS
from mock_idp.state.records import ApiToken as ApiToken  # re-exported
from mock_idp.state.records import ChangeEvent
from mock_idp.state.records import Dialect as Dialect  # re-exported
from mock_idp.state.records import Group
from mock_idp.state.records import IssuedToken as IssuedToken  # re-exported
from mock_idp.state.records import OAuthClient as OAuthClient  # re-exported
from mock_idp.state.records import StateError
from mock_idp.state.records import User
from mock_idp.state.records import utc_ms
from mock_idp.state.system_log import SystemLog
from mock_idp.state.tokens import TokenBook


class Directory(Memberships, TokenBook, BulkLoad, DeletedItems):
    """The canonical directory.  Thread-safe; every method takes ``lock``.

    Memberships, credentials, bulk loading and Entra's deleted items live in the
    mixed-in parts (:mod:`mock_idp.state.memberships`, :mod:`mock_idp.state.tokens`,
    :mod:`mock_idp.state.bulk`, :mod:`mock_idp.state.deleted_items`).
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        tenant_id: str | None = None,
        tenant_domain: str = "contoso.onmicrosoft.com",
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.lock = threading.RLock()
        self.seed = seed
        self._rng = random.Random(seed)
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._last_tick: datetime | None = None
        self.tenant_id = tenant_id or str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
        self.tenant_domain = tenant_domain
        self.users: dict[str, User] = {}
        self.groups: dict[str, Group] = {}
        self.deleted_users: dict[str, DeletedUser] = {}  # Entra's deleted items, by object id
        self._users_by_okta_id: dict[str, str] = {}
        self._groups_by_okta_id: dict[str, str] = {}
        self._users_by_name: dict[str, str] = {}  # lower-cased user_name -> object_id
        TokenBook.__init__(self)
        self.changes: list[ChangeEvent] = []
        self.system_log = SystemLog()  # Okta membership events, after the directory is built
        self.version = 0
        self._snapshot_cache: dict[str, tuple[int, tuple[Any, ...]]] = {}

    # ------------------------------------------------------------------ time and ids

    def now(self) -> datetime:
        """A fresh timestamp, in UTC, millisecond precision, strictly increasing."""
        with self.lock:
            tick = utc_ms(self._clock())
            if self._last_tick is not None and tick <= self._last_tick:
                tick = self._last_tick + timedelta(milliseconds=1)
            self._last_tick = tick
            return tick

    def _guid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _okta_id(self, prefix: str) -> str:
        return prefix + "".join(self._rng.choice(BASE62) for _ in range(20 - len(prefix)))

    def _log(self, at: datetime, kind: str, op: str, object_id: str, **extra: Any) -> None:
        self.version += 1
        self.changes.append(ChangeEvent(len(self.changes) + 1, at, kind, op, object_id, **extra))  # type: ignore[arg-type]

    @property
    def last_seq(self) -> int:
        """Sequence number of the newest change-log entry (0 when empty)."""
        return len(self.changes)

    def changes_since(self, seq: int) -> list[ChangeEvent]:
        """Change-log entries after ``seq``, oldest first."""
        with self.lock:
            return self.changes[seq:]

    # ------------------------------------------------------------------ snapshots

    def users_snapshot(self) -> tuple[User, ...]:
        """Every user, in creation order, as a tuple cached until the next change."""
        return self._snapshot("users", lambda: tuple(self.users.values()))

    def groups_snapshot(self) -> tuple[Group, ...]:
        """Every group, in creation order, cached until the next change."""
        return self._snapshot("groups", lambda: tuple(self.groups.values()))

    def _snapshot(self, key: str, build: Callable[[], tuple[Any, ...]]) -> tuple[Any, ...]:
        with self.lock:
            cached = self._snapshot_cache.get(key)
            if cached is None or cached[0] != self.version:
                cached = (self.version, build())
                self._snapshot_cache[key] = cached
            return cached[1]

    def cached(self, key: Any, build: Callable[[], Any]) -> Any:
        """Memoise ``build()`` under ``key`` until the directory next changes.

        Dialects use it for filtered lists, so paging a filter over 100k users
        evaluates the filter once, not once per page.
        """
        return self._snapshot(("custom", key), build)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ users

    def user(self, object_id: str) -> User:
        with self.lock:
            try:
                return self.users[object_id]
            except KeyError:
                raise StateError("not_found", f"no user with id {object_id!r}") from None

    def user_by_okta_id(self, okta_id: str) -> User:
        with self.lock:
            object_id = self._users_by_okta_id.get(okta_id)
            if object_id is None:
                raise StateError("not_found", f"no user with id {okta_id!r}")
            return self.users[object_id]

    def user_by_name(self, user_name: str) -> User | None:
        with self.lock:
            object_id = self._users_by_name.get(user_name.lower())
            return self.users[object_id] if object_id else None

    def add_user(
        self,
        user_name: str,
        *,
        email: str | None = None,
        object_id: str | None = None,
        okta_id: str | None = None,
        created: datetime | None = None,
        **fields: Any,
    ) -> User:
        """Create a user.  ``user_name`` is unique, case-insensitively (SCIM §4.1.1).

        A guest (``user_type="Guest"``) with no ``upn`` gets Entra's B2B form,
        ``alice_example.org#EXT#@<tenant domain>``.
        """
        unknown = set(fields) - USER_FIELDS
        if unknown:
            raise StateError("invalid", f"unknown user fields: {', '.join(sorted(unknown))}")
        status = fields.setdefault("status", "ACTIVE")
        if status not in OKTA_STATUSES:
            raise StateError("invalid", f"unknown status {status!r}; one of {', '.join(OKTA_STATUSES)}")
        if not user_name:
            raise StateError("invalid", "user_name is required")
        with self.lock:
            if user_name.lower() in self._users_by_name:
                raise StateError("conflict", f"user_name {user_name!r} is already taken")
            object_id = object_id or self._guid()
            okta_id = okta_id or self._okta_id("00u")
            taken = object_id in self.users or object_id in self.deleted_users
            if taken or okta_id in self._users_by_okta_id:
                raise StateError("conflict", f"user id {object_id!r} is already taken")
            at = self.now()
            if "upn" not in fields or not fields["upn"]:
                fields["upn"] = self._upn_for(user_name, email, fields.get("user_type", "Member"))
            user = User(
                object_id=object_id,
                okta_id=okta_id,
                user_name=user_name,
                email=email,
                given_name=fields.pop("given_name", None),
                family_name=fields.pop("family_name", None),
                display_name=fields.pop("display_name", None),
                created=utc_ms(created) if created else at,
                last_updated=at,
                **fields,
            )
            if user.display_name is None:
                user.display_name = " ".join(p for p in (user.given_name, user.family_name) if p) or None
            if user.status in ACTIVE_STATUSES:
                user.activated = user.activated or user.created
            user.status_changed = user.status_changed or user.created
            self.users[object_id] = user
            self._users_by_okta_id[okta_id] = object_id
            self._users_by_name[user_name.lower()] = object_id
            self._log(at, "user", "created", object_id)
            self._join_built_in(object_id)
            return user

    def _upn_for(self, user_name: str, email: str | None, user_type: str) -> str:
        if user_type == "Guest":
            address = email or user_name
            return f"{address.replace('@', '_')}#EXT#@{self.tenant_domain}"
        return user_name

    def update_user(self, object_id: str, **fields: Any) -> User:
        """Change some fields of a user; bumps ``last_updated`` and logs it."""
        unknown = set(fields) - USER_FIELDS
        if unknown:
            raise StateError("invalid", f"unknown user fields: {', '.join(sorted(unknown))}")
        if "status" in fields and fields["status"] not in OKTA_STATUSES:
            raise StateError("invalid", f"unknown status {fields['status']!r}")
        with self.lock:
            user = self.user(object_id)
            if "user_name" in fields and fields["user_name"].lower() != user.user_name.lower():
                if fields["user_name"].lower() in self._users_by_name:
                    raise StateError("conflict", f"user_name {fields['user_name']!r} is already taken")
                del self._users_by_name[user.user_name.lower()]
                self._users_by_name[fields["user_name"].lower()] = object_id
            at = self.now()
            if "status" in fields and fields["status"] != user.status:
                user.status_changed = at
                fields.setdefault("active_unassigned", False)  # a new status assigns SCIM ``active``
                if fields["status"] in ACTIVE_STATUSES and user.activated is None:
                    user.activated = at
            for name, value in fields.items():
                setattr(user, name, value)
            user.last_updated = at
            user.version += 1
            self._log(at, "user", "updated", object_id)
            return user

    def set_status(self, object_id: str, status: str) -> User:
        """Move a user to an Okta status (``DEPROVISIONED`` deactivates)."""
        return self.update_user(object_id, status=status)

    def delete_user(self, object_id: str) -> None:
        """Remove a user and its memberships, built-in groups' too (logged as removals, then
        the deletion).

        This alone is a delete with no way back (SCIM's); :meth:`soft_delete_user` keeps
        the user in Entra's deleted items."""
        with self.lock:
            user = self.user(object_id)
            for group in self.groups.values():
                if object_id in group.user_ids:
                    self._remove_member(group.object_id, object_id)
            at = self.now()
            del self.users[object_id]
            del self._users_by_okta_id[user.okta_id]
            del self._users_by_name[user.user_name.lower()]
            self._log(at, "user", "deleted", object_id)

    # ------------------------------------------------------------------ groups

    def group(self, object_id: str) -> Group:
        with self.lock:
            try:
                return self.groups[object_id]
            except KeyError:
                raise StateError("not_found", f"no group with id {object_id!r}") from None

    def group_by_okta_id(self, okta_id: str) -> Group:
        with self.lock:
            object_id = self._groups_by_okta_id.get(okta_id)
            if object_id is None:
                raise StateError("not_found", f"no group with id {okta_id!r}")
            return self.groups[object_id]

    def add_group(
        self,
        name: str,
        *,
        description: str | None = None,
        object_id: str | None = None,
        okta_id: str | None = None,
        external_id: str | None = None,
        created: datetime | None = None,
        built_in: bool = False,
    ) -> Group:
        """Create a group; a ``built_in`` one starts with every user of the directory."""
        if not name:
            raise StateError("invalid", "group name is required")
        with self.lock:
            object_id = object_id or self._guid()
            okta_id = okta_id or self._okta_id("00g")
            if object_id in self.groups or okta_id in self._groups_by_okta_id:
                raise StateError("conflict", f"group id {object_id!r} is already taken")
            at = self.now()
            group = Group(
                object_id=object_id,
                okta_id=okta_id,
                name=name,
                description=description,
                created=utc_ms(created) if created else at,
                last_updated=at,
                last_membership_updated=at,
                external_id=external_id,
                built_in=built_in,
            )
            self.groups[object_id] = group
            self._groups_by_okta_id[okta_id] = object_id
            self._log(at, "group", "created", object_id)
            if built_in:
                for user_id in list(self.users):
                    self._add_member(object_id, user_id)
            return group

    def update_group(self, object_id: str, **fields: Any) -> Group:
        """Change some fields of a group.  A built-in group keeps its name and description
        (Okta modifies profiles of ``OKTA_GROUP`` groups only)."""
        unknown = set(fields) - GROUP_FIELDS
        if unknown:
            raise StateError("invalid", f"unknown group fields: {', '.join(sorted(unknown))}")
        with self.lock:
            group = self.group(object_id)
            if any(getattr(group, k) != fields[k] for k in ("name", "description") if k in fields):
                self._refuse_built_in(group, "be renamed or have its description changed")
            at = self.now()
            for name, value in fields.items():
                setattr(group, name, value)
            group.last_updated = at
            group.version += 1
            self._log(at, "group", "updated", object_id)
            return group

    def delete_group(self, object_id: str) -> None:
        """Remove a group, its memberships, and its place in parent groups.  A built-in group
        cannot be deleted."""
        with self.lock:
            group = self.group(object_id)
            self._refuse_built_in(group, "be deleted")
            for parent in self.groups.values():
                if object_id in parent.group_ids:
                    self._remove_member(parent.object_id, object_id, kind="group")
            at = self.now()
            del self.groups[object_id]
            del self._groups_by_okta_id[group.okta_id]
            self._log(at, "group", "deleted", object_id)
