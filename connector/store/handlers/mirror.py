"""The handlers that write the mirror (:mod:`connector.rules.mirror`): its users, groups and members.

Mirror changes are bookkeeping: they ride in the plan's last transaction with
the cursor, are not audited when applied, and write only the rows that differ.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy import delete
from sqlalchemy import select

from connector.model import MemberKind
from connector.rules.mirror import MemberKey
from connector.rules.mirror import name_key
from connector.rules.mirror_records import MirrorGroup
from connector.rules.mirror_records import MirrorMemberRows
from connector.rules.mirror_records import MirrorMembers
from connector.rules.mirror_records import MirrorUser
from connector.rules.plan import Action
from connector.store import tables as t
from connector.store.address_keys import stored_keys
from connector.store.bulk import bulk_insert
from connector.store.handlers.registry import ApplyContext
from connector.store.handlers.registry import Result
from connector.store.handlers.registry import applied
from connector.store.handlers.registry import failed
from connector.store.handlers.registry import handles
from connector.store.scoped_reads import mirror_members_of_groups


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


def _fresh(ctx: ApplyContext, table: Any) -> set[str] | None:
    """The keys this transaction wrote to ``table`` when the directory had no rows there before
    (a first sync); None when it had some.  Looked up once per table and transaction."""
    memo: dict[str, set[str] | None] = ctx.memo.setdefault("mirror_fresh", {})
    if table.name not in memo:
        mine = ctx.ours(table)
        empty = ctx.conn.execute(select(table.c.directory_id).where(mine).limit(1)).first() is None
        memo[table.name] = set() if empty else None
    return memo[table.name]


def _insert(ctx: ApplyContext, table: Any, key: str, rows: list[Mapping[str, Any]]) -> None:
    """Insert mirror rows, noting their keys while the directory's rows there are all this transaction's."""
    if not rows:
        return
    fresh = _fresh(ctx, table)
    bulk_insert(ctx.conn, table, rows)
    if fresh is not None:
        fresh.update(row[key] for row in rows)


def _replace(ctx: ApplyContext, table: Any, key: str, ids: list[str], rows: list[Mapping[str, Any]]) -> None:
    """Delete the directory's rows of ``ids``, then insert ``rows``.

    Into a mirror that held nothing of the directory when this transaction began (a
    first sync), only the ids this transaction wrote itself can be there: the rest
    are not looked for, which spares a first sync one DELETE per 1,000 ids."""
    fresh = _fresh(ctx, table) if ids else None
    if fresh is not None:
        ids = [i for i in ids if i in fresh]
    for start in range(0, len(ids), DELETE_CHUNK):
        chunk = ids[start : start + DELETE_CHUNK]
        mine = ctx.ours(table)
        ctx.conn.execute(delete(table).where(mine, ctx.one_of(table.c[key], chunk)))
    _insert(ctx, table, key, rows)


@handles(Action.MIRROR_USER)
def mirror_users(ctx: ApplyContext, changes: Sequence[MirrorUser]) -> list[Result]:
    ok, results = _split(ctx, changes)
    latest = {c.idp_user_id: c for c in ok}
    rows = []
    for c in latest.values():
        if c.removed:
            continue
        match, loose = stored_keys(c.email)  # for linking by index (connector.store.address_keys)
        rows.append(
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
                "match_key": match,
                "loose_key": loose,
                "name_key": name_key(c.user_name),
                "external_id": c.external_id,
                "enterprise": c.enterprise,
            }
        )
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
            "name_key": name_key(c.name),
            "external_id": c.external_id,
        }
        for c in latest.values()
        if not c.removed
    ]
    _replace(ctx, t.idp_groups, "idp_group_id", list(latest), rows)
    gone = [c.idp_group_id for c in latest.values() if c.removed]
    _replace(ctx, t.idp_members, "group_id", gone, [])
    return results


def _stored_members(ctx: ApplyContext, group_ids: list[str]) -> dict[str, set[MemberKey]]:
    out: dict[str, set[MemberKey]] = {gid: set() for gid in group_ids}
    for group_id, member_id, kind in mirror_members_of_groups(ctx.conn, ctx.directory_id, group_ids):
        out[group_id].add((member_id, kind))
    return out


MEMBER_ROWS_PER_WRITE = 10_000
"""Member rows built before they are written: a first sync's 293k rows as dicts at once would
be the largest thing the run holds."""


@handles(Action.MIRROR_MEMBERS)
def mirror_members(ctx: ApplyContext, changes: Sequence[MirrorMembers]) -> list[Result]:
    """Make each group's stored member rows its listed ones, writing only the rows that differ."""
    ok, results = _split(ctx, changes)
    latest = {c.group_id: c for c in ok}
    stored = _stored_members(ctx, list(latest))
    gone: list[dict[str, str]] = []
    rows: list[dict[str, str]] = []
    for group_id, c in latest.items():
        wanted = {(member, MemberKind.USER.value) for member in c.user_ids}
        wanted |= {(member, MemberKind.GROUP.value) for member in c.group_ids}
        have = stored.pop(group_id)
        gone += [{"gid": group_id, "mid": mid, "kind": kind} for mid, kind in have - wanted]
        rows += [
            {"directory_id": ctx.directory_id, "group_id": group_id, "member_id": mid, "kind": kind}
            for mid, kind in wanted - have
        ]
        if len(gone) + len(rows) >= MEMBER_ROWS_PER_WRITE:
            _write_members(ctx, gone, rows)
            gone, rows = [], []
    _write_members(ctx, gone, rows)
    return results


@handles(Action.MIRROR_MEMBER_ROWS)
def mirror_member_rows(ctx: ApplyContext, changes: Sequence[MirrorMemberRows]) -> list[Result]:
    """Drop and add single member rows; a row added that is there already stays one row."""
    ok, results = _split(ctx, changes)
    user, group = MemberKind.USER.value, MemberKind.GROUP.value
    gone: list[dict[str, str]] = []
    rows: list[dict[str, str]] = []
    for c in ok:
        added = [(mid, user) for mid in c.added_users] + [(mid, group) for mid in c.added_groups]
        dropped = [(mid, user) for mid in c.removed_users] + [(mid, group) for mid in c.removed_groups]
        gone += [{"gid": c.group_id, "mid": mid, "kind": kind} for mid, kind in dropped + added]
        rows += [
            {"directory_id": ctx.directory_id, "group_id": c.group_id, "member_id": mid, "kind": kind}
            for mid, kind in dict.fromkeys(added)
        ]
    _write_members(ctx, gone, rows)
    return results


def _write_members(ctx: ApplyContext, gone: list[dict[str, str]], rows: list[dict[str, str]]) -> None:
    if gone:
        m = t.idp_members.c
        ctx.conn.execute(
            delete(t.idp_members).where(
                ctx.ours(t.idp_members),
                m.group_id == bindparam("gid"),
                m.member_id == bindparam("mid"),
                m.kind == bindparam("kind"),
            ),
            gone,
        )
    _insert(ctx, t.idp_members, "group_id", rows)
