"""The store revision: whether anything but this connector wrote to the store since a run.

``store_revision`` holds one counter.  Triggers (migration 0002) add to it on
every insert, update and delete of the tables planning reads (:data:`TRACKED`):
per row on SQLite, which has no statement triggers, once per writing
transaction on PostgreSQL.  The counter's value means nothing by itself; only
equality does: two reads that give the same number saw the same content of
those tables, since every committed write moves it.

Each directory keeps ``planned_revision``, the revision its last applied run
left the store at, and ``planned_settings``, the digest of the settings that
run planned with (:func:`record_planned`).  Apply writes them only when it
knows the store is exactly the plan's base plus its own writes, and NULL
otherwise (:mod:`connector.apply.applier`).  So, later,
``planned_revision == read_revision(conn)`` holds only when nothing but that
run wrote to the tracked tables since: not the product, not a local admin
command, not another directory's sync.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy import select
from sqlalchemy import update

from connector.store import tables as t
from connector.store.tenancy import in_directory
from connector.store.tenancy import org_of

TRACKED: tuple[str, ...] = (
    "organizations",
    "verified_domains",
    "product_grants",
    "accounts",
    "links",
    "groups",
    "memberships",
)
"""The tables whose writes bump the revision: everything a plan is made from.

Not ``directories``, ``sync_runs``, ``audit_log`` or the mirror (``idp_*``):
the connector's own bookkeeping, which a plan does not depend on."""


def read_revision(conn: Connection, *, lock: bool = False) -> int:
    """The current revision of the connection's organization (0 before its first write).

    ``lock=True`` on PostgreSQL takes the revision row's lock
    (``SELECT ... FOR UPDATE``): no other writer of a tracked table can
    commit until this transaction ends, so the value stays the truth until
    then.  On SQLite a write transaction (``BEGIN IMMEDIATE``) already
    keeps every other writer out, and ``lock`` adds nothing.
    """
    r = t.store_revision.c
    query = select(r.revision).where(r.org_id == org_of(conn))
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    value = conn.execute(query).scalar()
    return int(value or 0)


def record_planned(conn: Connection, directory_id: str, revision: int | None, settings: str | None) -> None:
    """Store what the directory's last applied run left: the revision and its settings digest (or NULLs).

    ``directories`` is not tracked, so this write does not move the revision.
    """
    conn.execute(
        update(t.directories)
        .where(in_directory(conn, t.directories, directory_id))
        .values(planned_revision=revision, planned_settings=settings, planned_billing=None)
    )


def record_billing(conn: Connection, directory_id: str, billing: Mapping[str, Any]) -> bool:
    """Keep the billing figures with the directory's planned revision, if that is still the store's.

    Computed after apply, the figures describe the store at ``planned_revision`` only when
    nothing wrote in between; the condition is checked in the same statement.
    """
    d, r = t.directories.c, t.store_revision.c
    now = select(r.revision).where(r.org_id == org_of(conn)).scalar_subquery()
    done = conn.execute(
        update(t.directories)
        .where(in_directory(conn, t.directories, directory_id), d.planned_revision == now)
        .values(planned_billing=json.dumps(dict(billing), sort_keys=True))
    )
    return done.rowcount == 1


@dataclass
class RevisionWatch:
    """Whether the store is still "the plan's base + this apply's writes", one transaction at a time.

    Call :meth:`begin` in each apply transaction before its first write and
    :meth:`end` after its last; :meth:`fail` when a change failed.  A revision
    at ``begin`` other than the one expected (the plan's ``base_revision``
    first, then the one the previous transaction ended at) means another
    writer committed in between, and the run is no longer clean.
    """

    expected: int | None
    clean: bool = True

    def __post_init__(self) -> None:
        if self.expected is None:
            self.clean = False

    def begin(self, conn: Connection) -> None:
        """Lock the revision and compare it with the one expected."""
        if read_revision(conn, lock=True) != self.expected:
            self.clean = False

    def fail(self) -> None:
        """A change was not applied: the store is not what the plan meant it to become."""
        self.clean = False

    def end(self, conn: Connection) -> int:
        """The revision after this transaction's writes, expected at the next one's start."""
        self.expected = read_revision(conn)
        return self.expected
