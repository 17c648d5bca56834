"""Which organization a store connection works for.

A :class:`~connector.store.Store` is opened for one organization (``Store.open(url, org=...)``,
``store.for_org(...)``); each of its connections carries that organization's id as an execution
option, and every statement of the store's modules filters on :func:`org_of` (reads) or writes it
(inserts).  A connection without one is refused rather than read across organizations.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy import Connection
from sqlalchemy import Table
from sqlalchemy import and_

from connector.errors import ConfigError
from connector.errors import StoreError

DEFAULT_ORG = "default"
"""The organization of a one-organization configuration, and of a store made before tenancy."""

ORG_OPTION = "connector_org"
"""The execution option that carries a connection's organization id."""

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


def org_of(conn: Connection) -> str:
    """The organization this connection works for; StoreError when it was given none."""
    return _org_in(conn.get_execution_options(), "a store connection was used")


def _org_in(options: Any, what: str) -> str:
    """The organization named in a connection's execution ``options``; StoreError when none is."""
    org = options.get(ORG_OPTION)
    if not org:
        raise StoreError(f"{what} without an organization (a bug: use Store.transaction)")
    return str(org)


def check_org_id(org_id: str) -> str:
    """``org_id`` when it is a slug (lower-case letters, digits and inner hyphens, at most 64)."""
    if not isinstance(org_id, str) or not _SLUG.match(org_id):
        raise ConfigError(
            f"{org_id!r} is not an organization id: use lower-case letters, digits and inner hyphens "
            "(at most 64), e.g. 'acme-corp'"
        )
    return org_id


def in_org(conn: Connection, table: Table) -> ColumnElement[bool]:
    """``table.org_id = <the connection's organization>``."""
    return table.c.org_id == org_of(conn)


def in_directory(conn: Connection, table: Table, directory_id: str) -> ColumnElement[bool]:
    """The rows of ``table`` that belong to ``directory_id`` of the connection's organization."""
    return and_(table.c.org_id == org_of(conn), table.c.directory_id == directory_id)


def connection_org(context: Any) -> str:
    """The ``org_id`` column's default: the organization of the connection that inserts the row."""
    return _org_in(context.execution_options, "a row was written")
