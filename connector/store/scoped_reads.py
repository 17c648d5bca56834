"""Reads of a few rows by id, for a run that plans only what changed (:mod:`connector.store.scope`).

Each function reads only the rows of the ids it is given (in slices, so a
long list never exceeds a database's bound-parameter limit), the same columns
:mod:`connector.store.snapshot` and :mod:`connector.rules.mirror` read for a whole
directory.
"""

from __future__ import annotations

from collections.abc import Collection
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection
from sqlalchemy import Select
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.sql import ColumnElement

from connector.model import LOCAL_SOURCE
from connector.model import Account
from connector.model import AccountStatus
from connector.model import GroupMembership
from connector.model import Link
from connector.model import MemberKind
from connector.store import tables as t
from connector.store.bulk import rows_by_ids
from connector.store.snapshot import ACCOUNT_COLUMNS
from connector.store.snapshot import LINK_COLUMNS
from connector.store.snapshot import account_of
from connector.store.snapshot import links_of_rows
from connector.store.tenancy import in_directory
from connector.store.tenancy import in_org

# ---------------------------------------------------------------------- the mirror


def mirror_user_count(conn: Connection, directory_id: str) -> int:
    return conn.execute(
        select(func.count()).where(in_directory(conn, t.idp_users, directory_id))
    ).scalar_one()


def mirror_group_edges(conn: Connection, directory_id: str) -> list[tuple[str, str]]:
    """Every (parent, child) pair of nested groups in the mirror."""
    m = t.idp_members.c
    query = select(m.group_id, m.member_id).where(
        in_directory(conn, t.idp_members, directory_id), m.kind == MemberKind.GROUP.value
    )
    return [(r[0], r[1]) for r in conn.execute(query)]


def mirror_members_of_groups(
    conn: Connection, directory_id: str, group_ids: Collection[str], *, users_only: bool = False
) -> Iterator[tuple[str, str, str]]:
    """(group, member, kind) of every mirrored member of these groups."""
    m = t.idp_members.c

    def query(cond: ColumnElement[bool]) -> Select[Any]:
        q = select(m.group_id, m.member_id, m.kind).where(
            in_directory(conn, t.idp_members, directory_id), cond
        )
        return q.where(m.kind == MemberKind.USER.value) if users_only else q

    for r in rows_by_ids(conn, m.group_id, group_ids, query):
        yield r[0], r[1], r[2]


def mirror_rows_of_members(
    conn: Connection, directory_id: str, member_ids: Collection[str]
) -> Iterator[tuple[str, str, str]]:
    """(group, member, kind) of every mirrored membership of these members (users or groups)."""
    m = t.idp_members.c
    for r in rows_by_ids(
        conn,
        m.member_id,
        member_ids,
        lambda cond: select(m.group_id, m.member_id, m.kind).where(
            in_directory(conn, t.idp_members, directory_id), cond
        ),
    ):
        yield r[0], r[1], r[2]


# ---------------------------------------------------------------------- the product's rows


def links_of_identities(
    conn: Connection, directory_id: str, ids: Collection[str]
) -> dict[tuple[str, str], Link]:
    """The directory's links of these identities."""
    query = select(*LINK_COLUMNS).where(in_directory(conn, t.links, directory_id))
    return links_of_rows(rows_by_ids(conn, t.links.c.idp_user_id, ids, lambda cond: query.where(cond)))


def links_absent_from_mirror(conn: Connection, directory_id: str, missing_threshold: int) -> list[str]:
    """The identities a full read must count absent again: linked here, not in the mirror (so not
    in the last read either), and not yet done with (missing fewer than ``missing_threshold`` times,
    or their account still active); and any link still counting absence of an identity the
    mirror holds."""
    link, user, account = t.links.c, t.idp_users.c, t.accounts.c
    mirrored = (
        select(user.idp_user_id)
        .where(
            user.org_id == link.org_id,
            user.directory_id == link.directory_id,
            user.idp_user_id == link.idp_user_id,
        )
        .exists()
    )
    query = (
        select(link.idp_user_id)
        .join_from(
            t.links, t.accounts, (account.org_id == link.org_id) & (account.account_id == link.account_id)
        )
        .where(
            in_directory(conn, t.links, directory_id),
            ((link.missing_count > 0) & mirrored)
            | (
                ~mirrored
                & ((link.missing_count < missing_threshold) | (account.status == AccountStatus.ACTIVE.value))
            ),
        )
    )
    return [r[0] for r in conn.execute(query)]


def links_of_accounts(conn: Connection, account_ids: Collection[str]) -> dict[tuple[str, str], Link]:
    """Every link (any directory) to these accounts."""
    query = select(*LINK_COLUMNS).where(in_org(conn, t.links))
    return links_of_rows(rows_by_ids(conn, t.links.c.account_id, account_ids, lambda cond: query.where(cond)))


def accounts_by_id(conn: Connection, account_ids: Collection[str]) -> dict[str, Account]:
    query = select(*ACCOUNT_COLUMNS).where(in_org(conn, t.accounts))
    rows = rows_by_ids(conn, t.accounts.c.account_id, account_ids, lambda cond: query.where(cond))
    return {r[0]: account_of(r) for r in rows}


def memberships_of(conn: Connection, account_ids: Collection[str]) -> list[GroupMembership]:
    """Every membership (any source) of these accounts."""
    m = t.memberships.c
    rows = rows_by_ids(
        conn,
        m.account_id,
        account_ids,
        lambda cond: select(m.group_id, m.account_id, m.source).where(in_org(conn, t.memberships), cond),
    )
    return [GroupMembership(r[0], r[1], r[2]) for r in rows]


def memberships_of_accounts(
    conn: Connection, directory_id: str, account_ids: Collection[str], managed: Collection[str]
) -> list[GroupMembership]:
    """The memberships of these accounts that the directory's snapshot would hold
    (``snapshot.load_memberships``): its own, the local ones, and any in a group it manages.

    ``managed``: the ids of the groups the directory manages.  Read by account and
    filtered here: a condition on the source or the group makes SQLite leave the
    account index for a scan.
    """
    return [
        m
        for m in memberships_of(conn, account_ids)
        if m.source == directory_id or m.source == LOCAL_SOURCE or m.group_id in managed
    ]


def group_sizes(
    conn: Connection, directory_id: str, group_ids: Collection[str], managed: Collection[str]
) -> dict[str, int]:
    """Distinct accounts per group among the memberships the directory's snapshot would hold:
    every source in a group it manages, its own and local ones elsewhere."""
    m = t.memberships.c
    sizes = {group_id: 0 for group_id in group_ids}
    counted = select(m.group_id, func.count(m.account_id.distinct())).where(in_org(conn, t.memberships))
    ours = [g for g in group_ids if g in managed]
    others = [g for g in group_ids if g not in managed]
    for ids, query in (
        (ours, lambda cond: counted.where(cond).group_by(m.group_id)),
        (
            others,
            lambda cond: counted.where(cond, m.source.in_([directory_id, LOCAL_SOURCE])).group_by(m.group_id),
        ),
    ):
        for r in rows_by_ids(conn, m.group_id, ids, query):
            sizes[r[0]] = r[1]
    return sizes


def links_count(conn: Connection, directory_id: str) -> int:
    return conn.execute(select(func.count()).where(in_directory(conn, t.links, directory_id))).scalar_one()
