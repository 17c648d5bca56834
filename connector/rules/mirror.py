"""The mirror: the store's copy of a directory as last read, for incremental runs.

An incremental run reads only what changed since the stored cursor
(:meth:`Provider.changes`).  Planning stays level-based all the same: the
change set is laid over the mirror (:func:`overlay`) to give the whole
directory as a :class:`DirectoryView`, and the planner compares that with the
store exactly as after a full read, except that absence means nothing.

The mirror is kept in the plan, as bookkeeping changes (:func:`mirror_changes`
diffs the new view against the old mirror, so an unchanged directory adds
none), and written in the plan's last transaction together with the cursor:
the mirror always describes the directory *as of* the stored cursor.  Only
directories whose provider supports ``changes()`` keep one.  The handlers that
write it are in :mod:`connector.store.handlers.mirror`, its loaders in
:mod:`connector.store.mirror`.
"""

from __future__ import annotations

from collections.abc import Collection
from collections.abc import Hashable
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from typing import Any

from connector.model import ChangeSet
from connector.model import DirectoryView
from connector.model import IdpGroup
from connector.model import IdpMember
from connector.model import IdpUser
from connector.model import MemberKind
from connector.rules.mirror_records import MirrorGroup
from connector.rules.mirror_records import MirrorMembers
from connector.rules.mirror_records import MirrorUser
from connector.rules.plan import Change

# ---------------------------------------------------------------------- records <-> rows


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def name_key(name: str) -> str:
    """The key a userName or group name is unique by within a directory: SCIM compares them
    without regard to case (RFC 7643 §4.1.1, ``caseExact`` false), so the case-folded name."""
    return name.casefold()


UserKey = tuple[Any, ...]
"""A user's mirrored fields in column order after the id, as compared and stored."""

USER_COLUMNS = (
    "user_name",
    "email",
    "active",
    "raw_status",
    "display_name",
    "given_name",
    "family_name",
    "other_emails",
    "is_guest",
    "updated_at",
    "external_id",
    "enterprise",
)


def user_key(user: IdpUser) -> UserKey:
    """The mirror's columns for a user (``updated_at`` as ISO text), as a tuple."""
    return (
        user.user_name,
        user.email,
        bool(user.active),
        user.raw_status,
        user.display_name,
        user.given_name,
        user.family_name,
        tuple(user.other_emails),
        bool(user.is_guest),
        _iso(user.updated_at),
        user.external_id,
        user.enterprise,
    )


def group_fields(group: IdpGroup) -> dict[str, Any]:
    return {
        "name": group.name,
        "description": group.description,
        "updated_at": _iso(group.updated_at),
        "external_id": group.external_id,
    }


GroupKey = tuple[str, str | None, str | None, str | None]
"""A group's mirrored fields: name, description, updated_at (ISO text), external id."""


def group_key(group: IdpGroup) -> GroupKey:
    return (group.name, group.description, _iso(group.updated_at), group.external_id)


MemberKey = tuple[str, str]  # (member_id, "user" | "group")
KINDS = {kind.value: kind for kind in MemberKind}
_KIND_VALUES = {id(kind): kind.value for kind in MemberKind}


def kind_value(kind: MemberKind | str) -> str:
    value = _KIND_VALUES.get(id(kind))  # by identity: hashing an enum member runs Python code
    return value if value is not None else MemberKind(kind).value


def member_keys(members: Iterable[IdpMember]) -> frozenset[MemberKey]:
    """The (member id, kind) pairs of a member list, as the mirror keeps them."""
    return frozenset([(m.member_id, kind_value(m.kind)) for m in members])


def digest(value: Hashable) -> int:
    """A 64-bit digest of a key made of strings, numbers, booleans, None and tuples of them.

    Python's own hash, computed in C: both sides of a comparison are hashed in
    this process (the index is never stored), and a changed record goes
    unnoticed only if its old and new keys collide (one chance in 2**64).
    """
    return hash(value)


def members_digest(keys: Iterable[MemberKey]) -> int:
    """One digest for a group's set of members, whatever their order."""
    return hash(keys if isinstance(keys, frozenset) else frozenset(keys))


@dataclass
class MirrorIndex:
    """The mirror as digests: enough to tell what a read changed, at a fraction of its size.

    A user's digest covers its mirrored fields (:func:`user_key`), a group's
    member digest its set of direct members; groups keep their few fields.
    A full read compares itself with this (:func:`mirror_changes`) without
    ever holding the old directory as objects.
    """

    directory_id: str
    users: dict[str, int] = field(default_factory=dict)
    groups: dict[str, GroupKey] = field(default_factory=dict)
    members: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of_view(cls, view: DirectoryView) -> MirrorIndex:
        """The index of the mirror that holds exactly ``view``."""
        return cls(
            view.directory_id,
            {uid: digest(user_key(u)) for uid, u in view.users.items()},
            {gid: group_key(g) for gid, g in view.groups.items()},
            {gid: members_digest(member_keys(ms)) for gid, ms in view.members.items() if ms},
        )


def user_of_key(idp_user_id: str, k: UserKey) -> IdpUser:
    """The user a mirror key describes (the inverse of :func:`user_key`)."""
    return IdpUser(
        idp_user_id, k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7], k[8], when(k[9]), k[10], k[11]
    )


