"""What events carry of accounts and groups: enough for a consumer to act without calling back."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection
from sqlalchemy import select

from connector.model import Account
from connector.rules.mapping import account_is_internal
from connector.store import tables as t
from connector.store.scoped_reads import accounts_by_id
from connector.store.tenancy import in_org


def account_data(account: Account, domains: frozenset[str]) -> dict[str, Any]:
    """An account as events carry it: ``external`` when its address is in no verified domain."""
    return {
        "id": account.account_id,
        "email": account.email,
        "display_name": account.display_name,
        "given_name": account.given_name,
        "family_name": account.family_name,
        "status": account.status.value,
        "origin": account.origin.value,
        "external": not account_is_internal(account, domains),
    }


def group_data(row: Any) -> dict[str, Any]:
    """A group row (``group_id``, ``name``, ``description``, ``directory_id``, ``idp_group_id``)
    as events carry it."""
    return {
        "id": row.group_id,
        "name": row.name,
        "description": row.description,
        "directory_id": row.directory_id,
        "idp_group_id": row.idp_group_id,
    }


def verified_domains(conn: Connection) -> frozenset[str]:
    """The organization's verified domains."""
    query = select(t.verified_domains.c.domain).where(in_org(conn, t.verified_domains))
    return frozenset(conn.execute(query).scalars())


def accounts_data(
    conn: Connection, account_ids: Collection[str], domains: frozenset[str] | None = None
) -> dict[str, dict[str, Any]]:
    """These accounts as events carry them, read from the store, by id."""
    known = verified_domains(conn) if domains is None else domains
    return {i: account_data(a, known) for i, a in accounts_by_id(conn, account_ids).items()}
