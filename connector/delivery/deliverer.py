"""The deliverer: posts each webhook endpoint's events, in order, at least once.

One pass (:meth:`Deliverer.run_once`) goes over the organizations, leases each endpoint that is
due (:meth:`~connector.store.Store.lease_webhooks`), and posts its events after its position one
at a time: a 2xx moves the position past the event; a failure counts an attempt, sets the time
of the next one from the retry schedule (or dead-letters the event after the last) and leaves
the endpoint until then, so no later event overtakes it.  The position moves only after the
receiver took the event, so a deliverer killed at any point posts the event again when the
endpoint is next leased: at least once, in order, with the same ``webhook-id``.

:meth:`Deliverer.run` repeats passes until stopped, waiting ``interval`` when a pass found
nothing to post, and prunes events older than the retention once an hour.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from datetime import timezone

import requests

from connector.errors import SecretUnsealError
from connector.net.destinations import Resolver
from connector.net.destinations import system_resolver
from connector.net.webhook_post import DEFAULT_TIMEOUT
from connector.net.webhook_post import PostOutcome
from connector.net.webhook_post import post_signed
from connector.rules.retry_schedule import RetrySchedule
from connector.store import Store
from connector.store.outbox import DEFAULT_RETENTION
from connector.store.outbox import EventRecord
from connector.store.webhooks import WebhookEndpoint
from connector.vault import Vault

log = logging.getLogger("connector.delivery")

DEFAULT_LEASE = timedelta(seconds=30)
"""How long a deliverer holds an endpoint without news; a killed one's endpoints wait this long."""
PRUNE_EVERY = 3600.0


def secret_context(org_id: str, endpoint_id: str) -> str:
    """The vault context a webhook secret is sealed for: it opens for that endpoint only."""
    return f"org/{org_id}/webhook/{endpoint_id}/secret"


def body_of(event: EventRecord) -> str:
    """The JSON a webhook posts: the event as ``GET /events`` lists it."""
    return json.dumps(event.to_dict(), sort_keys=True, separators=(",", ":"), default=str)


@dataclass
class DeliveryStats:
    """What a pass (or a whole run) did."""

    delivered: int = 0
    failed: int = 0
    dead_lettered: int = 0

    def add(self, other: DeliveryStats) -> None:
        self.delivered += other.delivered
        self.failed += other.failed
        self.dead_lettered += other.dead_lettered


class Deliverer:
    """Posts the webhooks of a store's organizations (all of them, or ``orgs``)."""

    def __init__(
        self,
        store: Store,
        vault: Vault,
        *,
        orgs: Sequence[str] | None = None,
        schedule: RetrySchedule | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        lease: timedelta = DEFAULT_LEASE,
        batch: int = 100,
        resolve: Resolver = system_resolver,
        session: requests.Session | None = None,
        owner: str | None = None,
    ) -> None:
        self.store = store
        self.vault = vault
        self.orgs = list(orgs) if orgs else None
        self.schedule = schedule or RetrySchedule()
        self.timeout = timeout
        self.lease = lease
        self.batch = batch
        self.resolve = resolve
        self.session = session or requests.Session()
        self.session.trust_env = False  # no proxy from the environment: the guard checks the real host
        self.owner = owner or f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def organizations(self) -> list[str]:
        return self.orgs or [entry.org_id for entry in self.store.organization_entries()]

    def run_once(self) -> DeliveryStats:
        """One pass over every due endpoint of every organization."""
        stats = DeliveryStats()
        for org_id in self.organizations():
            scoped = self.store.for_org(org_id)
            for endpoint in scoped.lease_webhooks(self.owner, self.lease):
                stats.add(self._endpoint(scoped, org_id, endpoint))
        return stats

    def run(
        self,
        stop: threading.Event,
        *,
        interval: float = 1.0,
        retention: timedelta = DEFAULT_RETENTION,
        on_pass: Callable[[DeliveryStats], None] | None = None,
    ) -> DeliveryStats:
        """Passes until ``stop`` is set; events older than ``retention`` pruned hourly."""
        total, pruned_at = DeliveryStats(), 0.0
        while not stop.is_set():
            if time.monotonic() - pruned_at >= PRUNE_EVERY:
                for org_id in self.organizations():
                    self.store.for_org(org_id).prune_events(retention)
                pruned_at = time.monotonic()
            done = self.run_once()
            total.add(done)
            if on_pass is not None:
                on_pass(done)
            if not (done.delivered or done.failed):
                stop.wait(interval)
        return total

    def _endpoint(self, scoped: Store, org_id: str, endpoint: WebhookEndpoint) -> DeliveryStats:
        stats = DeliveryStats()
        try:
            secret = self.vault.unseal(
                scoped.webhook_secret(endpoint.endpoint_id),
                context=secret_context(org_id, endpoint.endpoint_id),
            )
        except SecretUnsealError as exc:
            log.error("webhook %s of %s: its secret does not open (%s)", endpoint.endpoint_id, org_id, exc)
            scoped.release_webhook(endpoint.endpoint_id, self.owner)
            return stats
        for event in scoped.webhook_backlog(endpoint, self.batch):
            outcome = self.post(endpoint, event, secret)
            if outcome.delivered:
                stats.delivered += 1
                if not scoped.webhook_delivered(endpoint.endpoint_id, event.event_id, self.owner, self.lease):
                    return stats  # another deliverer has the endpoint now
                continue
            failed = endpoint.attempts + 1
            wait = self.schedule.wait_after(failed)
            retry_at = None if wait is None else datetime.now(timezone.utc) + timedelta(seconds=wait)
            error = outcome.error or "failed"
            scoped.webhook_failed(endpoint.endpoint_id, event.event_id, self.owner, error, retry_at)
            stats.failed += 1
            if retry_at is None:
                stats.dead_lettered += 1
                log.warning(
                    "webhook %s of %s: event %s dead-lettered after %d attempts (%s)",
                    endpoint.endpoint_id, org_id, event.event_id, failed, error,
                )  # fmt: skip
            else:
                log.info(
                    "webhook %s of %s: event %s failed (%s), attempt %d, next in %.1f s",
                    endpoint.endpoint_id, org_id, event.event_id, error, failed, wait,
                )  # fmt: skip
            return stats
        scoped.release_webhook(endpoint.endpoint_id, self.owner)
        return stats

    def post(self, endpoint: WebhookEndpoint, event: EventRecord, secret: str) -> PostOutcome:
        """Post one event to the endpoint, signed."""
        return post_signed(
            self.session,
            endpoint.url,
            body_of(event),
            message_id=event.event_id,
            secret=secret,
            allow_private=endpoint.allow_private,
            timeout=self.timeout,
            resolve=self.resolve,
        )
