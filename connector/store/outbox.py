"""The events outbox: each event written in the transaction of its change, read after a cursor.

Writing.  :func:`write_events` is called inside the transaction that makes the change (the
applier's batch, a run's end, a hand-made link), so a crash before the commit leaves neither and
a crash after it leaves both.  It first takes the organization's event lock (a transaction-scoped
advisory lock on PostgreSQL; SQLite has one writer at a time already) and reads the newest id,
then makes ids above it (:func:`connector.store.event_ids.next_ids`): ids are in commit order, so
a consumer at a cursor never sees a later commit put an event behind it.

Reading.  :meth:`Outbox.events` answers the events after a cursor, in id order, at most
``limit``.  A cursor before the newest pruned event (``event_retention``) is refused with
:class:`~connector.errors.EventCursorExpiredError`: the events after it are gone, and the
consumer must resync rather than silently skip them.

Retention.  :meth:`Outbox.prune_events` deletes the events older than the retention
(:data:`DEFAULT_RETENTION`, 30 days) and records the newest id it deleted.

A mixin of :class:`connector.store.Store`, which supplies ``transaction()``.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Collection
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from typing import Any

from sqlalchemy import Connection
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import update

from connector.errors import ConfigError
from connector.errors import EventCursorExpiredError
from connector.rules.events import FINISHED_OUTCOMES
from connector.rules.events import GUARD_TRIPPED
from connector.store import tables as t
from connector.store.bulk import bulk_insert
from connector.store.event_ids import first_id_at
from connector.store.event_ids import id_time
from connector.store.event_ids import next_ids
from connector.store.tenancy import in_org
from connector.store.tenancy import org_of

DEFAULT_RETENTION = timedelta(days=30)
"""How long events are kept; ``--retention-days`` of ``deliver`` and ``events prune`` change it."""
MAX_LIMIT = 1000
"""The most events one read answers."""


@dataclass(frozen=True)
class EventDraft:
    """An event before it has an id: its type, directory, run and data."""

    type: str
    data: Mapping[str, Any]
    directory_id: str | None = None
    run_id: int | None = None


@dataclass(frozen=True)
class EventRecord:
    """One event as a consumer gets it."""

    event_id: str
    type: str
    org_id: str
    directory_id: str | None
    run_id: int | None
    occurred_at: datetime
    data: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """The event as JSON data: the body of ``GET /events`` items and of webhooks."""
        return {
            "id": self.event_id,
            "type": self.type,
            "organization": self.org_id,
            "directory": self.directory_id,
            "run_id": self.run_id,
            "occurred_at": self.occurred_at.isoformat().replace("+00:00", "Z"),
            "data": dict(self.data),
        }


def _lock_key(org_id: str) -> int:
    """A signed 64-bit advisory lock key for the organization's event writes."""
    digest = hashlib.sha256(f"idp-connector events {org_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def newest_id(conn: Connection) -> str | None:
    """The newest event id of the connection's organization (kept or pruned), None when none."""
    e, r = t.events.c, t.event_retention.c
    kept = conn.execute(select(func.max(e.event_id)).where(in_org(conn, t.events))).scalar()
    pruned = conn.execute(select(r.pruned_through).where(in_org(conn, t.event_retention))).scalar()
    return max((i for i in (kept, pruned) if i), default=None)


def write_events(conn: Connection, drafts: Sequence[EventDraft], *, now: datetime | None = None) -> list[str]:
    """Write ``drafts`` as events of the connection's organization, in order; their ids."""
    if not drafts:
        return []
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(org_of(conn))})
    ids = next_ids(len(drafts), newest_id(conn))
    occurred = now or datetime.now(timezone.utc)
    bulk_insert(
        conn,
        t.events,
        [
            {
                "event_id": event_id,
                "type": draft.type,
                "directory_id": draft.directory_id,
                "run_id": draft.run_id,
                "occurred_at": occurred,
                "data": dict(draft.data),
            }
            for event_id, draft in zip(ids, drafts, strict=True)
        ],
    )
    return ids


def run_end_events(conn: Connection, run_id: int) -> list[EventDraft]:
    """The event a finished run writes: ``sync.completed`` for an applied run, ``guard.tripped``
    for one the guard stopped, none for a dry run or a failure."""
    r = t.sync_runs.c
    row = conn.execute(
        select(
            r.directory_id, r.kind, r.dry_run, r.outcome, r.counts, r.detail, r.started_at, r.finished_at
        ).where(in_org(conn, t.sync_runs), r.run_id == run_id)
    ).one()
    if row.dry_run:
        return []
    data = {
        "run_id": run_id,
        "kind": row.kind,
        "outcome": row.outcome,
        "counts": {k: v for k, v in dict(row.counts or {}).items() if v},
        "detail": row.detail,
    }
    if row.outcome == "guard_tripped":
        return [EventDraft(GUARD_TRIPPED, data, row.directory_id, run_id)]
    if row.outcome in FINISHED_OUTCOMES:
        return [EventDraft(FINISHED_OUTCOMES[row.outcome], data, row.directory_id, run_id)]
    return []


