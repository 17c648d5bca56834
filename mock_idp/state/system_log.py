"""Okta's System Log of membership changes, kept beside the directory.  No Flask, no HTTP.

:class:`SystemLog` holds one :class:`LogEntry` per ``group.user_membership.add``
or ``group.user_membership.remove`` event, in the order they happened.  Each
entry has a ``seq`` (strictly increasing, so two events in the same
millisecond still have an order and a paging cursor) and copies of the names
the event's targets had then, so an event still renders after its user or
group is gone.

Only edits made after a directory is built are logged: the generator's
:meth:`~mock_idp.state.bulk.BulkLoad.bulk_load` writes none, so a 1M-user directory
logs nothing until something changes.  The log keeps the newest ``capacity``
entries (Okta keeps 90 days; a mock keeps a count), dropping the oldest in
chunks.

Okta groups hold users only and the mock renders nested groups flattened
(``/groups/{id}/users`` is transitive), so the events follow the flattened
view: :func:`user_edit_groups` and :func:`group_edit_diffs` work out which
groups gained or lost a user when a direct edit happens.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from mock_idp.state.records import Group
from mock_idp.state.records import User

ADD = "group.user_membership.add"
REMOVE = "group.user_membership.remove"
DEFAULT_CAPACITY = 200_000


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One membership event; ``user``/``group`` are (okta id, login or name, display name)."""

    seq: int
    published: datetime
    event_type: str
    user: tuple[str, str, str | None]
    group: tuple[str, str]


class SystemLog:
    """An append-only, size-bounded list of :class:`LogEntry` in ``seq`` order."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = max(1, capacity)
        self._entries: list[LogEntry] = []
        self._next_seq = 1
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def append(self, at: datetime, event_type: str, user: User, group: Group) -> LogEntry:
        with self._lock:
            entry = LogEntry(
                self._next_seq,
                at,
                event_type,
                (user.okta_id, user.user_name, user.display_name),
                (group.okta_id, group.name),
            )
            self._next_seq += 1
            self._entries.append(entry)
            if len(self._entries) > self.capacity + self.capacity // 4:
                del self._entries[: len(self._entries) - self.capacity]
            return entry

    def entries(self) -> list[LogEntry]:
        """A copy of the retained entries, oldest first."""
        with self._lock:
            return list(self._entries)

    def window(self, since: datetime, until: datetime) -> list[LogEntry]:
        """Entries with ``since <= published < until``, oldest first (``published`` never decreases)."""
        with self._lock:
            entries = self._entries
            start = bisect.bisect_left(entries, since, key=lambda entry: entry.published)
            end = bisect.bisect_left(entries, until, lo=start, key=lambda entry: entry.published)
            return entries[start:end]


def user_reachable(groups: Mapping[str, Group], group_id: str, user_id: str) -> bool:
    """Is the user a member of the group directly or through nested groups (cycles cut)?"""
    seen: set[str] = set()
    stack = [group_id]
    while stack:
        gid = stack.pop()
        if gid in seen or gid not in groups:
            continue
        seen.add(gid)
        group = groups[gid]
        if user_id in group.user_ids:
            return True
        stack.extend(group.group_ids)
    return False


def ancestors(groups: Mapping[str, Group], group_id: str) -> list[str]:
    """The group and every group that contains it, directly or not, the group first."""
    parents: dict[str, list[str]] = {}
    for group in groups.values():
        for child in group.group_ids:
            parents.setdefault(child, []).append(group.object_id)
    found = [group_id]
    seen = {group_id}
    for gid in found:
        for parent in parents.get(gid, ()):
            if parent not in seen:
                seen.add(parent)
                found.append(parent)
    return found


def user_edit_groups(groups: Mapping[str, Group], group_id: str, user_id: str) -> list[str]:
    """Before adding (or after removing) a direct user member: the groups whose flattened
    membership the edit changes, i.e. the group and its ancestors that do not reach the
    user some other way."""
    return [gid for gid in ancestors(groups, group_id) if not user_reachable(groups, gid, user_id)]


def transitive_sets(
    groups: Mapping[str, Group], group_ids: Iterable[str], walk: Callable[[str], list[str]]
) -> dict[str, set[str]]:
    """Each group's flattened user ids, for diffing around a nested-group edit."""
    return {gid: set(walk(gid)) for gid in group_ids if gid in groups}


def group_edit_diffs(
    before: Mapping[str, set[str]], after: Mapping[str, set[str]]
) -> list[tuple[str, str, str]]:
    """``(event type, group id, user id)`` for every user a group gained or lost."""
    diffs: list[tuple[str, str, str]] = []
    for gid, old in before.items():
        new = after.get(gid, set())
        diffs.extend((ADD, gid, uid) for uid in sorted(new - old))
        diffs.extend((REMOVE, gid, uid) for uid in sorted(old - new))
    return diffs
