"""Conflicts as state (docs/contract.md, "Conflicts"): every open conflict is stored, and a run
opens, brings up to date and closes them, writing ``conflict.opened`` and ``conflict.resolved``.

A mixin of :class:`connector.store.Store`, which supplies ``transaction()``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection
from collections.abc import Sequence
from datetime import datetime
from datetime import timezone

from sqlalchemy import Connection
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy import update

from connector.rules.events import CONFLICT_OPENED
from connector.rules.events import CONFLICT_RESOLVED
from connector.rules.plan import Conflict
from connector.store import tables as t
from connector.store.bulk import bulk_insert
from connector.store.outbox import conflict_event
from connector.store.outbox import write_events
from connector.store.records import OpenConflict
from connector.store.tenancy import in_directory
from connector.store.tenancy import in_org


class ConflictLog:
    """The open conflicts of every directory."""

    def transaction(self, *, write: bool = True) -> contextlib.AbstractContextManager[Connection]:
        raise NotImplementedError

    def record_conflicts(
        self,
        directory_id: str,
        found: Sequence[Conflict],
        *,
        decided: Collection[str] | None = None,
        now: datetime | None = None,
    ) -> None:
        """After a run: open the conflicts ``found`` (or bring them up to date), and close the
        open ones of the identities the run ``decided`` that it no longer finds (every
        identity of the directory when ``decided`` is None: a whole plan decides them all)."""
        now = now or datetime.now(timezone.utc)
        c = t.conflicts.c
        by_identity = {conflict.idp_user_id: conflict for conflict in found}
        with self.transaction() as conn:
            stored = {
                row.idp_user_id: row
                for row in conn.execute(
                    select(c.idp_user_id, c.kind, c.email, c.reason, c.account_ids).where(
                        in_directory(conn, t.conflicts, directory_id)
                    )
                )
            }
            existing = set(stored)
            closing = existing - by_identity.keys()
            if decided is not None:
                closing &= set(decided)
            events = [conflict_event(CONFLICT_RESOLVED, directory_id, stored[i]) for i in sorted(closing)]
            for chunk in _chunks(sorted(closing)):
                conn.execute(
                    delete(t.conflicts).where(
                        in_directory(conn, t.conflicts, directory_id), c.idp_user_id.in_(chunk)
                    )
                )
            fresh = []
            for idp_user_id, conflict in by_identity.items():
                values = {
                    "kind": conflict.kind,
                    "email": (conflict.email or "")[:512] or None,
                    "reason": conflict.reason,
                    "account_ids": list(conflict.account_ids),
                    "last_seen": now,
                }
                if idp_user_id in existing:
                    conn.execute(
                        update(t.conflicts)
                        .where(in_directory(conn, t.conflicts, directory_id), c.idp_user_id == idp_user_id)
                        .values(**values)
                    )
                else:
                    fresh.append(
                        {
                            "directory_id": directory_id,
                            "idp_user_id": idp_user_id,
                            "first_seen": now,
                            **values,
                        }
                    )
            bulk_insert(conn, t.conflicts, fresh)
            events += [conflict_event(CONFLICT_OPENED, directory_id, row) for row in fresh]
            write_events(conn, events, now=now)

    def open_conflicts(self, directory_id: str | None = None) -> list[OpenConflict]:
        """The open conflicts, of one directory or of all, by directory and identity."""
        c = t.conflicts.c
        with self.transaction(write=False) as conn:
            query = (
                select(t.conflicts).where(in_org(conn, t.conflicts)).order_by(c.directory_id, c.idp_user_id)
            )
            if directory_id is not None:
                query = query.where(c.directory_id == directory_id)
            return [
                OpenConflict(
                    directory_id=row.directory_id,
                    idp_user_id=row.idp_user_id,
                    kind=row.kind,
                    email=row.email,
                    reason=row.reason,
                    account_ids=tuple(row.account_ids or ()),
                    first_seen=_aware(row.first_seen),
                    last_seen=_aware(row.last_seen),
                )
                for row in conn.execute(query)
            ]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _chunks(ids: list[str], size: int = 500) -> list[list[str]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]
