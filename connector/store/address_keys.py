"""The address keys kept beside the mirror's users and the accounts (migration 0003).

Linking matches an identity to accounts and to other identities by the
matching and look-alike keys of their addresses (:mod:`connector.emails`).
A run that plans only what changed (:mod:`connector.store.scope`) finds those by
index here instead of parsing every address of the organization:

* ``idp_users.match_key`` / ``loose_key``: written with each mirrored user
  (:mod:`connector.store.handlers.mirror`); NULL until worked out;
* ``account_keys``: one row per account, for the email it was worked out
  from.  Accounts created by sync get theirs when created; any other (an
  account the product made or readdressed) is found stale and worked out
  again by :func:`refresh_account_keys`.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Connection
from sqlalchemy import bindparam
from sqlalchemy import delete
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update

from connector.emails import address_keys
from connector.store import tables as t
from connector.store.bulk import bulk_insert
from connector.store.bulk import rows_by_ids
from connector.store.tenancy import org_of


def stored_keys(email: str | None) -> tuple[str, str | None]:
    """An address's keys as stored: the matching key (``""`` for none), and the look-alike key
    only where it differs from that (never for an ASCII address), so its index stays small."""
    match, loose = address_keys(email)
    return match, loose if loose != match else None


def insert_account_keys(conn: Connection, accounts: Collection[tuple[str, str]]) -> None:
    """Record the keys of these (account id, email) pairs, for accounts that have none."""
    rows = []
    for account_id, email in accounts:
        match, loose = stored_keys(email)
        rows.append({"account_id": account_id, "email": email, "match_key": match, "loose_key": loose})
    bulk_insert(conn, t.account_keys, rows)


def write_account_keys(conn: Connection, accounts: Collection[tuple[str, str]]) -> None:
    """Record the keys of these (account id, email) pairs, replacing what was there."""
    k = t.account_keys.c
    ids = [account_id for account_id, _ in accounts]
    org = org_of(conn)
    for start in range(0, len(ids), 1000):
        conn.execute(
            delete(t.account_keys).where(k.org_id == org, k.account_id.in_(ids[start : start + 1000]))
        )
    insert_account_keys(conn, accounts)


def refresh_account_keys(conn: Connection) -> int:
    """Work out the keys of every account whose row is missing or stale; how many there were.

    One pass over the accounts in the database (a join, no parsing): a
    store sync keeps fresh costs milliseconds at 100k accounts.
    """
    a, k = t.accounts.c, t.account_keys.c
    org = org_of(conn)
    joined = t.accounts.outerjoin(t.account_keys, (k.org_id == a.org_id) & (a.account_id == k.account_id))
    stale = (
        select(a.account_id, a.email)
        .select_from(joined)
        .where(a.org_id == org, or_(k.account_id.is_(None), k.email != a.email))
    )
    rows = [(r[0], r[1]) for r in conn.execute(stale)]
    write_account_keys(conn, rows)
    return len(rows)


def fill_mirror_keys(conn: Connection, directory_id: str) -> int:
    """Work out the keys of the directory's mirrored users that have none yet; how many."""
    u = t.idp_users.c
    rows = conn.execute(
        select(u.idp_user_id, u.email).where(
            u.org_id == org_of(conn), u.directory_id == directory_id, u.match_key.is_(None)
        )
    ).all()
    if rows:
        values = []
        for idp_user_id, email in rows:
            match, loose = stored_keys(email)
            values.append({"uid": idp_user_id, "match": match, "loose": loose})
        conn.execute(
            update(t.idp_users)
            .where(
                u.org_id == org_of(conn), u.directory_id == directory_id, u.idp_user_id == bindparam("uid")
            )
            .values(match_key=bindparam("match"), loose_key=bindparam("loose")),
            values,
        )
    return len(rows)


def identities_with_keys(
    conn: Connection, directory_id: str, keys: Collection[str]
) -> dict[str, tuple[str, str]]:
    """The directory's mirrored users whose matching or look-alike key is one of ``keys``, with theirs."""
    u = t.idp_users.c
    wanted = [key for key in keys if key]
    found: dict[str, tuple[str, str]] = {}
    for column in (u.match_key, u.loose_key):
        query = select(u.idp_user_id, u.match_key, u.loose_key).where(
            u.org_id == org_of(conn), u.directory_id == directory_id
        )
        for r in rows_by_ids(conn, column, wanted, lambda cond, q=query: q.where(cond)):
            found[r[0]] = (r[1] or "", r[2] or r[1] or "")
    return found


def accounts_with_keys(conn: Connection, keys: Collection[str]) -> dict[str, tuple[str, str]]:
    """The accounts whose matching or look-alike key is one of ``keys`` (fresh rows only), with theirs."""
    a, k = t.accounts.c, t.account_keys.c
    wanted = [key for key in keys if key]
    joined = t.account_keys.join(
        t.accounts, (a.org_id == k.org_id) & (a.account_id == k.account_id) & (a.email == k.email)
    )
    query = select(k.account_id, k.match_key, k.loose_key).select_from(joined).where(k.org_id == org_of(conn))
    found: dict[str, tuple[str, str]] = {}
    for column in (k.match_key, k.loose_key):
        for r in rows_by_ids(conn, column, wanted, lambda cond: query.where(cond)):
            found[r[0]] = (r[1], r[2] or r[1])
    return found
