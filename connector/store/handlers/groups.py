"""The handlers that write a plan's changes to groups, memberships and the
directory's bookkeeping; accounts and links are in :mod:`account_handlers`.

Every handler takes a batch of one action, reads what it needs in a few
``IN (...)`` selects, answers per change (applied, already so, failed and
why), and writes the rest with executemany statements.  Applying a change a
second time is a no-op, so a rerun after a crash is safe.  Besides the
plan's own checks, the rules that hold always (docs/contract.md) are held here
too: a sync never removes a ``local`` or another directory's membership,
and never changes the profile of an account outside the verified domains.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy import and_
from sqlalchemy import bindparam
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy import update

from connector.rules.plan import Action
from connector.rules.plan import AddMembership
from connector.rules.plan import AdoptGroup
from connector.rules.plan import CreateGroup
from connector.rules.plan import MarkGroupMissing
from connector.rules.plan import MarkMissing
from connector.rules.plan import RemoveMembership
from connector.rules.plan import SetCursor
from connector.rules.plan import UpdateGroup
from connector.store import tables as t
from connector.store.bulk import bulk_insert
from connector.store.handlers.registry import ApplyContext
from connector.store.handlers.registry import Result
from connector.store.handlers.registry import applied
from connector.store.handlers.registry import failed
from connector.store.handlers.registry import handles
from connector.store.handlers.registry import noop

GROUP_OWNER = ("directory_id", "idp_group_id")


def rows_by(
    ctx: ApplyContext, table: Table, key: str, ids: Iterable[str], columns: Sequence[str] = ()
) -> dict[str, Any]:
    """Rows of ``table`` whose ``key`` is one of ``ids``, by key: ``columns`` only (key first), or all."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return {}
    column = table.c[key]
    if columns:
        query = select(column, *(table.c[name] for name in columns if name != key))
        at = 0
    else:
        query = select(table)
        at = list(table.c.keys()).index(key)
    return {
        r[at]: r for r in ctx.conn.execute(query.where(ctx.mine(table), ctx.one_of(column, wanted))).all()
    }


