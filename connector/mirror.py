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
directories whose provider supports ``changes()`` keep one.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy import delete
from sqlalchemy import insert
from sqlalchemy import select

from connector.apply import ApplyContext
from connector.apply import Result
from connector.apply import applied
from connector.apply import failed
from connector.apply import handles
from connector.model import ChangeSet
from connector.model import DirectoryView
from connector.model import IdpGroup
from connector.model import IdpMember
from connector.model import IdpUser
from connector.model import MemberKind
from connector.plan import Action
from connector.plan import Change
from connector.plan import MirrorGroup
from connector.plan import MirrorMembers
from connector.plan import MirrorUser
from connector.store import tables as t

# ---------------------------------------------------------------------- records <-> rows


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def user_fields(user: IdpUser) -> dict[str, Any]:
    """The mirror's columns for a user (``updated_at`` as ISO text)."""
    return {
        "user_name": user.user_name,
        "email": user.email,
        "active": user.active,
        "raw_status": user.raw_status,
        "display_name": user.display_name,
        "given_name": user.given_name,
        "family_name": user.family_name,
        "other_emails": tuple(user.other_emails),
        "is_guest": user.is_guest,
        "updated_at": _iso(user.updated_at),
    }


def group_fields(group: IdpGroup) -> dict[str, Any]:
    return {"name": group.name, "description": group.description, "updated_at": _iso(group.updated_at)}


def _member_key(members: Iterable[IdpMember]) -> frozenset[tuple[str, str]]:
    return frozenset((m.member_id, MemberKind(m.kind).value) for m in members)


# ---------------------------------------------------------------------- reading the mirror


def load_mirror(conn: Connection, directory_id: str) -> DirectoryView:
    """The directory as last read (an empty view when it was never mirrored)."""
    u, g, m = t.idp_users.c, t.idp_groups.c, t.idp_members.c
    users = {
        r.idp_user_id: IdpUser(
            idp_user_id=r.idp_user_id,
            user_name=r.user_name,
            email=r.email,
            active=bool(r.active),
            raw_status=r.raw_status,
            display_name=r.display_name,
            given_name=r.given_name,
            family_name=r.family_name,
            other_emails=tuple(r.other_emails or ()),
            is_guest=bool(r.is_guest),
            updated_at=_when(r.updated_at),
        )
        for r in conn.execute(select(t.idp_users).where(u.directory_id == directory_id)).all()
    }
    groups = {
        r.idp_group_id: IdpGroup(r.idp_group_id, r.name, r.description, _when(r.updated_at))
        for r in conn.execute(select(t.idp_groups).where(g.directory_id == directory_id)).all()
    }
    members: dict[str, list[IdpMember]] = {}
    query = select(m.group_id, m.member_id, m.kind).where(m.directory_id == directory_id)
    for group_id, member_id, kind in conn.execute(
        query.order_by(m.group_id, m.kind.desc(), m.member_id)
    ).all():
        members.setdefault(group_id, []).append(IdpMember(group_id, member_id, MemberKind(kind)))
    return DirectoryView(
        directory_id=directory_id,
        users=users,
        groups=groups,
        members={k: tuple(v) for k, v in members.items()},
        full_read=True,
    )


def overlay(mirror: DirectoryView, changes: ChangeSet) -> DirectoryView:
    """The whole directory after ``changes``, as an incremental view (``full_read`` False).

    Removed users and groups leave every member list; a group named in
    ``groups_with_full_members`` gets exactly its ``members_added``; other
    groups lose ``members_removed`` and gain ``members_added``.
    """
    users = dict(mirror.users)
    groups = dict(mirror.groups)
    members = {gid: dict.fromkeys(ms) for gid, ms in mirror.members.items()}
    removed_users = set(changes.removed_user_ids)
    removed_groups = set(changes.removed_group_ids)
    for user in changes.users:
        users[user.idp_user_id] = user
        removed_users.discard(user.idp_user_id)
    for user_id in removed_users:
        users.pop(user_id, None)
    for group in changes.groups:
        groups[group.idp_group_id] = group
        removed_groups.discard(group.idp_group_id)
    for group_id in removed_groups:
        groups.pop(group_id, None)
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


