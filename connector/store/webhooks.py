"""Webhook endpoints: where an organization's events are posted, and how far delivery got.

Each endpoint keeps a **position**, the last event it got (or that was dead-lettered for it);
the deliverer (:mod:`connector.delivery`) posts the events after it one at a time, in id order,
and moves the position only after the receiver said 2xx, so a crash between the post and the
move posts the event again (at least once, with the same ``webhook-id``), never skips it.  A
failed post counts an attempt and waits (``next_attempt_at``) as the retry schedule says; the
endpoint's later events wait behind it (order per endpoint).  After the last attempt the event
goes to ``webhook_dead_letters`` and the position moves past it.

Two deliverers never work on one endpoint at once: a deliverer **leases** the endpoints it works
on (``lease_owner``, ``leased_until``), and every move of the position is conditional on still
holding the lease.  A deliverer killed mid-batch leaves its lease to expire; the next one takes
the endpoint over from its position.

The secret is stored sealed with the vault (the API layer seals it); nothing here opens it.
A mixin of :class:`connector.store.Store`, which supplies ``transaction()``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from typing import Any

from sqlalchemy import Connection
from sqlalchemy import and_
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update

from connector.errors import ConfigError
from connector.store import tables as t
from connector.store.outbox import EventRecord
from connector.store.outbox import newest_id
from connector.store.outbox import record_of
from connector.store.tenancy import in_org
from connector.store.tenancy import org_of


@dataclass(frozen=True)
class WebhookEndpoint:
    """An endpoint as it may be shown: never its secret."""

    endpoint_id: str
    url: str
    types: tuple[str, ...]
    allow_private: bool
    created_at: datetime
    position: str | None
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "endpoint_id": self.endpoint_id,
            "url": self.url,
            "types": list(self.types),
            "allow_private": self.allow_private,
            "created_at": self.created_at.isoformat(),
            "position": self.position,
            "attempts": self.attempts,
            "next_attempt_at": self.next_attempt_at.isoformat() if self.next_attempt_at else None,
            "last_error": self.last_error,
        }


@dataclass(frozen=True)
class DeadLetter:
    endpoint_id: str
    event_id: str
    attempts: int
    last_error: str | None
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "endpoint_id": self.endpoint_id,
            "event_id": self.event_id,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "at": self.at.isoformat(),
        }


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _endpoint(row: Any) -> WebhookEndpoint:
    return WebhookEndpoint(
        endpoint_id=row.endpoint_id,
        url=row.url,
        types=tuple(row.types or ()),
        allow_private=bool(row.allow_private),
        created_at=_aware(row.created_at),  # type: ignore[arg-type]
        position=row.position,
        attempts=int(row.attempts),
        next_attempt_at=_aware(row.next_attempt_at),
        last_error=row.last_error,
    )


_E = t.webhook_endpoints.c


def _mine(conn: Connection, endpoint_id: str) -> Any:
    return and_(in_org(conn, t.webhook_endpoints), _E.endpoint_id == endpoint_id)


class WebhookEndpoints:
    """The organization's webhook endpoints, their positions, leases and dead letters."""

    def transaction(self, *, write: bool = True) -> contextlib.AbstractContextManager[Connection]:
        raise NotImplementedError

    # ------------------------------------------------------------------ the operator's gauges

    def events_waiting(self) -> int:
        """Events of every organization not yet delivered or dead-lettered, summed over its
        endpoints (each counts the events after its position of the types it takes)."""
        e = t.events.c
        with self.transaction(write=False) as conn:
            endpoints = conn.execute(select(_E.org_id, _E.position, _E.types)).all()
            total = 0
            for org_id, position, types in endpoints:
                query = select(func.count()).select_from(t.events).where(e.org_id == org_id)
                if position is not None:
                    query = query.where(e.event_id > position)
                if types:
                    query = query.where(e.type.in_(list(types)))
                total += int(conn.execute(query).scalar_one())
            return total

    def dead_letters_held(self) -> int:
        """Events some endpoint of some organization never took (dead letters, until replayed)."""
        with self.transaction(write=False) as conn:
            return int(conn.execute(select(func.count()).select_from(t.webhook_dead_letters)).scalar_one())

    # ------------------------------------------------------------------ endpoints

    def add_webhook(
        self,
        endpoint_id: str,
        url: str,
        sealed_secret: str,
        types: Sequence[str],
        *,
        allow_private: bool = False,
    ) -> WebhookEndpoint:
        """Add an endpoint; it gets the events written from now on (``replay`` for older ones)."""
        now = datetime.now(timezone.utc)
        with self.transaction() as conn:
            conn.execute(
                insert(t.webhook_endpoints).values(
                    org_id=org_of(conn), endpoint_id=endpoint_id, url=url, secret=sealed_secret,
                    types=list(types), allow_private=allow_private, created_at=now,
                    position=newest_id(conn), attempts=0,
                )
            )  # fmt: skip
        return self.webhook(endpoint_id)

    def webhook(self, endpoint_id: str) -> WebhookEndpoint:
        """One endpoint; ConfigError naming the known ones when there is none of that id."""
        with self.transaction(write=False) as conn:
            row = conn.execute(select(t.webhook_endpoints).where(_mine(conn, endpoint_id))).first()
        if row is None:
            known = ", ".join(e.endpoint_id for e in self.webhooks()) or "none"
            raise ConfigError(f"no webhook endpoint {endpoint_id!r} (known: {known})")
        return _endpoint(row)

    def webhooks(self) -> list[WebhookEndpoint]:
        """Every endpoint of the organization, oldest first."""
        with self.transaction(write=False) as conn:
            query = (
                select(t.webhook_endpoints)
                .where(in_org(conn, t.webhook_endpoints))
                .order_by(_E.created_at, _E.endpoint_id)
            )
            return [_endpoint(row) for row in conn.execute(query)]

    def webhook_secret(self, endpoint_id: str) -> str:
        """The endpoint's secret, sealed as it was stored."""
        self.webhook(endpoint_id)
        with self.transaction(write=False) as conn:
            return str(conn.execute(select(_E.secret).where(_mine(conn, endpoint_id))).scalar_one())

    def remove_webhook(self, endpoint_id: str) -> None:
        """Remove an endpoint and its dead letters."""
        self.webhook(endpoint_id)
        d = t.webhook_dead_letters.c
        with self.transaction() as conn:
            conn.execute(
                delete(t.webhook_dead_letters).where(
                    in_org(conn, t.webhook_dead_letters), d.endpoint_id == endpoint_id
                )
            )
            conn.execute(delete(t.webhook_endpoints).where(_mine(conn, endpoint_id)))

    def replay_webhook(self, endpoint_id: str, from_id: str) -> WebhookEndpoint:
        """Post the endpoint's events again from ``from_id`` (included) on: its position goes
        back to the event before it, its attempts start over."""
        self.webhook(endpoint_id)
        e = t.events.c
        with self.transaction() as conn:
            before = conn.execute(
                select(func.max(e.event_id)).where(in_org(conn, t.events), e.event_id < from_id)
            ).scalar()
            conn.execute(
                update(t.webhook_endpoints)
                .where(_mine(conn, endpoint_id))
                .values(position=before, attempts=0, next_attempt_at=None, last_error=None)
            )
        return self.webhook(endpoint_id)

    def dead_letters(self, endpoint_id: str | None = None) -> list[DeadLetter]:
        """The events given up on, by endpoint and event."""
        d = t.webhook_dead_letters.c
        with self.transaction(write=False) as conn:
            query = (
                select(t.webhook_dead_letters)
                .where(in_org(conn, t.webhook_dead_letters))
                .order_by(d.endpoint_id, d.event_id)
            )
            if endpoint_id is not None:
                query = query.where(d.endpoint_id == endpoint_id)
            return [
                DeadLetter(r.endpoint_id, r.event_id, r.attempts, r.last_error, _aware(r.at))  # type: ignore[arg-type]
                for r in conn.execute(query)
            ]

    # ------------------------------------------------------------------ delivery

    def lease_webhooks(
        self, owner: str, lease: timedelta, *, now: datetime | None = None
    ) -> list[WebhookEndpoint]:
        """The endpoints due now (no wait pending) that this ``owner`` now holds for ``lease``:
        those no one holds, whose lease ran out, or that ``owner`` held already."""
        moment = now or datetime.now(timezone.utc)
        free = or_(_E.lease_owner.is_(None), _E.leased_until < moment, _E.lease_owner == owner)
        due = or_(_E.next_attempt_at.is_(None), _E.next_attempt_at <= moment)
        with self.transaction() as conn:
            conn.execute(
                update(t.webhook_endpoints)
                .where(in_org(conn, t.webhook_endpoints), free, due)
                .values(lease_owner=owner, leased_until=moment + lease)
            )
            query = (
                select(t.webhook_endpoints)
                .where(in_org(conn, t.webhook_endpoints), _E.lease_owner == owner, _E.leased_until > moment)
                .order_by(_E.endpoint_id)
            )
            return [_endpoint(row) for row in conn.execute(query)]

    def release_webhook(self, endpoint_id: str, owner: str) -> None:
        """Give the lease back (the next deliverer need not wait for it to run out)."""
        with self.transaction() as conn:
            conn.execute(
                update(t.webhook_endpoints)
                .where(_mine(conn, endpoint_id), _E.lease_owner == owner)
                .values(lease_owner=None, leased_until=None)
            )

    def webhook_backlog(self, endpoint: WebhookEndpoint, limit: int = 100) -> list[EventRecord]:
        """The endpoint's next events after its position, of its types, in id order."""
        e = t.events.c
        with self.transaction(write=False) as conn:
            query = select(t.events).where(in_org(conn, t.events)).order_by(e.event_id).limit(limit)
            if endpoint.position is not None:
                query = query.where(e.event_id > endpoint.position)
            if endpoint.types:
                query = query.where(e.type.in_(sorted(endpoint.types)))
            org_id = org_of(conn)
            return [record_of(org_id, row) for row in conn.execute(query)]

    def webhook_delivered(self, endpoint_id: str, event_id: str, owner: str, lease: timedelta) -> bool:
        """Move the position to ``event_id`` (posted and taken) and extend the lease; False when
        ``owner`` lost the lease (another deliverer has the endpoint now: stop)."""
        now = datetime.now(timezone.utc)
        with self.transaction() as conn:
            done = conn.execute(
                update(t.webhook_endpoints)
                .where(_mine(conn, endpoint_id), _E.lease_owner == owner)
                .values(
                    position=event_id, attempts=0, next_attempt_at=None, last_error=None,
                    leased_until=now + lease,
                )
            )  # fmt: skip
            return bool(done.rowcount)

    def webhook_failed(
        self, endpoint_id: str, event_id: str, owner: str, error: str, retry_at: datetime | None
    ) -> bool:
        """Count a failed attempt at ``event_id``: wait until ``retry_at``, or (None: the schedule
        is spent) dead-letter it and move past it.  Gives the lease back.  False when ``owner``
        lost the lease."""
        now = datetime.now(timezone.utc)
        with self.transaction() as conn:
            attempts = conn.execute(
                select(_E.attempts).where(_mine(conn, endpoint_id), _E.lease_owner == owner)
            ).scalar()
            if attempts is None:
                return False
            values: dict[str, Any] = {"lease_owner": None, "leased_until": None, "last_error": error[:2000]}
            if retry_at is None:
                d = t.webhook_dead_letters.c
                conn.execute(  # a replayed event given up on again: its latest letter only
                    delete(t.webhook_dead_letters).where(
                        in_org(conn, t.webhook_dead_letters),
                        d.endpoint_id == endpoint_id,
                        d.event_id == event_id,
                    )
                )
                conn.execute(
                    insert(t.webhook_dead_letters).values(
                        org_id=org_of(conn), endpoint_id=endpoint_id, event_id=event_id,
                        attempts=attempts + 1, last_error=error[:2000], at=now,
                    )
                )  # fmt: skip
                values.update(position=event_id, attempts=0, next_attempt_at=None)
            else:
                values.update(attempts=attempts + 1, next_attempt_at=retry_at)
            conn.execute(update(t.webhook_endpoints).where(_mine(conn, endpoint_id)).values(**values))
            return True
