"""A full read kept only where it differs from the mirror: what a scoped full run plans from.

A full read of a directory whose store is as its last run left it needs
planning only for what the read changes (:mod:`connector.store.scope`), and the
mirror (:mod:`connector.rules.mirror`) says what the last read held.
:func:`read_differences` pages through every user, group and member list
exactly as :func:`connector.run.planning.read_directory` does, compares each
with the mirror's digests (:class:`~connector.rules.mirror.MirrorIndex`) as it
comes, and keeps only those that differ, so the read is never held whole:

* a user new or changed, and the ids of those the mirror has and the read
  lacks;
* a group new or changed, and the ids of those gone;
* the whole member list of every group whose list differs.

The digests load on a worker thread while the users are read (the users'
first); users read before they arrive wait, at most ``MAX_WAITING`` of them,
and are compared as soon as they do.  A user compared is marked in the
digests themselves, so what is left unmarked at the end is what the read
lacks, with no second set of a million ids.
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from connector.model import ChangeSet
from connector.model import IdpGroup
from connector.model import IdpMember
from connector.model import IdpUser
from connector.model import ProblemIds
from connector.progress import Progress
from connector.providers.base import Provider
from connector.rules.mirror import MirrorIndex
from connector.rules.mirror import digest
from connector.rules.mirror import group_key
from connector.rules.mirror import member_keys
from connector.rules.mirror import members_digest
from connector.rules.mirror import user_key
from connector.store import Store

READ_PROGRESS_EVERY = 1000


MAX_WAITING = 100_000
"""Users read before the mirror's digests are in that may wait for them; past this the read waits
instead (at 1M users the digests take seconds to load, and a million waiting users gigabytes)."""

_SEEN = None  # a compared user's digest is replaced by this: the digests are ints
_ABSENT: Any = object()


@dataclass(frozen=True)
class MirrorDigests:
    """The mirror's digests, loading: the users' (:meth:`Store.mirror_user_digests`)
    and the groups' and member lists' (:meth:`Store.mirror_lists`)."""

    users: Future[dict[str, int]]
    lists: Future[MirrorIndex]

    @classmethod
    def load(cls, store: Store, directory_id: str) -> MirrorDigests:
        """The digests loaded here and now, on the caller's thread."""
        users: Future[dict[str, int]] = Future()
        users.set_result(store.mirror_user_digests(directory_id))
        lists: Future[MirrorIndex] = Future()
        lists.set_result(store.mirror_lists(directory_id))
        return cls(users, lists)


@dataclass(frozen=True)
class Differences:
    """A full read as its differences from the mirror, and how many users it read."""

    changes: ChangeSet
    users_read: int
    groups_read: int = 0


class _UserDiff:
    """The users read so far that differ from the mirror; those read before its digests came wait."""

    def __init__(self, digests: Future[dict[str, int]]) -> None:
        self.digests = digests
        self.known: dict[str, int | None] | None = None
        self.waiting: list[tuple[IdpUser, int]] = []
        self.changed: dict[str, IdpUser] = {}
        self.fresh: set[str] = set()  # read, and not in the mirror
        self.count = 0  # distinct users read

    def add(self, user: IdpUser) -> None:
        mark = digest(user_key(user))
        if self.known is None:
            if len(self.waiting) < MAX_WAITING and not self.digests.done():
                self.waiting.append((user, mark))
                return
            self._arrived()
        self._compare(user, mark)

    def _arrived(self) -> None:
        self.known = self.digests.result()  # type: ignore[assignment]
        waiting, self.waiting = self.waiting, []
        for user, mark in waiting:
            self._compare(user, mark)

    def _compare(self, user: IdpUser, mark: int) -> None:
        assert self.known is not None
        uid = user.idp_user_id
        before = self.known.get(uid, _ABSENT)
        if before is _ABSENT:
            if uid not in self.fresh:
                self.fresh.add(uid)
                self.count += 1
            self.changed[uid] = user
        elif before is _SEEN:
            self.changed[uid] = user  # listed twice: planned as listed last
        else:
            self.known[uid] = _SEEN
            self.count += 1
            if before != mark:
                self.changed[uid] = user

    def finish(self) -> tuple[tuple[IdpUser, ...], tuple[str, ...]]:
        """The users new or changed, and the ids the mirror holds that the read lacks."""
        if self.known is None:
            self._arrived()
        assert self.known is not None
        absent = tuple(uid for uid, mark in self.known.items() if mark is not _SEEN)
        return tuple(self.changed.values()), absent


def read_differences(
    provider: Provider, mirror: MirrorDigests, cursor: str | None, progress: Progress | None = None
) -> Differences:
    """Read the whole directory and keep what differs from the mirror ``mirror`` describes.

    ``cursor`` marks where the next incremental run starts (taken before the
    read).  The change set lists whole member lists only
    (``groups_with_full_members``), never a diff.
    """
    reported = len(provider.problems)
    users = _UserDiff(mirror.users)
    for n, user in enumerate(provider.iter_users(), 1):
        users.add(user)
        if progress is not None and n % READ_PROGRESS_EVERY == 0:
            progress("read users", n, None)
    changed_users, absent_users = users.finish()
    # what the read returned malformed is neither changed nor absent: the mirror keeps it
    unknown = ProblemIds.of(provider.problems[reported:])
    absent_users = (
        () if unknown.absence_uncertain else tuple(u for u in absent_users if u not in unknown.users)
    )
    users_read = users.count
    del users
    if progress is not None:
        progress("read users", users_read, users_read)
    lists = mirror.lists.result()
    groups: dict[str, IdpGroup] = {g.idp_group_id: g for g in provider.iter_groups()}
    changed_groups = tuple(g for gid, g in groups.items() if lists.groups.get(gid) != group_key(g))
    unsettled = ProblemIds.of(provider.problems[reported:]).groups  # the groups' problems too, now
    absent_groups = tuple(gid for gid in lists.groups if gid not in groups and gid not in unsettled)
    listed: list[IdpMember] = []
    whole: list[str] = []
    for n, group_id in enumerate(groups, 1):
        before = len(provider.problems)
        members = tuple(provider.iter_members(group_id))
        if len(provider.problems) > before and any(
            p.object_id == group_id for p in provider.problems[before:]
        ):  # not known to be complete: the stored list stays
            continue
        now = members_digest(member_keys(members)) if members else None
        if now != lists.members.get(group_id):
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
    return Differences(changes, users_read, len(groups))
