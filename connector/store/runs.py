"""Run history and the audit log: the store's record of what each sync did.

A mixin of :class:`connector.store.Store`, which supplies ``transaction()``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import datetime
from datetime import timezone
from typing import Any

from sqlalchemy import Connection
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import update

from connector.errors import StoreError
from connector.store import tables as t
from connector.store.bulk import bulk_insert
from connector.store.outbox import run_end_events
from connector.store.outbox import write_events
from connector.store.records import AuditRecord
from connector.store.records import RunRecord
from connector.store.tenancy import in_directory
from connector.store.tenancy import in_org
from connector.store.tenancy import org_of


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class RunLog:
    """Sync runs (start, end, outcome, counts) and every applied or failed change."""

    def transaction(self, *, write: bool = True) -> contextlib.AbstractContextManager[Connection]:
        raise NotImplementedError

    def start_run(self, directory_id: str, *, kind: str, dry_run: bool) -> int:
        with self.transaction() as conn:
            return int(
                conn.execute(
                    insert(t.sync_runs)
                    .values(
                        org_id=org_of(conn),
                        directory_id=directory_id,
                        kind=kind,
                        dry_run=dry_run,
                        started_at=utcnow(),
                        outcome="running",
                        counts={},
                        detail="",
                    )
                    .returning(t.sync_runs.c.run_id)
                ).scalar_one()
            )

    def close_interrupted_runs(self, directory_id: str) -> int:
        """Mark runs of the directory still ``running`` as ``interrupted``.

        Call only while holding the directory's run lock: then no such run
        can be alive.  Returns how many were found.
        """
        with self.transaction() as conn:
            result = conn.execute(
                update(t.sync_runs)
                .where(in_directory(conn, t.sync_runs, directory_id), t.sync_runs.c.outcome == "running")
                .values(outcome="interrupted", detail="the process ended before the run did")
            )
            return result.rowcount

    def finish_run(self, run_id: int, *, outcome: str, counts: Mapping[str, int], detail: str = "") -> None:
        """Record the run's end and, with it, its ``sync.completed`` or ``guard.tripped`` event."""
        with self.transaction() as conn:
            result = conn.execute(
                update(t.sync_runs)
                .where(in_org(conn, t.sync_runs), t.sync_runs.c.run_id == run_id)
                .values(outcome=outcome, counts=dict(counts), detail=detail, finished_at=utcnow())
            )
            if result.rowcount != 1:
                raise StoreError(f"no sync run with id {run_id}")
            write_events(conn, run_end_events(conn, run_id))

    def runs(self, directory_id: str | None = None, limit: int = 50) -> list[RunRecord]:
        """Runs, newest first."""
        r = t.sync_runs.c
        with self.transaction(write=False) as conn:
            query = (
                select(t.sync_runs).where(in_org(conn, t.sync_runs)).order_by(r.run_id.desc()).limit(limit)
            )
            if directory_id is not None:
                query = query.where(r.directory_id == directory_id)
            return [
                RunRecord(
                    run_id=row.run_id,
                    directory_id=row.directory_id,
                    kind=row.kind,
                    dry_run=bool(row.dry_run),
                    started_at=row.started_at,
                    finished_at=row.finished_at,
                    outcome=row.outcome,
                    counts=dict(row.counts or {}),
                    detail=row.detail,
                )
                for row in conn.execute(query)
            ]

    def audit(self, run_id: int | None = None, *, limit: int | None = None) -> list[AuditRecord]:
        """Audit entries in the order they were written (one run's, or all)."""
        a = t.audit_log.c
        with self.transaction(write=False) as conn:
            query = select(t.audit_log).where(in_org(conn, t.audit_log)).order_by(a.audit_id)
            if run_id is not None:
                query = query.where(a.run_id == run_id)
            if limit is not None:
                query = query.limit(limit)
            return [
                AuditRecord(
                    audit_id=row.audit_id,
                    run_id=row.run_id,
                    at=row.at,
                    action=row.action,
                    directory_id=row.directory_id,
                    target=row.target,
                    reason=row.reason,
                    outcome=row.outcome,
                    error=row.error,
                    change=row.change,
                )
                for row in conn.execute(query)
            ]


def write_audit(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Append audit rows (one per applied or failed change) in the open transaction, in bulk."""
    bulk_insert(conn, t.audit_log, rows)
