"""The direct-member changes of an incremental run, and the mirror rows a scoped run writes.

:class:`MemberChanges` holds the changes the IdP reported as laying them over
the mirror (:func:`connector.rules.mirror.overlay`) applies them, so a run that
planned only what changed (:mod:`connector.store.scope`) can work out any group's
members after them from a few of its rows before.  :func:`scoped_mirror_changes`
writes the mirror's changes as single rows (``MirrorMemberRows``), to the same
end state :func:`connector.rules.mirror.mirror_changes` reaches with whole lists.
"""

from __future__ import annotations

from collections.abc import Collection
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field

from connector.model import ChangeSet
from connector.model import IdpGroup
from connector.model import IdpUser
from connector.model import MemberKind
from connector.rules.mirror import MemberKey
from connector.rules.mirror import UserKey
from connector.rules.mirror import group_gone
from connector.rules.mirror import group_key
from connector.rules.mirror import group_written
from connector.rules.mirror import kind_value
from connector.rules.mirror import user_gone
from connector.rules.mirror import user_key
from connector.rules.mirror_records import MirrorMemberRows
from connector.rules.mirror_records import MirrorUser
from connector.rules.plan import Change

USER = MemberKind.USER.value
GROUP = MemberKind.GROUP.value


@dataclass
class MemberChanges:
    """The direct-member changes of one run, as overlaying them on the mirror would apply them."""

    added: dict[str, set[MemberKey]] = field(default_factory=dict)
    dropped: dict[str, set[MemberKey]] = field(default_factory=dict)
    whole: set[str] = field(default_factory=set)
    removed_groups: set[str] = field(default_factory=set)
    gone: set[MemberKey] = field(default_factory=set)  # removed users and groups leave every list
    lists_complete: bool = False  # a full read's: every list that changed is whole; the gone stay listed

    def settle(self, group_id: str, before: set[MemberKey]) -> None:
        """Turn a group's whole list into its differences from ``before``, its stored list: the
        same list after, at the size of what moved."""
        if group_id not in self.whole:
            return
        self.whole.discard(group_id)
        now = self.added.pop(group_id, set())
        if group_id in self.removed_groups:
            return
        added, dropped = now - before, before - now
        if added:
            self.added[group_id] = added
        if dropped:
            self.dropped[group_id] = dropped

    def after(self, group_id: str, before: Iterable[MemberKey]) -> set[MemberKey]:
        """A group's direct members after the changes, given (some of) them before (a whole list
        must be settled first)."""
        assert group_id not in self.whole, "whole member lists are settled into differences first"
        if group_id in self.removed_groups:
            return set()
        return (set(before) - self.dropped.get(group_id, set()) | self.added.get(group_id, set())) - self.gone


def member_changes(
    changes: ChangeSet, removed_users: set[str], removed_groups: set[str], *, lists_complete: bool = False
) -> MemberChanges:
    """The changes' member edits.  ``lists_complete`` (a full read's differences): a user or group
    gone from the read stays in the lists that still name it, as the read listed them."""
    out = MemberChanges(
        whole=set(changes.groups_with_full_members),
        removed_groups=removed_groups,
        lists_complete=lists_complete,
    )
    for m in changes.members_removed:
        if m.group_id not in out.whole:
            out.dropped.setdefault(m.group_id, set()).add((m.member_id, kind_value(m.kind)))
    for m in changes.members_added:
        if m.group_id not in removed_groups:
            out.added.setdefault(m.group_id, set()).add((m.member_id, kind_value(m.kind)))
    if not lists_complete:
        out.gone = {(uid, USER) for uid in removed_users} | {(gid, GROUP) for gid in removed_groups}
    return out


def nested_under(groups: Iterable[str], children: Mapping[str, set[str]]) -> set[str]:
    """The groups and every group nested in them, at any depth (cycles included once)."""
    seen: set[str] = set()
    todo = list(groups)
    while todo:
        group_id = todo.pop()
        if group_id not in seen:
            seen.add(group_id)
            todo.extend(children.get(group_id, ()))
    return seen


def scoped_mirror_changes(
    d: str,
    changed: Mapping[str, IdpUser],
    removed_users: Collection[str],
    old: Mapping[str, UserKey],
    old_groups: Mapping[str, IdpGroup],
    new_groups: Iterable[IdpGroup],
    members: MemberChanges,
    rows_before: Iterable[tuple[str, str, str]],
    children_before: Mapping[str, set[str]],
) -> list[Change]:
    """The mirror's changes as rows: the same end state as :func:`connector.rules.mirror.mirror_changes`.

    Whole lists must be settled (:meth:`MemberChanges.settle`) first."""
    assert not members.whole, "whole member lists are settled into differences first"
    removed_groups = members.removed_groups
    out: list[Change] = []
    for uid in sorted(changed):
        key = user_key(changed[uid])
        if old.get(uid) != key:
            out.append(MirrorUser("mirror: the user changed in the IdP", d, uid, False, *key))
    out += [user_gone(d, uid) for uid in sorted(removed_users) if uid in old]
    latest = {g.idp_group_id: g for g in new_groups}
    for gid in sorted(latest.keys() - removed_groups):
        before = old_groups.get(gid)
        if before is None or group_key(before) != group_key(latest[gid]):
            out.append(group_written(d, latest[gid]))
    out += [group_gone(d, gid) for gid in sorted(removed_groups) if gid in old_groups]
    # rows that leave a list because their member is gone
    leaving: dict[str, set[MemberKey]] = {}
    for group_id, member_id, kind in rows_before:
        if (member_id, kind) in members.gone:
            leaving.setdefault(group_id, set()).add((member_id, kind))
    for parent, kids in children_before.items() if not members.lists_complete else ():
        for child in kids & removed_groups:
            leaving.setdefault(parent, set()).add((child, GROUP))
    touched = members.added.keys() | members.dropped.keys() | leaving.keys()
    for gid in sorted(touched - removed_groups):
        add = members.added.get(gid, set()) - members.gone
        drop = (members.dropped.get(gid, set()) - add) | leaving.get(gid, set())
        if add or drop:
            out.append(
                MirrorMemberRows(
                    reason="mirror: the group's members changed",
                    directory_id=d,
                    group_id=gid,
                    added_users=tuple(sorted(m for m, k in add if k == USER)),
                    added_groups=tuple(sorted(m for m, k in add if k == GROUP)),
                    removed_users=tuple(sorted(m for m, k in drop if k == USER)),
                    removed_groups=tuple(sorted(m for m, k in drop if k == GROUP)),
                )
            )
    return out
