"""The canonical directory behind every dialect.  No Flask, no HTTP.

One :class:`Directory` holds users, groups, direct memberships (users and
nested groups), OAuth clients, API tokens, issued access tokens and an
append-only change log.  The Okta, Graph and SCIM blueprints only *render*
it, so every dialect shows the same directory: a user whose status is
``SUSPENDED`` is ``SUSPENDED`` in Okta, ``accountEnabled: false`` in Graph
and ``active: false`` in SCIM.

Statuses use Okta's vocabulary, the richest of the three.  ``User.active``
is true for the signed-in states (``ACTIVE``, ``PASSWORD_EXPIRED``,
``LOCKED_OUT``, ``RECOVERY``), as PRODUCT.md defines it.

Each object carries two ids: ``object_id`` (a GUID, used by Graph and SCIM)
and ``okta_id`` (``00u…``/``00g…``, 20 characters, used by Okta).  Both are
derived from the directory's seed, so a seeded directory is reproducible.

Every mutation runs under ``Directory.lock``, bumps ``version`` and appends
to ``changes``; timestamps come from a clock that never repeats a
millisecond, so ``lastUpdated gt X`` filters and delta tokens are exact.
"""

from __future__ import annotations

import dataclasses
import random
import string
import threading
import uuid
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from typing import Any
from typing import Literal

OKTA_STATUSES: tuple[str, ...] = (
    "STAGED",
    "PROVISIONED",
    "ACTIVE",
    "RECOVERY",
    "LOCKED_OUT",
    "PASSWORD_EXPIRED",
    "SUSPENDED",
    "DEPROVISIONED",
)
ACTIVE_STATUSES: frozenset[str] = frozenset({"ACTIVE", "PASSWORD_EXPIRED", "LOCKED_OUT", "RECOVERY"})

Dialect = Literal["okta", "graph", "scim"]
DIALECTS: tuple[Dialect, ...] = ("okta", "graph", "scim")

_BASE62 = string.digits + string.ascii_letters


