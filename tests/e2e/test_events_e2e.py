"""Events end to end: a sync from the mock IdP writes exactly the plan's events, and ``deliver``
posts them to the mock's webhook sink, signed, in order, through faults and a kill -9.

The mock is ``mock-idp serve`` in its own process (as tests/e2e/test_cli_e2e.py starts it), the
sink a :class:`mock_idp.sink.SinkServer` on a thread, ``idp-connector`` the CLI (in process, or
a child process for the kill).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from connector.api.connector import Connector
from connector.rules import events as ev
from connector.rules.events import expected_counts
from connector.vault import Vault
from mock_idp.sink import Sink
from mock_idp.sink import SinkServer
from tests.e2e.test_cli_e2e import FIXTURE
from tests.e2e.test_cli_e2e import Admin
from tests.e2e.test_cli_e2e import Cli
from tests.e2e.test_cli_e2e import mock  # noqa: F401  (the module-scoped mock-idp process)
from tests.e2e.test_cli_e2e import oid
from tests.e2e.test_cli_e2e import write_config

pytestmark = pytest.mark.e2e

KEY = Vault.generate_key()


@pytest.fixture
def admin(mock: str) -> Admin:  # noqa: F811
    admin = Admin(mock)
    admin.call("POST", "/fixture?mode=replace", FIXTURE)
    return admin


@pytest.fixture
def run(admin: Admin, mock: str, tmp_path: Path) -> Cli:  # noqa: F811
    runner = Cli(write_config(tmp_path, mock, "scim"))
    runner.env["CONNECTOR_SECRET_KEYS"] = KEY
    return runner


@pytest.fixture
def hooked(run: Cli) -> Iterator[tuple[Cli, SinkServer, str]]:
    """A webhook endpoint of the organization, posting to a sink on this host (allowed)."""
    with SinkServer(Sink("whsec_" + "A" * 43)) as server:  # a placeholder until the real secret
        added = run.json("webhooks", "add", server.url, "--allow-http", "--allow-private")
        server.sink.webhook = Webhook(added["secret"])  # the sink verifies with the secret shown once
        yield run, server, added["webhook"]["endpoint_id"]


def all_events(run: Cli) -> list[dict[str, Any]]:
    found, after = [], None
    while True:
        page = run.json("events", "list", "--limit", "1000", *(["--after", after] if after else []))
        if not page["events"]:
            return found
        found += page["events"]
        after = page["next_after"]


def deliver_until_done(run: Cli, *args: str, rounds: int = 40) -> None:
    """``deliver --once`` until a pass posts and fails nothing and no retry is pending."""
    for _ in range(rounds):
        done = run.json("deliver", "--once", *args)
        pending = [w for w in run.json("webhooks", "list")["webhooks"] if w["attempts"]]
        if not (done["delivered"] or done["failed"] or pending):
            return
        time.sleep(0.05)
    raise AssertionError("delivery did not settle")


def test_a_sync_writes_the_plans_events_and_the_sink_gets_them_signed_in_order(
    hooked: tuple[Cli, SinkServer, str], admin: Admin
) -> None:
    run, server, _ = hooked
    report = run.sync()
    events = all_events(run)
    by_type = Counter(e["type"] for e in events)
    changes = Counter({t: n for t, n in by_type.items() if not t.startswith(("access.", "conflict."))})
    assert changes == Counter({**expected_counts(report["counts"]), ev.SYNC_COMPLETED: 1})
    assert by_type[ev.CONFLICT_OPENED] == len(report["conflicts"]) == 2  # dup1 and dup2
    # confluence is granted to Everyone: each new active account in it gained it
    assert by_type[ev.ACCESS_GRANTED] >= report["counts"]["create_account"]
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)

    deliver_until_done(run)
    received = server.sink.received
    assert all(r["verified"] for r in received) and len(received) == len(events)
    assert [r["webhook_id"] for r in received] == [e["id"] for e in events]
    assert [r["event"] for r in received] == events  # the body is the event as the pull API gives it

    admin.deactivate("eng12")
    again = run.sync()
    later = all_events(run)[len(events) :]
    assert Counter(e["type"] for e in later if not e["type"].startswith("access.")) == Counter(
        {**expected_counts(again["counts"]), ev.SYNC_COMPLETED: 1}
    )
    [gone] = [e for e in later if e["type"] == ev.ACCOUNT_DEACTIVATED]
    assert gone["data"]["account"]["email"] == "eng12@example.com"
    assert gone["data"]["identity"]["idp_user_id"] == oid("eng12")
    deliver_until_done(run)
    assert server.sink.delivered_ids() == [e["id"] for e in all_events(run)]


def test_faults_are_retried_with_the_same_id_and_nothing_is_lost_or_reordered(
    hooked: tuple[Cli, SinkServer, str],
) -> None:
    run, server, endpoint = hooked
    run.sync()
    events = [e["id"] for e in all_events(run)]
    server.sink.hang, server.sink.slow = 2.0, 0.2
    server.sink.faults = ["500", "timeout", "close", "slow", "503", "close"]
    deliver_until_done(run, "--retry-steps", "0,0,0,0,0,0,0,0", "--timeout", "1")
    received = server.sink.received
    assert server.sink.delivered_ids() == events  # each once, in order
    first = received[0]["webhook_id"]
    assert [r["webhook_id"] for r in received[:4]] == [first] * 4  # 500, timeout, close, then slow: taken
    assert [r["fault"] for r in received[:6]] == ["500", "timeout", "close", "slow", "503", "close"]
    assert received[4]["webhook_id"] == received[5]["webhook_id"] == received[6]["webhook_id"] == events[1]
    assert all(r["verified"] for r in received)
    assert run.json("webhooks", "dead-letters")["dead_letters"] == []
    assert run.json("webhooks", "list")["webhooks"][0]["position"] == events[-1]
    del endpoint


def test_after_the_last_retry_an_event_is_dead_lettered_and_replay_posts_it_again(
    hooked: tuple[Cli, SinkServer, str],
) -> None:
    run, server, endpoint = hooked
    run.sync()
    events = [e["id"] for e in all_events(run)]
    server.sink.faults = ["500", "500", "500"]
    deliver_until_done(run, "--retry-steps", "0,0")
    [dead] = run.json("webhooks", "dead-letters")["dead_letters"]
    assert (dead["event_id"], dead["attempts"]) == (events[0], 3)
    assert server.sink.delivered_ids() == events[1:]  # the others went on, in order
    run.run("webhooks", "replay", endpoint, "--from", events[0])
    deliver_until_done(run)
    assert server.sink.delivered_ids() == events[1:] + events


def test_the_test_command_posts_a_signed_test_event(hooked: tuple[Cli, SinkServer, str]) -> None:
    run, server, endpoint = hooked
    done = run.json("webhooks", "test", endpoint)["test"]
    assert done["delivered"] and done["status"] == 204
    [got] = server.sink.received
    assert got["verified"] and got["event"]["type"] == "webhook.test"
    server.sink.faults = ["500"]
    assert run.json("webhooks", "test", endpoint, code=1)["test"]["status"] == 500


def test_the_secret_is_shown_once_stored_sealed_and_removed_with_its_endpoint(
    hooked: tuple[Cli, SinkServer, str],
) -> None:
    run, server, _ = hooked
    listed = run.run("webhooks", "list", "--json").stdout
    secret = server.sink.webhook._whsecret
    assert "whsec_" not in listed and "secret" not in json.loads(listed)["webhooks"][0]
    assert secret
    [endpoint] = json.loads(listed)["webhooks"]
    run.run("webhooks", "remove", endpoint["endpoint_id"])
    assert run.json("webhooks", "list")["webhooks"] == []
    assert "no webhook endpoint" in run.run("webhooks", "remove", endpoint["endpoint_id"], code=2).stderr
    refused = run.run("webhooks", "add", "http://127.0.0.1:9/hooks", code=2).stderr
    assert "must be https" in refused
    refused = run.run("webhooks", "add", "https://127.0.0.1:9/hooks", code=2).stderr
    assert "loopback" in refused and "public hosts only" in refused


@pytest.mark.slow
def test_kill_9_of_the_deliverer_mid_batch_then_a_restart_delivers_every_event(
    hooked: tuple[Cli, SinkServer, str], tmp_path: Path
) -> None:
    run, server, _ = hooked
    run.sync()
    events = [e["id"] for e in all_events(run)]
    assert len(events) > 40
    server.sink.slow = 0.05
    server.sink.faults = ["slow"] * len(events)  # every post takes a while: the kill lands mid-batch
    command = [
        sys.executable,
        "-m",
        "connector",
        "--config",
        str(run.config),
        "deliver",
        "--lease-seconds",
        "1",
    ]
    env = {**os.environ, **run.env}
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        deadline = time.monotonic() + 60
        while len(server.sink.received) < 15 and time.monotonic() < deadline:
            time.sleep(0.01)
        child.send_signal(signal.SIGKILL)
        assert child.wait(30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(30)
    taken = server.sink.delivered_ids()
    assert 15 <= len(taken) < len(events)  # killed mid-batch
    time.sleep(1.2)  # its lease runs out
    deliver_until_done(run)
    got = server.sink.delivered_ids()
    assert set(got) == set(events)
    first_seen = list(dict.fromkeys(got))
    assert first_seen == events  # in order
    assert len(got) - len(events) <= 1  # at most the post in flight when it was killed, again


def test_events_key_prune_and_an_expired_cursor_through_the_cli(run: Cli) -> None:
    run.sync()
    key = run.run("events", "key").stdout.strip()
    assert key.startswith("idpe_default_")
    assert run.json("events", "prune", "--retention-days", "30") == {"version": 1, "pruned": 0}
    events = all_events(run)
    with Connector.from_file(run.config) as connector:
        assert connector.events(limit=1000) == events  # the Python API answers what the CLI does
        assert connector.store.check_api_key(key)
        connector.store.prune_events(timedelta(days=1), now=datetime.now(timezone.utc) + timedelta(days=2))
    expired = run.run("events", "list", "--after", events[0]["id"], code=10)
    assert "cursor expired, resync" in expired.stderr
    assert run.json("events", "list", "--after", events[-1]["id"])["events"] == []


def test_the_delivery_loop_stops_cleanly_on_sigterm(hooked: tuple[Cli, SinkServer, str]) -> None:
    run, server, _ = hooked
    run.sync()
    command = [sys.executable, "-m", "connector", "--config", str(run.config), "deliver", "--interval", "0.1"]
    child = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **run.env}
    )
    try:
        deadline = time.monotonic() + 60
        while len(server.sink.delivered_ids()) < len(all_events(run)) and time.monotonic() < deadline:
            time.sleep(0.05)
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(30)
    assert child.returncode == 0, err
    assert f"delivered {len(all_events(run))}, failed 0, dead-lettered 0" in out
    assert "whsec_" not in out + err
