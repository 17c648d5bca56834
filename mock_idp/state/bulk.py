"""Loading many pre-built users and groups into a directory at once (the generator's path).

:class:`BulkLoad` is a part of :class:`mock_idp.state.directory.Directory`: it checks a
whole batch against the directory's indexes, then fills them and the change
log in one go, so 100k users cost one lock and one timestamp.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from collections.abc import Iterable
from datetime import datetime

from mock_idp.state.records import OKTA_STATUSES
from mock_idp.state.records import ChangeEvent
from mock_idp.state.records import Group
from mock_idp.state.records import StateError
from mock_idp.state.records import User


class BulkLoad:
    """``bulk_load``, all or nothing, under ``lock``."""

    lock: threading.RLock
    users: dict[str, User]
    groups: dict[str, Group]
    changes: list[ChangeEvent]
    version: int
    _users_by_okta_id: dict[str, str]
    _groups_by_okta_id: dict[str, str]
    _users_by_name: dict[str, str]
    now: Callable[[], datetime]  # Directory's change clock

    def bulk_load(self, users: Iterable[User], groups: Iterable[Group] = ()) -> None:
        """Insert many pre-built users and groups at once (the generator's path).

        Groups arrive with their direct members already in ``user_ids`` and
        ``group_ids``.  Everything is checked first (unique ids, unique
        ``user_name`` case-insensitively, known statuses, members that exist),
        so a bad batch changes nothing.  The indexes are filled and the change
        log gets one ``created`` per object and one ``added`` per membership,
        all at a single timestamp, so per-call overhead is paid once.

        A built-in group arrives empty (it lists no members); every built-in group,
        loaded or already there, then holds every user, loaded or already there.
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
                if group.built_in and (group.user_ids or group.group_ids):
                    raise StateError(
                        "invalid",
                        f"bulk load: group {group.name!r} is built in: it holds every user and lists none",
                    )
                if not known_users.issuperset(group.user_ids) or not known_groups.issuperset(group.group_ids):
                    raise StateError("invalid", f"bulk load: group {group.name!r} has an unknown member")
                if group.object_id in group.group_ids:
                    raise StateError("invalid", f"bulk load: group {group.name!r} contains itself")
            existing_built_in = [g for g in self.groups.values() if g.built_in]
            for group in groups:
                if group.built_in:
                    group.user_ids.update(dict.fromkeys(self.users))
                    group.user_ids.update(dict.fromkeys(u.object_id for u in users))
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
            for group in existing_built_in if users else ():  # the loaded users join it
                gid = group.object_id
                for user in users:
                    group.user_ids[user.object_id] = None
                    log.append(
                        ChangeEvent(len(log) + 1, at, "membership", "added", gid, user.object_id, "user")
                    )
                group.last_membership_updated = at
            self.version += len(users) + len(groups) + 1