def ids_in(ctx: ApplyContext, table: Table, key: str, ids: Iterable[str]) -> set[str]:
    """Which of ``ids`` are a ``key`` of ``table``."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return set()
    column = table.c[key]
    query = select(column).where(ctx.mine(table), ctx.one_of(column, wanted))
    return set(ctx.conn.execute(query).scalars().all())


def links_by_identity(ctx: ApplyContext, idp_user_ids: Iterable[str]) -> dict[str, str]:
    c = t.links.c
    ids = list(dict.fromkeys(idp_user_ids))
    query = select(c.idp_user_id, c.account_id).where(ctx.ours(t.links), ctx.one_of(c.idp_user_id, ids))
    return dict(ctx.conn.execute(query).all()) if ids else {}


def links_by_account(ctx: ApplyContext, account_ids: Iterable[str]) -> dict[str, str]:
    c = t.links.c
    ids = list(dict.fromkeys(account_ids))
    query = select(c.account_id, c.idp_user_id).where(ctx.ours(t.links), ctx.one_of(c.account_id, ids))
    return dict(ctx.conn.execute(query).all()) if ids else {}


# ---------------------------------------------------------------------- groups


@handles(Action.CREATE_GROUP)
def create_groups(ctx: ApplyContext, changes: Sequence[CreateGroup]) -> list[Result]:
    existing = rows_by(ctx, t.groups, "group_id", (c.group_id for c in changes), GROUP_OWNER)
    g = t.groups.c
    wanted = [c.idp_group_id for c in changes]
    managed = dict(
        ctx.conn.execute(
            select(g.idp_group_id, g.group_id).where(ctx.ours(t.groups), ctx.one_of(g.idp_group_id, wanted))
        ).all()
    )
    rows, results = [], []
    made: set[str] = set()
    for c in changes:
        have = existing.get(c.group_id)
        if error := ctx.foreign(c):
            results.append(failed(error))
        elif have is not None or c.group_id in made:
            same = have is not None and (have.directory_id, have.idp_group_id) == (
                c.directory_id,
                c.idp_group_id,
            )
            results.append(noop() if same else failed(f"group id {c.group_id} is taken by another group"))
        elif c.idp_group_id in managed:
            results.append(
                failed(f"IdP group {c.idp_group_id} is already managed by group {managed[c.idp_group_id]}")
            )
        elif not c.name:
            results.append(failed("a group needs a name"))
        else:
            managed[c.idp_group_id] = c.group_id
            made.add(c.group_id)
            rows.append(
                {
                    "group_id": c.group_id,
                    "name": c.name,
                    "directory_id": c.directory_id,
                    "idp_group_id": c.idp_group_id,
                    "description": c.description,
                    "adopted": False,
                    "created_at": ctx.now,
                }
            )
            results.append(applied())
    bulk_insert(ctx.conn, t.groups, rows)
    return results


@handles(Action.ADOPT_GROUP)
def adopt_groups(ctx: ApplyContext, changes: Sequence[AdoptGroup]) -> list[Result]:
    existing = rows_by(ctx, t.groups, "group_id", (c.group_id for c in changes), GROUP_OWNER)
    rows, results = [], []
    for c in changes:
        have = existing.get(c.group_id)
        if error := ctx.foreign(c):
            results.append(failed(error))
        elif have is None:
            results.append(failed(f"no group {c.group_id} to adopt"))
        elif (have.directory_id, have.idp_group_id) == (c.directory_id, c.idp_group_id):
            results.append(noop())
        elif have.directory_id is not None:
            results.append(
                failed(f"group {c.group_id} is already managed by directory {have.directory_id!r}")
            )
        else:
            rows.append({"gid": c.group_id, "directory_id": c.directory_id, "idp_group_id": c.idp_group_id})
            results.append(applied())
    if rows:
        ctx.conn.execute(
            update(t.groups)
            .where(ctx.mine(t.groups), t.groups.c.group_id == bindparam("gid"))
            .values(adopted=True),
            rows,
        )
    return results


@handles(Action.UPDATE_GROUP)
def update_groups(ctx: ApplyContext, changes: Sequence[UpdateGroup]) -> list[Result]:
    wanted = ("directory_id", "name", "description")
    existing = rows_by(ctx, t.groups, "group_id", (c.group_id for c in changes), wanted)
    rows, results = [], []
    for c in changes:
        have = existing.get(c.group_id)
        if have is None:
            results.append(failed(f"no group {c.group_id}"))
        elif have.directory_id != ctx.directory_id:
            results.append(failed(f"group {c.group_id} is not managed by directory {ctx.directory_id!r}"))
        elif (have.name, have.description) == (c.name, c.description):
            results.append(noop())
        elif not c.name:
            results.append(failed("a group needs a name"))
        else:
            rows.append({"gid": c.group_id, "name": c.name, "description": c.description})
            results.append(applied())
    if rows:
        ctx.conn.execute(
            update(t.groups).where(ctx.mine(t.groups), t.groups.c.group_id == bindparam("gid")), rows
        )
    return results


# ---------------------------------------------------------------------- memberships


def _present(ctx: ApplyContext, changes: Sequence[AddMembership | RemoveMembership]) -> set[tuple[str, str]]:
    """Which of the changes' (group, account) pairs this directory has given already."""
    m = t.memberships.c
    pairs = {(c.group_id, c.account_id) for c in changes}
    accounts = list({account for _, account in pairs})
    if not accounts:
        return set()
    # By account only: SQLite, without statistics, would otherwise walk ix_memberships_source, i.e.
    # every membership of the directory, once per batch (quadratic in a first sync).
    query = select(m.group_id, m.account_id, m.source).where(
        ctx.mine(t.memberships), ctx.one_of(m.account_id, accounts)
    )
    source = ctx.directory_id
    return {(g, a) for g, a, s in ctx.conn.execute(query).all() if s == source and (g, a) in pairs}


def _source_error(ctx: ApplyContext, source: str) -> str | None:
    if source != ctx.directory_id:
        return f"a sync of {ctx.directory_id!r} only touches memberships it gave, not source {source!r}"
    return None


