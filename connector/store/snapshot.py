"""Loading the planner's :class:`StoreSnapshot` with plain column selects, and
fingerprinting it.

The snapshot holds every account and every group of the organization
(linking looks across the whole organization), every link (an account may
be linked from several directories), and the memberships the directory's
plan can touch or must respect: those it gave, the local ones, and any in a
group it manages.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection
from sqlalchemy import Row
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.sql import Executable

from connector.model import LOCAL_SOURCE
from connector.model import Account
from connector.model import AccountOrigin
from connector.model import AccountStatus
from connector.model import DirectoryState
from connector.model import Group
from connector.model import GroupMembership
from connector.model import Link
from connector.model import StoreSnapshot
from connector.store import tables as t
from connector.store.bulk import rows_by_ids
from connector.store.tenancy import org_of

STREAM_ROWS = 5000


def stream(conn: Connection, query: Executable) -> Iterator[Row[Any]]:
    """The query's rows, fetched a few thousand at a time rather than all at once.

    A whole ``.all()`` of 266k memberships is a transient list of Row objects
    as big as what is built from it; the process keeps that peak.
    """
    for part in conn.execute(query).partitions(STREAM_ROWS):
        yield from part


def load_directory(conn: Connection, directory_id: str) -> DirectoryState | None:
    d = t.directories.c
    row = conn.execute(
        select(t.directories).where(d.org_id == org_of(conn), d.directory_id == directory_id)
    ).first()
    if row is None:
        return None
    return DirectoryState(
        directory_id=row.directory_id,
        cursor=row.cursor,
        last_full_read_at=row.last_full_read_at,
        last_good_user_count=row.last_good_user_count,
        synced_before=bool(row.synced_before),
        planned_revision=row.planned_revision,
        planned_settings=row.planned_settings,
        planned_billing=json.loads(row.planned_billing) if row.planned_billing else None,
    )


_a = t.accounts.c
ACCOUNT_COLUMNS = (
    _a.account_id,
    _a.email,
    _a.display_name,
    _a.status,
    _a.origin,
    _a.given_name,
    _a.family_name,
)
_STATUSES = {s.value: s for s in AccountStatus}
_ORIGINS = {o.value: o for o in AccountOrigin}


def account_of(r: Row[Any]) -> Account:
    """The account a row of :data:`ACCOUNT_COLUMNS` holds."""
    return Account(r[0], r[1], r[2], _STATUSES[r[3]], _ORIGINS[r[4]], r[5], r[6])


def iter_accounts(conn: Connection, *, active_only: bool = False) -> Iterator[Account]:
    """Every account (or only the active ones), streamed."""
    query = select(*ACCOUNT_COLUMNS).where(_a.org_id == org_of(conn))
    if active_only:
        query = query.where(_a.status == AccountStatus.ACTIVE.value)
    return (account_of(r) for r in stream(conn, query))


def load_accounts(conn: Connection, *, active_only: bool = False) -> dict[str, Account]:
    """Every account (or only the active ones), by id."""
    return {a.account_id: a for a in iter_accounts(conn, active_only=active_only)}


Strings = dict[str, str]
"""Strings already loaded, by value: a row's id that is one of them reuses that object.

