"""``/healthz``, ``/readyz`` and ``/metrics`` on the served app: one blueprint, registered by
:func:`register`.

``/healthz`` answers 200 while the process serves (a liveness probe: restart me when it does
not).  ``/readyz`` answers 200 when every readiness check passes, else 503 naming the one that
failed: the store answers and is at this version's schema, and whatever else was registered
(:func:`add_check`).  ``/metrics`` is Prometheus' text format of :mod:`connector.ops.metrics`.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint
from flask import Flask
from flask import Response
from flask import current_app
from flask import jsonify
from prometheus_client import CONTENT_TYPE_LATEST

from connector.ops.metrics import EVENTS_WAITING
from connector.ops.metrics import STAGED_CHANGES
from connector.ops.metrics import WEBHOOK_FAILURES
from connector.ops.metrics import exposition
from connector.ops.metrics import hook_gauge
from connector.store import Store

EXTENSION = "idp-connector-ready"
"""``app.extensions`` key of the readiness checks: ``{name: check}``, a check raises when not ready."""

ops = Blueprint("ops", __name__)


@ops.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok"})


@ops.get("/readyz")
def readyz() -> tuple[Response, int]:
    checks: dict[str, Callable[[], object]] = current_app.extensions.get(EXTENSION, {})
    results: dict[str, str] = {}
    ready = True
    for name, check in checks.items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:  # any failure makes the service not ready; its kind is said
            ready = False
            results[name] = f"failed: {type(exc).__name__}"
    return jsonify({"status": "ready" if ready else "not ready", "checks": results}), 200 if ready else 503


@ops.get("/metrics")
def metrics() -> Response:
    return Response(exposition(), mimetype=CONTENT_TYPE_LATEST)


def add_check(app: Flask, name: str, check: Callable[[], object]) -> None:
    """Make ``check`` (raising when not ready) part of ``/readyz``."""
    app.extensions.setdefault(EXTENSION, {})[name] = check


def register(app: Flask, store: Store) -> Flask:
    """Add the three endpoints to ``app``, ``/readyz`` checking ``store``."""
    app.register_blueprint(ops)
    add_check(app, "store", store.check_schema)
    hook_gauge(
        STAGED_CHANGES,
        "Deactivations the receiving guard holds in every organization, waiting for a decision.",
        store.staged_waiting,
    )
    hook_gauge(
        EVENTS_WAITING,
        "Events not yet delivered to a webhook endpoint, every organization.",
        store.events_waiting,
    )
    hook_gauge(
        WEBHOOK_FAILURES,
        "Events some webhook endpoint never took (dead letters, until replayed), every organization.",
        store.dead_letters_held,
    )
    return app