@handles(Action.ADD_MEMBERSHIP)
def add_memberships(ctx: ApplyContext, changes: Sequence[AddMembership]) -> list[Result]:
    # Accounts this apply created exist and hold no membership of this directory but the ones
    # added here, so they are not looked up; when the database refuses the batch all the same (a
    # membership listed twice), the retry, one change at a time, checks each in full.
    created = set() if ctx.one_by_one else ctx.created_accounts
    fresh = {c.account_id for c in changes if c.account_id in created}
    known = [c for c in changes if c.account_id not in fresh]
    present = _present(ctx, known)
    groups = ids_in(ctx, t.groups, "group_id", (c.group_id for c in changes))
    accounts = ids_in(ctx, t.accounts, "account_id", (c.account_id for c in known)) | fresh
    rows, results = [], []
    for c in changes:
        if error := _source_error(ctx, c.source):
            results.append(failed(error))
        elif (c.group_id, c.account_id) in present:
            results.append(noop())
        elif c.group_id not in groups:
            results.append(failed(f"no group {c.group_id}"))
        elif c.account_id not in accounts:
            results.append(failed(f"no account {c.account_id}"))
        else:
            present.add((c.group_id, c.account_id))
            rows.append(
                {"group_id": c.group_id, "account_id": c.account_id, "source": c.source, "added_at": ctx.now}
            )
            results.append(applied())
    bulk_insert(ctx.conn, t.memberships, rows)
    return results


@handles(Action.REMOVE_MEMBERSHIP)
def remove_memberships(ctx: ApplyContext, changes: Sequence[RemoveMembership]) -> list[Result]:
    """Remove memberships this directory gave; ``local`` and other sources are never touched."""
    present = _present(ctx, changes)
    rows, results = [], []
    for c in changes:
        if error := _source_error(ctx, c.source):
            results.append(failed(error))
        elif (c.group_id, c.account_id) not in present:
            results.append(noop())
        else:
            present.discard((c.group_id, c.account_id))
            rows.append({"gid": c.group_id, "aid": c.account_id})
            results.append(applied())
    if rows:
        m = t.memberships.c
        ctx.conn.execute(
            delete(t.memberships).where(
                and_(
                    ctx.mine(t.memberships),
                    m.group_id == bindparam("gid"),
                    m.account_id == bindparam("aid"),
                    m.source == ctx.directory_id,
                )
            ),
            rows,
        )
    return results


# ---------------------------------------------------------------------- bookkeeping


@handles(Action.MARK_GROUP_MISSING)
def mark_group_missing(ctx: ApplyContext, changes: Sequence[MarkGroupMissing]) -> list[Result]:
    g = t.groups.c
    results = []
    for c in changes:
        if error := ctx.foreign(c):
            results.append(failed(error))
            continue
        done = ctx.conn.execute(
            update(t.groups)
            .where(ctx.ours(t.groups), g.group_id == c.group_id)
            .values(missing_count=c.missing_count)
        )
        results.append(applied() if done.rowcount else failed(f"group {c.group_id} is not this directory's"))
    return results


@handles(Action.MARK_MISSING)
def mark_missing(ctx: ApplyContext, changes: Sequence[MarkMissing]) -> list[Result]:
    lk = t.links.c
    ids = [c.idp_user_id for c in changes]
    have = {
        r[0]: (r[1], bool(r[2]))
        for r in ctx.conn.execute(
            select(lk.idp_user_id, lk.missing_count, lk.idp_active).where(
                ctx.ours(t.links), ctx.one_of(lk.idp_user_id, ids)
            )
        )
    }
    rows, results = [], []
    for c in changes:
        if error := ctx.foreign(c):
            results.append(failed(error))
        elif c.idp_user_id not in have:
            results.append(failed(f"identity {c.idp_user_id} is not linked"))
        elif have[c.idp_user_id] == (c.missing_count, c.idp_active):
            results.append(noop())
        else:
            have[c.idp_user_id] = (c.missing_count, c.idp_active)
            rows.append({"uid": c.idp_user_id, "missing_count": c.missing_count, "idp_active": c.idp_active})
            results.append(applied())
    if rows:
        ctx.conn.execute(
            update(t.links).where(ctx.ours(t.links), lk.idp_user_id == bindparam("uid")),
            rows,
        )
    return results


@handles(Action.SET_CURSOR)
def set_cursor(ctx: ApplyContext, changes: Sequence[SetCursor]) -> list[Result]:
    """Store the cursor (and, after a full read, its time and user count) with the changes it covers."""
    results = []
    for c in changes:
        if error := ctx.foreign(c):
            results.append(failed(error))
            continue
        values: dict[str, Any] = {"cursor": c.cursor, "synced_before": True}
        if c.full_read:
            values["last_full_read_at"] = ctx.now
            if c.user_count is not None:
                values["last_good_user_count"] = c.user_count
        done = ctx.conn.execute(update(t.directories).where(ctx.ours(t.directories)).values(**values))
        results.append(applied() if done.rowcount == 1 else failed(f"no directory {ctx.directory_id!r}"))
    return results