class StateError(Exception):
    """A request the directory refuses (unknown id, duplicate, bad value).

    ``kind`` is one of ``not_found``, ``conflict``, ``invalid``; the dialect
    renders it in its own error shape.
    """

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def utc_ms(value: datetime) -> datetime:
    """``value`` in UTC, truncated to the millisecond."""
    value = value.astimezone(timezone.utc)
    return value.replace(microsecond=(value.microsecond // 1000) * 1000)


@dataclass
class User:
    """One user.  ``user_name`` is the Okta login and the SCIM ``userName``;
    ``upn`` is the Graph ``userPrincipalName`` (``#EXT#`` form for guests)."""

    object_id: str
    okta_id: str
    user_name: str
    upn: str
    email: str | None
    given_name: str | None
    family_name: str | None
    display_name: str | None
    status: str
    created: datetime
    last_updated: datetime
    status_changed: datetime | None = None
    activated: datetime | None = None
    last_login: datetime | None = None
    password_changed: datetime | None = None
    second_email: str | None = None
    other_mails: list[str] = field(default_factory=list)
    user_type: str = "Member"  # Graph userType: Member or Guest
    external_user_state: str | None = None  # PendingAcceptance / Accepted for invited guests
    creation_type: str | None = None  # Graph creationType: None or "Invitation" for B2B guests
    external_id: str | None = None
    title: str | None = None
    department: str | None = None
    employee_number: str | None = None
    mobile_phone: str | None = None
    password: str | None = None  # set through SCIM writes; never rendered
    version: int = 1

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES


@dataclass
class Group:
    """One group with its direct members (user and group object ids, in order)."""

    object_id: str
    okta_id: str
    name: str
    description: str | None
    created: datetime
    last_updated: datetime
    last_membership_updated: datetime
    external_id: str | None = None
    user_ids: dict[str, None] = field(default_factory=dict)
    group_ids: dict[str, None] = field(default_factory=dict)
    version: int = 1


@dataclass
class OAuthClient:
    """An OAuth client of one dialect.

    ``auth_method`` is ``private_key_jwt`` (``jwks`` holds its public keys) or
    ``client_secret``.  ``scopes`` are the scopes it may be granted.
    """

    client_id: str
    dialect: Dialect
    auth_method: Literal["private_key_jwt", "client_secret"]
    scopes: tuple[str, ...]
    client_secret: str | None = None
    jwks: dict[str, Any] | None = None
    name: str = ""


@dataclass
class ApiToken:
    """A static token: an Okta SSWS API token or a SCIM bearer token."""

    token: str
    dialect: Dialect
    scopes: tuple[str, ...] = ()
    name: str = ""


@dataclass
class IssuedToken:
    """An access token handed out by a token endpoint."""

    token: str
    client_id: str
    dialect: Dialect
    scopes: tuple[str, ...]
    expires_at: datetime


@dataclass(frozen=True)
class ChangeEvent:
    """One entry of the change log.

    ``kind`` is ``user``, ``group`` or ``membership``; ``op`` is ``created``,
    ``updated``, ``deleted`` (objects) or ``added``/``removed`` (memberships,
    where ``object_id`` is the group and ``member_id``/``member_kind`` the member).
    """

    seq: int
    at: datetime
    kind: Literal["user", "group", "membership"]
    op: Literal["created", "updated", "deleted", "added", "removed"]
    object_id: str
    member_id: str | None = None
    member_kind: Literal["user", "group"] | None = None


USER_FIELDS = frozenset(
    f.name
    for f in dataclasses.fields(User)
    if f.name not in {"object_id", "okta_id", "created", "last_updated", "version"}
)
GROUP_FIELDS = frozenset({"name", "description", "external_id"})


class Directory:
    """The canonical directory.  Thread-safe; every method takes ``lock``."""

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
        self._users_by_okta_id: dict[str, str] = {}
        self._groups_by_okta_id: dict[str, str] = {}
        self._users_by_name: dict[str, str] = {}  # lower-cased user_name -> object_id
        self.clients: dict[str, OAuthClient] = {}
        self.api_tokens: dict[str, ApiToken] = {}
        self.issued_tokens: dict[str, IssuedToken] = {}
        self.used_jtis: dict[str, datetime] = {}
        self.changes: list[ChangeEvent] = []
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
        return prefix + "".join(self._rng.choice(_BASE62) for _ in range(20 - len(prefix)))

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
            if object_id in self.users or okta_id in self._users_by_okta_id:
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
        """Remove a user and its memberships (logged as removals, then the deletion)."""
        with self.lock:
            user = self.user(object_id)
            for group in self.groups.values():
                if object_id in group.user_ids:
                    self.remove_member(group.object_id, object_id)
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
    ) -> Group:
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
            )
            self.groups[object_id] = group
            self._groups_by_okta_id[okta_id] = object_id
            self._log(at, "group", "created", object_id)
            return group

    def update_group(self, object_id: str, **fields: Any) -> Group:
        unknown = set(fields) - GROUP_FIELDS
        if unknown:
            raise StateError("invalid", f"unknown group fields: {', '.join(sorted(unknown))}")
        with self.lock:
            group = self.group(object_id)
            at = self.now()
            for name, value in fields.items():
                setattr(group, name, value)
            group.last_updated = at
            group.version += 1
            self._log(at, "group", "updated", object_id)
            return group

    def delete_group(self, object_id: str) -> None:
        """Remove a group, its memberships, and its place in parent groups."""
        with self.lock:
            group = self.group(object_id)
            for parent in self.groups.values():
                if object_id in parent.group_ids:
                    self.remove_member(parent.object_id, object_id, kind="group")
            at = self.now()
            del self.groups[object_id]
            del self._groups_by_okta_id[group.okta_id]
            self._log(at, "group", "deleted", object_id)

    # ------------------------------------------------------------------ memberships

    def add_member(self, group_id: str, member_id: str, *, kind: Literal["user", "group"] = "user") -> bool:
        """Add a direct member; False when it was already there.  Cycles are allowed
        (real directories have them; the connector must report them, not loop)."""
        with self.lock:
            group = self.group(group_id)
            if kind == "user":
                self.user(member_id)
                members = group.user_ids
            else:
                self.group(member_id)
                if member_id == group_id:
                    raise StateError("invalid", "a group cannot contain itself")
                members = group.group_ids
            if member_id in members:
                return False
            at = self.now()
            members[member_id] = None
            group.last_membership_updated = at
            self._log(at, "membership", "added", group_id, member_id=member_id, member_kind=kind)
            return True

    def remove_member(
        self, group_id: str, member_id: str, *, kind: Literal["user", "group"] = "user"
    ) -> bool:
        """Remove a direct member; False when it was not there."""
        with self.lock:
            group = self.group(group_id)
            members = group.user_ids if kind == "user" else group.group_ids
            if member_id not in members:
                return False
            at = self.now()
            del members[member_id]
            group.last_membership_updated = at
            self._log(at, "membership", "removed", group_id, member_id=member_id, member_kind=kind)
            return True

    def set_members(self, group_id: str, user_ids: Iterable[str], group_ids: Iterable[str] = ()) -> None:
        """Make the direct members exactly these (a SCIM PUT of ``members``)."""
        with self.lock:
            group = self.group(group_id)
            wanted_users = dict.fromkeys(user_ids)
            wanted_groups = dict.fromkeys(group_ids)
            for uid in [u for u in group.user_ids if u not in wanted_users]:
                self.remove_member(group_id, uid)
            for gid in [g for g in group.group_ids if g not in wanted_groups]:
                self.remove_member(group_id, gid, kind="group")
            for uid in wanted_users:
                self.add_member(group_id, uid)
            for gid in wanted_groups:
                self.add_member(group_id, gid, kind="group")

    def groups_of_user(self, object_id: str) -> list[Group]:
        """Groups the user is a direct member of."""
        with self.lock:
            return [g for g in self.groups.values() if object_id in g.user_ids]

    def transitive_user_ids(self, group_id: str) -> list[str]:
        """Users in the group or any nested group below it, each once, cycles cut."""
        with self.lock:
            seen_groups: set[str] = set()
            users: dict[str, None] = {}
            stack = [group_id]
            while stack:
                gid = stack.pop()
                if gid in seen_groups or gid not in self.groups:
                    continue
                seen_groups.add(gid)
                group = self.groups[gid]
                users.update(group.user_ids)
                stack.extend(reversed(group.group_ids))
            return list(users)

    # ------------------------------------------------------------------ OAuth and tokens

    def add_client(self, client: OAuthClient) -> OAuthClient:
        with self.lock:
            self.clients[client.client_id] = client
            return client

    def add_api_token(self, token: ApiToken) -> ApiToken:
        with self.lock:
            self.api_tokens[token.token] = token
            return token

    def issue_token(
        self, client_id: str, dialect: Dialect, scopes: Iterable[str], lifetime: int = 3600
    ) -> IssuedToken:
        """Hand out a random access token for ``lifetime`` seconds."""
        with self.lock:
            token = IssuedToken(
                token="".join(random.SystemRandom().choice(_BASE62) for _ in range(48)),
                client_id=client_id,
                dialect=dialect,
                scopes=tuple(scopes),
                expires_at=self._clock().astimezone(timezone.utc) + timedelta(seconds=lifetime),
            )
            self.issued_tokens[token.token] = token
            return token

    def use_jti(self, jti: str, expires_at: datetime) -> bool:
        """Record a client-assertion ``jti``; False when it was seen before (a replay)."""
        with self.lock:
            now = self._clock().astimezone(timezone.utc)
            for old in [j for j, exp in self.used_jtis.items() if exp < now]:
                del self.used_jtis[old]
            if jti in self.used_jtis:
                return False
            self.used_jtis[jti] = expires_at
            return True

    def clock_now(self) -> datetime:
        """The clock's time without advancing the change clock (for token checks)."""
        return self._clock().astimezone(timezone.utc)

    # ------------------------------------------------------------------ bulk load

    def bulk_load(self, users: Iterable[User], groups: Iterable[Group] = ()) -> None:
        """Insert many pre-built users and groups at once (the generator's path).

        Groups arrive with their direct members already in ``user_ids`` and
        ``group_ids``.  Everything is checked first (unique ids, unique
        ``user_name`` case-insensitively, known statuses, members that exist),
        so a bad batch changes nothing.  The indexes are filled and the change
        log gets one ``created`` per object and one ``added`` per membership,
        all at a single timestamp, so per-call overhead is paid once.
        """
        users = list(users)
        groups = list(groups)
        with self.lock:
            names = {u.user_name.lower() for u in users}
            if len(names) != len(users) or not names.isdisjoint(self._users_by_name):
                raise StateError("conflict", "bulk load: a user_name is duplicated or already taken")
            user_ids = {u.object_id for u in users}
            if len(user_ids) != len(users) or not user_ids.isdisjoint(self.users):
                raise StateError("conflict", "bulk load: a user id is duplicated or already taken")
            okta_ids = {u.okta_id for u in users} | {g.okta_id for g in groups}
            if len(okta_ids) != len(users) + len(groups) or not okta_ids.isdisjoint(
                self._users_by_okta_id.keys() | self._groups_by_okta_id.keys()
            ):
                raise StateError("conflict", "bulk load: an Okta id is duplicated or already taken")
            group_ids = {g.object_id for g in groups}
            if len(group_ids) != len(groups) or not group_ids.isdisjoint(self.groups):
                raise StateError("conflict", "bulk load: a group id is duplicated or already taken")
            bad = {u.status for u in users} - set(OKTA_STATUSES)
            if bad:
                raise StateError("invalid", f"bulk load: unknown status {sorted(bad)[0]!r}")
            known_users = user_ids | self.users.keys()
            known_groups = group_ids | self.groups.keys()
            for group in groups:
                if not known_users.issuperset(group.user_ids) or not known_groups.issuperset(group.group_ids):
                    raise StateError("invalid", f"bulk load: group {group.name!r} has an unknown member")
                if group.object_id in group.group_ids:
                    raise StateError("invalid", f"bulk load: group {group.name!r} contains itself")
            at = self.now()
            log = self.changes
            for user in users:
                self.users[user.object_id] = user
                self._users_by_okta_id[user.okta_id] = user.object_id
                self._users_by_name[user.user_name.lower()] = user.object_id
                log.append(ChangeEvent(len(log) + 1, at, "user", "created", user.object_id))
            for group in groups:
                self.groups[group.object_id] = group
                self._groups_by_okta_id[group.okta_id] = group.object_id
                log.append(ChangeEvent(len(log) + 1, at, "group", "created", group.object_id))
            for group in groups:
                gid = group.object_id
                for uid in group.user_ids:
                    log.append(ChangeEvent(len(log) + 1, at, "membership", "added", gid, uid, "user"))
                for cid in group.group_ids:
                    log.append(ChangeEvent(len(log) + 1, at, "membership", "added", gid, cid, "group"))
            self.version += len(users) + len(groups) + 1
