"""A full read kept only where it differs from the mirror: what a scoped full run plans from.

A full read of a directory whose store is as its last run left it needs
planning only for what the read changes (:mod:`connector.scoped`), and the
mirror (:mod:`connector.mirror`) says what the last read held.
:func:`read_differences` pages through every user, group and member list
exactly as :func:`connector.run_planning.read_directory` does, compares each
with the mirror's digests (:class:`~connector.mirror.MirrorIndex`) as it
comes, and keeps only those that differ, so the read is never held whole:

* a user new or changed, and the ids of those the mirror has and the read
  lacks;
* a group new or changed, and the ids of those gone;
* the whole member list of every group whose list differs.

The digests load on a worker thread while the users are read; users read
before they arrive wait in a list and are compared as soon as they do.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

from connector.mirror import MirrorIndex
from connector.mirror import digest
from connector.mirror import group_key
from connector.mirror import member_keys
from connector.mirror import members_digest
from connector.mirror import user_key
from connector.model import ChangeSet
from connector.model import IdpGroup
from connector.model import IdpMember
from connector.model import IdpUser
from connector.providers.base import Provider

Progress = Callable[[str, int, int | None], None]
READ_PROGRESS_EVERY = 1000


@dataclass(frozen=True)
class Differences:
    """A full read as its differences from the mirror, and how many users it read."""

    changes: ChangeSet
    users_read: int


class _UserDiff:
    """The users read so far that differ from the mirror; those read before its digests came wait."""

    def __init__(self, index: Future[MirrorIndex]) -> None:
        self.index = index
        self.known: dict[str, int] | None = None
        self.waiting: list[tuple[IdpUser, int]] = []
        self.changed: dict[str, IdpUser] = {}
        self.seen: set[str] = set()

    def add(self, user: IdpUser) -> None:
        self.seen.add(user.idp_user_id)
        mark = digest(user_key(user))
        if self.known is None:
            if not self.index.done():
                self.waiting.append((user, mark))
                return
            self._arrived()
        self._compare(user, mark)

    def _arrived(self) -> None:
        self.known = self.index.result().users
        waiting, self.waiting = self.waiting, []
        for user, mark in waiting:
            self._compare(user, mark)

    def _compare(self, user: IdpUser, mark: int) -> None:
        assert self.known is not None
        if self.known.get(user.idp_user_id) != mark:
            self.changed[user.idp_user_id] = user
        else:
            self.changed.pop(user.idp_user_id, None)  # listed twice: the later listing counts

    def finish(self) -> tuple[tuple[IdpUser, ...], tuple[str, ...]]:
        """The users new or changed, and the ids the mirror holds that the read lacks."""
        if self.known is None:
            self._arrived()
        assert self.known is not None
        return tuple(self.changed.values()), tuple(uid for uid in self.known if uid not in self.seen)


def read_differences(
    provider: Provider, index: Future[MirrorIndex], cursor: str | None, progress: Progress | None = None
) -> Differences:
    """Read the whole directory and keep what differs from the mirror ``index`` describes.

    ``cursor`` marks where the next incremental run starts (taken before the
    read).  The change set lists whole member lists only
    (``groups_with_full_members``), never a diff.
    """
    users = _UserDiff(index)
    for n, user in enumerate(provider.iter_users(), 1):
        users.add(user)
        if progress is not None and n % READ_PROGRESS_EVERY == 0:
            progress("read users", n, None)
    changed_users, absent_users = users.finish()
    users_read = len(users.seen)
    del users
    if progress is not None:
        progress("read users", users_read, users_read)
    mirror = index.result()
    groups: dict[str, IdpGroup] = {g.idp_group_id: g for g in provider.iter_groups()}
    changed_groups = tuple(g for gid, g in groups.items() if mirror.groups.get(gid) != group_key(g))
    absent_groups = tuple(gid for gid in mirror.groups if gid not in groups)
    listed: list[IdpMember] = []
    whole: list[str] = []
    for n, group_id in enumerate(groups, 1):
        members = tuple(provider.iter_members(group_id))
        now = members_digest(member_keys(members)) if members else None
        if now != mirror.members.get(group_id):
            whole.append(group_id)
            listed.extend(members)
        if progress is not None:
            progress("read members", n, len(groups))
    changes = ChangeSet(
        cursor=cursor or "",
        users=changed_users,
        removed_user_ids=absent_users,
        groups=changed_groups,
        removed_group_ids=absent_groups,
        members_added=tuple(listed),
        groups_with_full_members=tuple(whole),
    )
    return Differences(changes, users_read)