def conflict_event(
    event_type: str, directory_id: str, row: Any, *, resolution: str | None = None
) -> EventDraft:
    """A ``conflict.opened`` or ``conflict.resolved`` event of a conflict row (or its values)."""
    get = row.get if isinstance(row, Mapping) else lambda name: getattr(row, name)
    data: dict[str, Any] = {
        "conflict": {
            "directory_id": directory_id,
            "idp_user_id": get("idp_user_id"),
            "kind": get("kind"),
            "email": get("email"),
            "reason": get("reason"),
            "account_ids": list(get("account_ids") or ()),
        }
    }
    if resolution is not None:
        data["resolution"] = resolution
    return EventDraft(event_type, data, directory_id)


def record_of(org_id: str, row: Any) -> EventRecord:
    occurred = row.occurred_at
    return EventRecord(
        event_id=row.event_id,
        type=row.type,
        org_id=org_id,
        directory_id=row.directory_id,
        run_id=row.run_id,
        occurred_at=occurred if occurred.tzinfo else occurred.replace(tzinfo=timezone.utc),
        data=row.data,
    )


def check_cursor(after: str | None) -> str | None:
    """``after`` when it is an event id (or None); ConfigError naming what an id looks like."""
    if after is None:
        return None
    try:
        id_time(after)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    return after


def read_events(
    conn: Connection, after: str | None, limit: int, types: Collection[str] = ()
) -> list[EventRecord]:
    """The connection organization's events after ``after``, in id order; see :meth:`Outbox.events`."""
    e, r = t.events.c, t.event_retention.c
    pruned = conn.execute(select(r.pruned_through).where(in_org(conn, t.event_retention))).scalar()
    if pruned is not None and after is not None and after < pruned:
        raise EventCursorExpiredError(
            f"cursor expired, resync: events after {after} were pruned (retention); "
            "read the store whole, then go on from the newest event id"
        )
    query = select(t.events).where(in_org(conn, t.events)).order_by(e.event_id).limit(limit)
    if after is not None:
        query = query.where(e.event_id > after)
    if types:
        query = query.where(e.type.in_(sorted(types)))
    org_id = org_of(conn)
    return [record_of(org_id, row) for row in conn.execute(query)]


class Outbox:
    """Reading and pruning the events of the organization."""

    def transaction(self, *, write: bool = True) -> contextlib.AbstractContextManager[Connection]:
        raise NotImplementedError

    def events(
        self, after: str | None = None, *, limit: int = 100, types: Collection[str] = ()
    ) -> list[EventRecord]:
        """Up to ``limit`` (at most :data:`MAX_LIMIT`) events after the cursor ``after`` (None:
        from the oldest kept), in id order, only of ``types`` when given.

        The cursor is the id of the last event the consumer has handled; the next read passes
        the last id of this one.  A cursor of pruned events raises
        :class:`~connector.errors.EventCursorExpiredError`.
        """
        if not 1 <= limit <= MAX_LIMIT:
            raise ConfigError(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
        check_cursor(after)
        with self.transaction(write=False) as conn:
            return read_events(conn, after, limit, types)

    def newest_event_id(self) -> str | None:
        """The newest event id written in the organization (None when none): where a consumer
        that just read the store whole starts."""
        with self.transaction(write=False) as conn:
            return newest_id(conn)

    def prune_events(self, retention: timedelta = DEFAULT_RETENTION, *, now: datetime | None = None) -> int:
        """Delete the events older than ``retention``; how many.  Cursors before them expire."""
        if retention <= timedelta(0):
            raise ConfigError(f"the retention must be positive, got {retention}")
        cutoff = first_id_at((now or datetime.now(timezone.utc)) - retention)
        e = t.events.c
        with self.transaction() as conn:
            last = conn.execute(
                select(func.max(e.event_id)).where(in_org(conn, t.events), e.event_id < cutoff)
            ).scalar()
            if last is None:
                return 0
            gone = conn.execute(delete(t.events).where(in_org(conn, t.events), e.event_id <= last)).rowcount
            moment = datetime.now(timezone.utc)
            done = conn.execute(
                update(t.event_retention)
                .where(in_org(conn, t.event_retention))
                .values(pruned_through=last, pruned_at=moment)
            ).rowcount
            if not done:
                conn.execute(
                    insert(t.event_retention).values(
                        org_id=org_of(conn), pruned_through=last, pruned_at=moment
                    )
                )
            return int(gone)
