"""Events of a push: ``mock-idp push --as entra`` into ``idp-connector serve`` (both real
processes, as tests/e2e/test_push_e2e.py runs them) writes exactly the events its changes imply,
and ``idp-connector deliver`` posts them to the mock's webhook sink, signed, in order."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from connector.rules import events as ev
from connector.vault import Vault
from mock_idp.sink import Sink
from mock_idp.sink import SinkServer
from tests.e2e.test_push_e2e import Connector
from tests.e2e.test_push_e2e import connector  # noqa: F401  (fixture)
from tests.e2e.test_push_e2e import mock  # noqa: F401  (fixture)
from tests.e2e.test_push_e2e import push

pytestmark = pytest.mark.e2e


def every_event(served: Connector) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while True:
        after = ["--after", found[-1]["id"]] if found else []
        page = served.json("events", "list", "--org", "acme", "--limit", "1000", *after)["events"]
        if not page:
            return found
        found += page


def test_a_push_writes_the_events_of_its_changes_and_they_are_delivered(
    mock: str,  # noqa: F811
    connector: Connector,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CONNECTOR_SECRET_KEYS", Vault.generate_key())
    with SinkServer(Sink("whsec_" + "A" * 43)) as server:
        added = connector.json(
            "webhooks", "add", "--org", "acme", server.url, "--allow-http", "--allow-private"
        )
        server.sink.webhook = Webhook(added["secret"])
        report = push("entra", mock, connector, tmp_path / "push.json")
        assert report["failures"] == [], report
        events = every_event(connector)
        by_type = Counter(e["type"] for e in events)
        accounts = connector.json("accounts", "export", "--org", "acme")["accounts"]
        groups = [
            g for g in connector.json("groups", "--org", "acme")["groups"] if g["directory_id"] == "hook"
        ]
        # a first push into an empty store: every account and group it made has its event, once
        assert by_type[ev.ACCOUNT_CREATED] == len(accounts) > 0
        assert by_type[ev.GROUP_CREATED] == len(groups) > 0
        assert by_type[ev.MEMBERSHIP_ADDED] - by_type[ev.MEMBERSHIP_REMOVED] == sum(
            g["members"] for g in groups
        )
        created = {e["data"]["account"]["email"] for e in events if e["type"] == ev.ACCOUNT_CREATED}
        assert created == {a["email"] for a in accounts}
        assert {e["directory"] for e in events if e["type"] != ev.CONFLICT_OPENED} == {"hook"}
        assert by_type[ev.CONFLICT_OPENED] == 1  # the second user of shared@example.com
        for _ in range(40):
            done = connector.json("deliver", "--org", "acme", "--once")
            if not (done["delivered"] or done["failed"]):
                break
        assert all(r["verified"] for r in server.sink.received)
        assert server.sink.delivered_ids() == [e["id"] for e in events]
