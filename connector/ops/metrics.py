"""The Prometheus metrics of ``serve`` and the workers (``prometheus-client``, its default registry).

Counted where they happen: the runs by the worker process that ran them (:func:`record_run`), the
requests to each IdP and its 429s by the HTTP client's listener
(:func:`count_request`).  A worker's processes share their counts through prometheus-client's
multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, which ``idp-connector worker --metrics-port``
sets up).  Gauges of things another part of the product keeps (events waiting in the outbox,
webhook deliveries that failed, changes staged for review) are read when scraped, from a function
that part hooks in (:func:`hook_gauge`); one not hooked is not exported.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from typing import Any

from prometheus_client import REGISTRY
from prometheus_client import Counter
from prometheus_client import Histogram
from prometheus_client import generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from connector.net.shared_budget import Target

RUNS = Counter("idp_connector_runs", "Directory runs finished, by outcome.", ["outcome"])
RUN_SECONDS = Histogram(
    "idp_connector_run_seconds",
    "Seconds a directory run took.",
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, float("inf")),
)
REQUESTS = Counter("idp_connector_idp_requests", "Requests answered by an IdP, by its origin.", ["idp"])
RATE_LIMITED = Counter("idp_connector_idp_rate_limited", "429 answers from an IdP, by its origin.", ["idp"])
GUARD_TRIPS = Counter("idp_connector_guard_trips", "Runs the guard stopped.")
CHANGES = Counter("idp_connector_changes", "Product changes planned by applied runs, by action.", ["action"])

log = logging.getLogger(__name__)

EVENTS_WAITING = "idp_connector_events_waiting"
WEBHOOK_FAILURES = "idp_connector_webhook_failures"
STAGED_CHANGES = "idp_connector_staged_changes"
"""Names of the hooked gauges (:func:`hook_gauge`) the product knows of."""


def count_request(target: Target, status: int) -> None:
    """A :class:`~connector.net.shared_budget.RequestListener`: one answer from ``target``."""
    REQUESTS.labels(target.origin).inc()
    if status == 429:
        RATE_LIMITED.labels(target.origin).inc()


def record_run(summary: Mapping[str, Any]) -> None:
    """Count one finished run from its summary (:func:`connector.workers.tasks.summary`)."""
    RUNS.labels(summary.get("outcome", "unknown")).inc()
    if summary.get("seconds") is not None:
        RUN_SECONDS.observe(float(summary["seconds"]))
    if summary.get("outcome") == "guard_tripped":
        GUARD_TRIPS.inc()
    if summary.get("outcome") in ("applied", "applied_with_failures"):
        for action, count in (summary.get("counts") or {}).items():
            if count:
                CHANGES.labels(action).inc(count)


class _HookedGauges(Collector):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hooks: dict[str, tuple[str, Callable[[], float]]] = {}

    def hook(self, name: str, documentation: str, read: Callable[[], float]) -> None:
        with self._lock:
            self._hooks[name] = (documentation, read)

    def unhook(self, name: str) -> None:
        with self._lock:
            self._hooks.pop(name, None)

    def collect(self) -> Iterable[GaugeMetricFamily]:
        with self._lock:
            hooks = dict(self._hooks)
        for name, (documentation, read) in sorted(hooks.items()):
            try:
                value = float(read())
            except Exception as exc:  # one gauge that cannot be read leaves the others exported
                log.warning("gauge %s not exported: %s: %s", name, type(exc).__name__, exc)
                continue
            yield GaugeMetricFamily(name, documentation, value=value)


_GAUGES = _HookedGauges()
REGISTRY.register(_GAUGES)


def hook_gauge(name: str, documentation: str, read: Callable[[], float]) -> None:
    """Export gauge ``name``, read by calling ``read()`` at each scrape (e.g. :data:`EVENTS_WAITING`
    with a count of the outbox); hooking a name again replaces its function."""
    _GAUGES.hook(name, documentation, read)


def unhook_gauge(name: str) -> None:
    _GAUGES.unhook(name)


def exposition() -> bytes:
    """Every metric of this process in Prometheus' text format."""
    return generate_latest(REGISTRY)