The database hands back a new string for every value; 100k accounts' ids
recur in links and in every membership, so sharing them saves tens of MB."""


def _shared(known: Strings | None) -> Callable[[str], str]:
    if known is None:
        return lambda value: value
    return lambda value: known.setdefault(value, value)


_k = t.links.c
LINK_COLUMNS = (_k.directory_id, _k.idp_user_id, _k.account_id, _k.missing_count, _k.idp_active)


def links_of_rows(rows: Iterable[Row[Any]], known: Strings | None = None) -> dict[tuple[str, str], Link]:
    """The links rows of :data:`LINK_COLUMNS` hold, by (directory, identity)."""
    share = _shared(known)
    links = {}
    for r in rows:
        dir_id = share(r[0])
        links[(dir_id, r[1])] = Link(dir_id, r[1], share(r[2]), r[3], bool(r[4]))
    return links


def load_links(
    conn: Connection, directory_id: str | None = None, known: Strings | None = None
) -> dict[tuple[str, str], Link]:
    query = select(*LINK_COLUMNS).where(_k.org_id == org_of(conn))
    if directory_id is not None:
        query = query.where(_k.directory_id == directory_id)
    return links_of_rows(stream(conn, query), known)


def load_groups(conn: Connection) -> dict[str, Group]:
    g = t.groups.c
    rows = conn.execute(
        select(
            g.group_id, g.name, g.directory_id, g.idp_group_id, g.description, g.adopted, g.missing_count
        ).where(g.org_id == org_of(conn))
    ).all()
    return {r[0]: Group(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6] or 0) for r in rows}


def load_memberships(
    conn: Connection, directory_id: str | None = None, known: Strings | None = None
) -> frozenset[GroupMembership]:
    m = t.memberships.c
    org = org_of(conn)
    query = select(m.group_id, m.account_id, m.source).where(m.org_id == org)
    if directory_id is not None:
        g = t.groups.c
        managed = select(g.group_id).where(g.org_id == org, g.directory_id == directory_id)
        query = query.where(or_(m.source == directory_id, m.source == LOCAL_SOURCE, m.group_id.in_(managed)))
    share = _shared(known)
    return frozenset(GroupMembership(share(r[0]), share(r[1]), share(r[2])) for r in stream(conn, query))


def load_memberships_of_groups(conn: Connection, group_ids: Iterable[str]) -> list[GroupMembership]:
    """Every membership (any source) of the given groups."""
    m = t.memberships.c
    query = select(m.group_id, m.account_id, m.source).where(m.org_id == org_of(conn))
    rows = rows_by_ids(conn, m.group_id, set(group_ids), lambda cond: query.where(cond))
    return [GroupMembership(r[0], r[1], r[2]) for r in rows]


def load_snapshot(conn: Connection, directory_id: str) -> StoreSnapshot:
    """The store as the planner of ``directory_id`` sees it (read in one transaction)."""
    accounts = load_accounts(conn)
    groups = load_groups(conn)
    known: Strings = {key: key for key in accounts}
    known.update((key, key) for key in groups)
    return StoreSnapshot(
        accounts=accounts,
        links=load_links(conn, known=known),
        groups=groups,
        memberships=load_memberships(conn, directory_id, known=known),
        directory=load_directory(conn, directory_id),
        held_apart=load_held_apart(conn, directory_id),
    )


def load_held_apart(conn: Connection, directory_id: str) -> frozenset[tuple[str, str]]:
    """The (identity, account) pairs of the directory unlinked by hand (a few rows at most)."""
    h = t.hand_unlinks.c
    query = select(h.idp_user_id, h.account_id).where(
        h.org_id == org_of(conn), h.directory_id == directory_id
    )
    return frozenset((r[0], r[1]) for r in conn.execute(query))


def fingerprint_of(snapshot: StoreSnapshot, verified_domains: Iterable[str] = ()) -> str:
    """A digest of everything the planner reads from the store.

    Equal snapshots give equal digests whatever the row order; any change to
    an account, link, group, membership, the directory's cursor and counts,
    or the verified domains gives another.  The cursor stands for the mirror
    (:mod:`connector.rules.mirror`), which only ever changes with it.
    """
    digest = hashlib.sha256()

    def feed(label: str, rows: Iterable[tuple[object, ...]]) -> None:
        digest.update(label.encode())
        digest.update("\n".join(sorted(map(repr, rows))).encode())

    feed(
        "accounts",
        (
            (
                a.account_id,
                a.email,
                a.display_name,
                a.status.value,
                a.origin.value,
                a.given_name,
                a.family_name,
            )
            for a in snapshot.accounts.values()
        ),
    )
    feed(
        "links",
        (
            (k.directory_id, k.idp_user_id, k.account_id, k.missing_count, k.idp_active)
            for k in snapshot.links.values()
        ),
    )
    feed(
        "groups",
        (
            (g.group_id, g.name, g.directory_id, g.idp_group_id, g.description, g.adopted)
            for g in snapshot.groups.values()
        ),
    )
    feed("memberships", ((m.group_id, m.account_id, m.source) for m in snapshot.memberships))
    d = snapshot.directory
    if d is not None:
        when = d.last_full_read_at.isoformat() if d.last_full_read_at else None
        feed("directory", [(d.directory_id, d.cursor, when, d.last_good_user_count, d.synced_before)])
    feed("domains", ((domain,) for domain in verified_domains))
    return digest.hexdigest()