def groups_after(groups: Mapping[str, IdpGroup], changes: ChangeSet) -> tuple[dict[str, IdpGroup], set[str]]:
    """The groups after ``changes``, and the ids of those gone (a group reported both changed and
    gone stays)."""
    after = dict(groups)
    removed = set(changes.removed_group_ids)
    for group in changes.groups:
        after[group.idp_group_id] = group
        removed.discard(group.idp_group_id)
    for group_id in removed:
        after.pop(group_id, None)
    return after, removed


def overlay(mirror: DirectoryView, changes: ChangeSet) -> DirectoryView:
    """The whole directory after ``changes``, as an incremental view (``full_read`` False).

    Removed users and groups leave every member list; a group named in
    ``groups_with_full_members`` gets exactly its ``members_added``; other
    groups lose ``members_removed`` and gain ``members_added``.
    """
    users = dict(mirror.users)
    members = {gid: dict.fromkeys(ms) for gid, ms in mirror.members.items()}
    removed_users = set(changes.removed_user_ids)
    for user in changes.users:
        users[user.idp_user_id] = user
        removed_users.discard(user.idp_user_id)
    for user_id in removed_users:
        users.pop(user_id, None)
    groups, removed_groups = groups_after(mirror.groups, changes)
    for group_id in removed_groups:
        members.pop(group_id, None)
    whole = set(changes.groups_with_full_members)
    for group_id in whole:
        members[group_id] = {}
    for member in changes.members_removed:
        if member.group_id not in whole:
            members.get(member.group_id, {}).pop(_normal(member), None)
    for member in changes.members_added:
        if member.group_id not in removed_groups:
            members.setdefault(member.group_id, {})[_normal(member)] = None
    gone = {(uid, MemberKind.USER) for uid in removed_users} | {
        (gid, MemberKind.GROUP) for gid in removed_groups
    }
    return DirectoryView(
        directory_id=mirror.directory_id,
        users=users,
        groups=groups,
        members={
            gid: tuple(m for m in ms if (m.member_id, MemberKind(m.kind)) not in gone)
            for gid, ms in members.items()
        },
        full_read=False,
        removed_user_ids=frozenset(removed_users),
    )


def _normal(member: IdpMember) -> IdpMember:
    return IdpMember(member.group_id, member.member_id, MemberKind(member.kind))


# ---------------------------------------------------------------------- the mirror's changes


def user_gone(directory_id: str, idp_user_id: str) -> MirrorUser:
    """Drop a user from the mirror."""
    return MirrorUser(
        reason="mirror: the user is gone from the IdP",
        directory_id=directory_id,
        idp_user_id=idp_user_id,
        removed=True,
    )


def group_written(directory_id: str, group: IdpGroup) -> MirrorGroup:
    """Record a group, new or changed, in the mirror."""
    return MirrorGroup(
        reason="mirror: a group new or changed",
        directory_id=directory_id,
        idp_group_id=group.idp_group_id,
        **group_fields(group),
    )


def group_gone(directory_id: str, idp_group_id: str) -> MirrorGroup:
    """Drop a group (and its member list) from the mirror."""
    return MirrorGroup(
        reason="mirror: the group is gone from the IdP",
        directory_id=directory_id,
        idp_group_id=idp_group_id,
        removed=True,
    )


def mirror_changes(
    old: MirrorIndex | DirectoryView, new: DirectoryView, keep_groups: Collection[str] = ()
) -> list[Change]:
    """What to write so that the mirror holding ``old`` holds ``new``; nothing when equal.

    Users the read returned malformed, the member lists of groups not known this run
    (``unreadable_user_ids``, ``unsettled_group_ids``), and the groups the missing rule keeps
    although the read missed them (``keep_groups``), keep what the mirror holds."""
    if isinstance(old, DirectoryView):
        old = MirrorIndex.of_view(old)
    d = new.directory_id
    out: list[Change] = []
    for uid, user in new.users.items():
        key = user_key(user)
        before = old.users.get(uid)
        if before != digest(key):
            reason = (
                "mirror: a user new in the read" if before is None else "mirror: the user changed in the IdP"
            )
            out.append(MirrorUser(reason, d, uid, False, *key))
    unreadable = new.unreadable_user_ids  # kept as last read, as are these groups:
    unsettled = new.unsettled_group_ids | frozenset(keep_groups)
    if not new.absence_uncertain:
        out += [user_gone(d, uid) for uid in old.users if uid not in new.users and uid not in unreadable]
    out += [
        group_written(d, group)
        for gid, group in new.groups.items()
        if old.groups.get(gid) != group_key(group)
    ]
    out += [group_gone(d, gid) for gid in old.groups if gid not in new.groups and gid not in unsettled]
    for gid in sorted(set(new.members) | set(old.members)):
        now = new.members.get(gid, ())
        if gid in unsettled or (gid not in new.groups and gid not in new.members):
            continue  # the group is gone: dropping it drops its member list
        if (members_digest(member_keys(now)) if now else None) != old.members.get(gid):
            out.append(
                MirrorMembers(
                    reason="mirror: the group's members changed",
                    directory_id=d,
                    group_id=gid,
                    user_ids=tuple(m.member_id for m in now if MemberKind(m.kind) is MemberKind.USER),
                    group_ids=tuple(m.member_id for m in now if MemberKind(m.kind) is MemberKind.GROUP),
                )
            )
    return out
