"""Direct memberships of the directory's groups: users and nested groups.  No Flask, no HTTP.

:class:`Memberships` is a part of :class:`mock_idp.state.directory.Directory`: it keeps
each group's ``user_ids`` and ``group_ids`` (insertion-ordered dicts), logs an
``added``/``removed`` change per edit and bumps ``last_membership_updated``.
Every edit also writes Okta System Log events (:mod:`mock_idp.state.system_log`) for
each group whose flattened users it changes, the edited group's ancestors
included.  It relies on the directory's ``lock``, ``user``, ``group``, ``now``,
``_log`` and ``system_log``.

A built-in group (Okta's ``Everyone``) is kept here too: :meth:`Memberships.add_member`,
:meth:`~Memberships.remove_member` and :meth:`~Memberships.set_members` refuse to edit it
(``StateError`` ``unsupported``; Okta answers ``E0000060`` "Unsupported operation." when a
client assigns a user to Everyone), while the directory itself moves users in and out
of it through the same internal path, with the same change log, System Log events and
``lastMembershipUpdated`` as any group: :meth:`~Memberships._join_built_in` when a user
is created or restored, the removal of a deleted user from every group.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from datetime import datetime
from typing import Literal

from mock_idp.state.records import Group
from mock_idp.state.records import StateError
from mock_idp.state.records import User
from mock_idp.state.system_log import ADD
from mock_idp.state.system_log import REMOVE
from mock_idp.state.system_log import SystemLog
from mock_idp.state.system_log import ancestors
from mock_idp.state.system_log import group_edit_diffs
from mock_idp.state.system_log import transitive_sets
from mock_idp.state.system_log import user_edit_groups


class Memberships:
    """Membership edits and walks over the directory's groups, under ``lock``."""

    lock: threading.RLock
    users: dict[str, User]
    groups: dict[str, Group]
    user: Callable[[str], User]  # the rest come from Directory
    group: Callable[[str], Group]
    now: Callable[[], datetime]
    _log: Callable[..., None]
    system_log: SystemLog

    def add_member(self, group_id: str, member_id: str, *, kind: Literal["user", "group"] = "user") -> bool:
        """Add a direct member; False when it was already there.  Cycles are allowed
        (real directories have them; the connector must report them, not loop).
        A built-in group refuses (``StateError`` ``unsupported``)."""
        with self.lock:
            self._refuse_built_in(self.group(group_id), "have members added by hand")
            return self._add_member(group_id, member_id, kind=kind)

    def remove_member(
        self, group_id: str, member_id: str, *, kind: Literal["user", "group"] = "user"
    ) -> bool:
        """Remove a direct member; False when it was not there.  A built-in group refuses."""
        with self.lock:
            self._refuse_built_in(self.group(group_id), "have members removed by hand")
            return self._remove_member(group_id, member_id, kind=kind)

    @staticmethod
    def _refuse_built_in(group: Group, action: str) -> None:
        """``StateError`` ``unsupported`` if ``group`` is built in: it cannot ``action``."""
        if group.built_in:
            raise StateError(
                "unsupported",
                f"group {group.name!r} is built in (its members are every user of the directory):"
                f" it cannot {action}",
            )

    def _join_built_in(self, user_id: str) -> None:
        """Make a new or restored user a member of every built-in group.

        Whether Okta writes ``group.user_membership.add`` for ``Everyone`` when a user is
        created is not documented; the mock logs it as for any group, so a System Log
        reader sees every membership the Groups API shows.
        """
        with self.lock:
            for group in [g for g in self.groups.values() if g.built_in]:
                self._add_member(group.object_id, user_id)

    def _add_member(self, group_id: str, member_id: str, *, kind: Literal["user", "group"] = "user") -> bool:
        """:meth:`add_member` without the built-in check: the directory's own path."""
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
            before = self._flattened_before(group_id, member_id, kind, adding=True)
            at = self.now()
            members[member_id] = None
            group.last_membership_updated = at
            self._log(at, "membership", "added", group_id, member_id=member_id, member_kind=kind)
            self._log_events(at, ADD, group_id, member_id, kind, before)
            return True

    def _remove_member(
        self, group_id: str, member_id: str, *, kind: Literal["user", "group"] = "user"
    ) -> bool:
        """:meth:`remove_member` without the built-in check: the directory's own path."""
        with self.lock:
            group = self.group(group_id)
            members = group.user_ids if kind == "user" else group.group_ids
            if member_id not in members:
                return False
            before = self._flattened_before(group_id, member_id, kind, adding=False)
            at = self.now()
            del members[member_id]
            group.member_display.pop(member_id, None)
            group.last_membership_updated = at
            self._log(at, "membership", "removed", group_id, member_id=member_id, member_kind=kind)
            self._log_events(at, REMOVE, group_id, member_id, kind, before)
            return True

    def _flattened_before(
        self, group_id: str, member_id: str, kind: str, *, adding: bool
    ) -> dict[str, set[str]] | list[str] | None:
        """What the System Log needs from before an edit: for a user added, the groups that
        do not reach it yet; for a nested group, each ancestor's flattened users."""
        if kind == "user":
            return user_edit_groups(self.groups, group_id, member_id) if adding else None
        return transitive_sets(self.groups, ancestors(self.groups, group_id), self.transitive_user_ids)

    def _log_events(
        self,
        at: datetime,
        event_type: str,
        group_id: str,
        member_id: str,
        kind: str,
        before: dict[str, set[str]] | list[str] | None,
    ) -> None:
        if kind == "user":
            user = self.users[member_id]
            if isinstance(before, list):  # an add: the groups that did not reach the user before
                changed = before
            else:  # a removal: the groups that no longer reach the user
                changed = user_edit_groups(self.groups, group_id, member_id)
            for gid in changed:
                self.system_log.append(at, event_type, user, self.groups[gid])
                self.groups[gid].users_updated = at  # Okta's lastMembershipUpdated, ancestors too
            return
        assert isinstance(before, dict)
        after = transitive_sets(self.groups, before, self.transitive_user_ids)
        for diff_type, gid, uid in group_edit_diffs(before, after):
            self.system_log.append(at, diff_type, self.users[uid], self.groups[gid])
            self.groups[gid].users_updated = at

    def set_members(
        self,
        group_id: str,
        user_ids: Iterable[str],
        group_ids: Iterable[str] = (),
        displays: Mapping[str, str] | None = None,
    ) -> None:
        """Make the direct members exactly these (a SCIM PUT of ``members``); ``displays``
        names members this edit adds (member id -> SCIM ``display``, kept while they stay).
        A built-in group accepts only the members it has (a PUT that changes nothing)."""
        with self.lock:
            group = self.group(group_id)
            before = {*group.user_ids, *group.group_ids}
            wanted_users = dict.fromkeys(user_ids)
            wanted_groups = dict.fromkeys(group_ids)
            if wanted_users.keys() != group.user_ids.keys() or wanted_groups.keys() != group.group_ids.keys():
                self._refuse_built_in(group, "have its members set by hand")
            for uid in [u for u in group.user_ids if u not in wanted_users]:
                self._remove_member(group_id, uid)
            for gid in [g for g in group.group_ids if g not in wanted_groups]:
                self._remove_member(group_id, gid, kind="group")
            for uid in wanted_users:
                self._add_member(group_id, uid)
            for gid in wanted_groups:
                self._add_member(group_id, gid, kind="group")
            for member_id, display in (displays or {}).items():
                if member_id not in before and (member_id in wanted_users or member_id in wanted_groups):
                    group.member_display[member_id] = display

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
