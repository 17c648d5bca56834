"""/healthz, /readyz and /metrics on the served app; the metrics the workers count; JSON log lines."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import datetime
from datetime import timezone

import pytest
from flask import Flask

from connector import log_context
from connector.net.shared_budget import Target
from connector.ops import health
from connector.ops import metrics
from connector.ops.logs import JsonFormatter
from connector.push import create_app
from connector.store import Store


@pytest.fixture
def app(sqlite_url: str) -> Iterator[Flask]:
    store = Store.open(sqlite_url)
    yield health.register(create_app(store), store)
    store.close()


def test_healthz_and_readyz(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json() == {"status": "ready", "checks": {"store": "ok"}}


def test_readyz_is_503_naming_the_check_that_failed(app: Flask) -> None:
    def broker() -> None:
        raise ConnectionError("redis://:secret@broker:6379 refused")

    health.add_check(app, "broker", broker)
    answer = app.test_client().get("/readyz")
    assert answer.status_code == 503
    body = answer.get_json()
    assert body == {"status": "not ready", "checks": {"store": "ok", "broker": "failed: ConnectionError"}}
    assert "secret" not in answer.get_data(as_text=True)


def test_readyz_fails_when_the_store_is_not_at_the_newest_schema(tmp_path) -> None:
    store = Store.open(f"sqlite:///{tmp_path}/store.sqlite")
    try:
        app = health.register(create_app(store), store)
        with store.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0001'")
        answer = app.test_client().get("/readyz")
        assert answer.status_code == 503
        assert answer.get_json()["checks"] == {"store": "failed: StoreError"}
    finally:
        store.close()


def value(name: str, **labels: str) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_metrics_count_runs_requests_and_hooked_gauges(app: Flask) -> None:
    target = Target("https://acme.okta.example", "c0ffee")
    before = {
        "applied": value("idp_connector_runs_total", outcome="applied"),
        "tripped": value("idp_connector_runs_total", outcome="guard_tripped"),
        "trips": value("idp_connector_guard_trips_total"),
        "creates": value("idp_connector_changes_total", action="create_account"),
        "requests": value("idp_connector_idp_requests_total", idp=target.origin),
        "429": value("idp_connector_idp_rate_limited_total", idp=target.origin),
        "seconds": value("idp_connector_run_seconds_count"),
    }
    metrics.record_run({"outcome": "applied", "seconds": 2.5, "counts": {"create_account": 3, "link": 0}})
    metrics.record_run({"outcome": "guard_tripped", "seconds": 1.0, "counts": {"deactivate": 90}})
    metrics.count_request(target, 200)
    metrics.count_request(target, 429)
    metrics.hook_gauge(metrics.EVENTS_WAITING, "Events in the outbox not delivered yet.", lambda: 7)
    try:
        text = app.test_client().get("/metrics").get_data(as_text=True)
    finally:
        metrics.unhook_gauge(metrics.EVENTS_WAITING)
    assert value("idp_connector_runs_total", outcome="applied") == before["applied"] + 1
    assert value("idp_connector_runs_total", outcome="guard_tripped") == before["tripped"] + 1
    assert value("idp_connector_guard_trips_total") == before["trips"] + 1
    assert value("idp_connector_changes_total", action="create_account") == before["creates"] + 3
    assert value("idp_connector_idp_requests_total", idp=target.origin) == before["requests"] + 2
    assert value("idp_connector_idp_rate_limited_total", idp=target.origin) == before["429"] + 1
    assert value("idp_connector_run_seconds_count") == before["seconds"] + 2
    assert "idp_connector_events_waiting 7.0" in text
    assert 'idp_connector_runs_total{outcome="applied"}' in text
    assert "idp_connector_events_waiting" not in app.test_client().get("/metrics").get_data(as_text=True)


def test_json_log_lines_say_organization_directory_and_run() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("connector.test.json")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        logger.info("outside")
        with log_context.about("acme", "okta-main"):
            logger.info("reading")
            log_context.set_run(42)
            logger.info("applied %d changes", 3)
        logger.info("after")
    finally:
        logger.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(x.get("org"), x.get("directory"), x.get("run_id")) for x in lines] == [
        (None, None, None),
        ("acme", "okta-main", None),
        ("acme", "okta-main", 42),
        (None, None, None),
    ]
    assert lines[2]["message"] == "applied 3 changes" and lines[2]["level"] == "INFO"


def test_served_metrics_count_the_staged_deactivations_and_survive_a_broken_gauge(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from connector.store import staged
    from connector.store.registry import DirectoryEntry
    from connector.store.registry import OrganizationEntry

    for org in ("acme", "globex"):
        store.save_organization(OrganizationEntry(org, org.title()))
        store.save_directory(DirectoryEntry(org, "hook", "scim", mode="push"))
        scoped = store.for_org(org)
        with scoped.transaction() as conn:
            rows = [
                (f"{org}-u{i}", f"{org}-a{i}", "beyond the guard") for i in range(2 if org == "acme" else 1)
            ]
            staged.stage(conn, "hook", rows, datetime.now(timezone.utc))
        scoped.close()
    app = health.register(Flask("served"), store)
    text = app.test_client().get("/metrics").get_data(as_text=True)
    assert "idp_connector_staged_changes 3.0" in text
    metrics.hook_gauge(metrics.EVENTS_WAITING, "Broken on purpose.", lambda: 1 / 0)
    try:
        text = app.test_client().get("/metrics").get_data(as_text=True)
    finally:
        metrics.unhook_gauge(metrics.EVENTS_WAITING)
    assert "idp_connector_staged_changes 3.0" in text and "idp_connector_events_waiting" not in text


def test_a_pushed_request_is_counted_as_a_run(store: Store) -> None:
    from connector.store.registry import DirectoryEntry
    from connector.store.registry import OrganizationEntry

    store.save_organization(OrganizationEntry("acme", "Acme", ("example.com",)))
    store.save_directory(DirectoryEntry("acme", "hook", "scim", mode="push"))
    scoped = store.for_org("acme")
    token = scoped.issue_push_token("hook")
    app = health.register(create_app(scoped), scoped)
    client = app.test_client()

    def applied() -> float:
        return value("idp_connector_runs_total", outcome="applied")

    before = applied()
    body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "p@example.com"}
    answer = client.post("/scim/v2/acme/hook/Users", json=body, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 201
    assert applied() == before + 1
    scoped.close()


def test_served_metrics_count_events_waiting_and_dead_letters(store: Store) -> None:
    from sqlalchemy import insert

    from connector.store import tables as t
    from connector.store.outbox import EventDraft
    from connector.store.outbox import write_events
    from connector.store.registry import OrganizationEntry

    for org, types in (("acme", ()), ("globex", ("account.deactivated",))):
        store.save_organization(OrganizationEntry(org, org.title()))
        scoped = store.for_org(org)
        scoped.add_webhook(f"we_{org}", "https://hooks.example.com/in", "sealed", types)
        with scoped.transaction() as conn:
            write_events(conn, [EventDraft("account.created", {"n": i}, None) for i in range(3)])
            write_events(conn, [EventDraft("account.deactivated", {"n": 9}, None)])
            conn.execute(
                insert(t.webhook_dead_letters).values(
                    endpoint_id=f"we_{org}", event_id="0" * 36, attempts=9, at=datetime.now(timezone.utc)
                )
            )
        scoped.close()
    text = health.register(Flask("served"), store).test_client().get("/metrics").get_data(as_text=True)
    assert "idp_connector_events_waiting 5.0" in text  # acme takes all 4, globex its 1 deactivation
    assert "idp_connector_webhook_failures 2.0" in text


def test_a_run_leaves_no_run_id_on_its_thread(store: Store) -> None:
    """A thread that serves request after request (waitress) logs no finished run's id."""
    from builders import user
    from fakes import FakeProvider

    from connector.rules.settings import SyncSettings
    from connector.run.sync import sync_directory

    provider = FakeProvider()
    provider.put_user(user(1))
    report = sync_directory(provider, store, SyncSettings(verified_domains=("example.com",)))
    assert report.run_id is not None
    assert log_context.current() == {}
