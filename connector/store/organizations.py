"""The organizations a store holds: one row each, made on first use (``Store.open(url, org=...)``)."""

from __future__ import annotations

import contextlib

from sqlalchemy import Connection
from sqlalchemy import insert
from sqlalchemy import select

from connector.store import tables as t
from connector.store.runs import utcnow
from connector.store.tenancy import check_org_id


class Organizations:
    """Registering the store's organizations (a mixin of :class:`~connector.store.Store`); listing
    them is :meth:`~connector.store.registry.StoreRegistry.organization_entries`."""

    org: str
    _org_known: bool = False

    def transaction(self, *, write: bool = True) -> contextlib.AbstractContextManager[Connection]:
        raise NotImplementedError

    def ensure_organization(self, org_id: str, name: str | None = None) -> None:
        """Register ``org_id`` (named ``name``, or its id) unless the store holds it already."""
        check_org_id(org_id)
        if org_id == self.org and self._org_known:
            return
        o = t.organizations.c
        with self.transaction() as conn:
            if conn.execute(select(o.org_id).where(o.org_id == org_id)).first() is None:
                conn.execute(
                    insert(t.organizations).values(
                        org_id=org_id, name=name or org_id, settings={}, created_at=utcnow()
                    )
                )
            r = t.store_revision.c
            if conn.execute(select(r.org_id).where(r.org_id == org_id)).first() is None:
                # its own revision row, so a writer can lock it (connector.store.revision)
                conn.execute(insert(t.store_revision).values(org_id=org_id, revision=0))
        if org_id == self.org:
            self._org_known = True