def mirror_changes(old: DirectoryView, new: DirectoryView) -> list[Change]:
    """What to write so that the mirror holding ``old`` holds ``new``; nothing when equal."""
    d = new.directory_id
    out: list[Change] = []
    for uid, user in new.users.items():
        fields = user_fields(user)
        before = old.users.get(uid)
        if before is None or user_fields(before) != fields:
            reason = (
                "mirror: a user new in the read" if before is None else "mirror: the user changed in the IdP"
            )
            out.append(MirrorUser(reason=reason, directory_id=d, idp_user_id=uid, **fields))
    out += [
        MirrorUser(
            reason="mirror: the user is gone from the IdP", directory_id=d, idp_user_id=uid, removed=True
        )
        for uid in old.users
        if uid not in new.users
    ]
    for gid, group in new.groups.items():
        before_group = old.groups.get(gid)
        if before_group is None or group_fields(before_group) != group_fields(group):
            out.append(
                MirrorGroup(
                    reason="mirror: a group new or changed",
                    directory_id=d,
                    idp_group_id=gid,
                    **group_fields(group),
                )
            )
    out += [
        MirrorGroup(
            reason="mirror: the group is gone from the IdP", directory_id=d, idp_group_id=gid, removed=True
        )
        for gid in old.groups
        if gid not in new.groups
    ]
    for gid in sorted(set(new.members) | set(old.members)):
        now = new.members.get(gid, ())
        if gid not in new.groups and gid not in new.members:
            continue  # the group is gone: dropping it drops its member list
        if _member_key(now) != _member_key(old.members.get(gid, ())):
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


# ---------------------------------------------------------------------- the handlers


def _split(ctx: ApplyContext, changes: Sequence[Any]) -> tuple[list[Any], list[Result]]:
    ok, results = [], []
    for c in changes:
        error = ctx.foreign(c)
        results.append(failed(error) if error else applied())
        if not error:
            ok.append(c)
    return ok, results


DELETE_CHUNK = 1000
"""Ids per DELETE: one bound parameter each, and PostgreSQL takes at most 65,535 per statement
(SQLite 250,000 in its builds); a bigger statement fails, and apply then retries row by row."""


def _replace(ctx: ApplyContext, table: Any, key: str, ids: list[str], rows: list[Mapping[str, Any]]) -> None:
    for start in range(0, len(ids), DELETE_CHUNK):
        chunk = ids[start : start + DELETE_CHUNK]
        mine = table.c.directory_id == ctx.directory_id
        ctx.conn.execute(delete(table).where(mine, table.c[key].in_(chunk)))
    if rows:
        ctx.conn.execute(insert(table), rows)


@handles(Action.MIRROR_USER)
def mirror_users(ctx: ApplyContext, changes: Sequence[MirrorUser]) -> list[Result]:
    ok, results = _split(ctx, changes)
    latest = {c.idp_user_id: c for c in ok}
    rows = [
        {
            "directory_id": ctx.directory_id,
            "idp_user_id": c.idp_user_id,
            "user_name": c.user_name,
            "email": c.email,
            "active": c.active,
            "raw_status": c.raw_status,
            "display_name": c.display_name,
            "given_name": c.given_name,
            "family_name": c.family_name,
            "other_emails": list(c.other_emails),
            "is_guest": c.is_guest,
            "updated_at": c.updated_at,
        }
        for c in latest.values()
        if not c.removed
    ]
    _replace(ctx, t.idp_users, "idp_user_id", list(latest), rows)
    return results


@handles(Action.MIRROR_GROUP)
def mirror_groups(ctx: ApplyContext, changes: Sequence[MirrorGroup]) -> list[Result]:
    ok, results = _split(ctx, changes)
    latest = {c.idp_group_id: c for c in ok}
    rows = [
        {
            "directory_id": ctx.directory_id,
            "idp_group_id": c.idp_group_id,
            "name": c.name,
            "description": c.description,
            "updated_at": c.updated_at,
        }
        for c in latest.values()
        if not c.removed
    ]
    _replace(ctx, t.idp_groups, "idp_group_id", list(latest), rows)
    gone = [c.idp_group_id for c in latest.values() if c.removed]
    _replace(ctx, t.idp_members, "group_id", gone, [])
    return results


@handles(Action.MIRROR_MEMBERS)
def mirror_members(ctx: ApplyContext, changes: Sequence[MirrorMembers]) -> list[Result]:
    ok, results = _split(ctx, changes)
    latest = {c.group_id: c for c in ok}
    rows = [
        {"directory_id": ctx.directory_id, "group_id": c.group_id, "member_id": member, "kind": kind.value}
        for c in latest.values()
        for kind, ids in ((MemberKind.USER, c.user_ids), (MemberKind.GROUP, c.group_ids))
        for member in dict.fromkeys(ids)
    ]
    _replace(ctx, t.idp_members, "group_id", list(latest), rows)
    return results
