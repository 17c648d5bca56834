"""Events of pushed requests, and GET /events on the served app with a per-organization API key."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from datetime import timedelta
from datetime import timezone

from flask import Flask
from flask.testing import FlaskClient

from connector.rules import events as ev
from connector.store import Store
from connector.store.registry import OrganizationEntry
from tests.push.conftest import BASE
from tests.push.conftest import GROUP_SCHEMA
from tests.push.conftest import new_user
from tests.push.conftest import patch


def _get(app: Flask, key: str | None, query: str = "") -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    answer = app.test_client().get(f"/events{query}", headers=headers)
    return answer.status_code, answer.get_json()


def test_each_pushed_request_writes_its_changes_events_and_its_end(client: FlaskClient, acme: Store) -> None:
    ann = new_user(client, "ann@example.com")
    group = client.post(f"{BASE}/Groups", json={"schemas": [GROUP_SCHEMA], "displayName": "Engineering"})
    add = {"op": "Add", "path": "members", "value": [{"value": ann["id"]}]}
    assert client.patch(f"{BASE}/Groups/{group.get_json()['id']}", json=patch(add)).status_code == 200
    found = acme.events(limit=1000)
    changes = Counter(e.type for e in found if e.type != ev.SYNC_COMPLETED)
    assert changes == Counter(
        {ev.ACCOUNT_CREATED: 1, ev.GROUP_CREATED: 1, ev.MEMBERSHIP_ADDED: 1, ev.ACCESS_GRANTED: 1}
    )
    assert [e.type for e in found].count(ev.SYNC_COMPLETED) == 3  # one per request that changed something
    [granted] = [e for e in found if e.type == ev.ACCESS_GRANTED]
    assert granted.data["product"] == "jira" and granted.data["account"]["email"] == "ann@example.com"
    assert {e.directory_id for e in found} == {"okta-push"}


def test_get_events_pages_with_a_key_of_the_organization(
    app: Flask, client: FlaskClient, acme: Store
) -> None:
    for n in range(3):
        new_user(client, f"user{n}@example.com")
    key = acme.issue_api_key()
    status, body = _get(app, key, "?limit=2")
    assert status == 200 and len(body["data"]) == 2
    everything = acme.events(limit=1000)
    assert [e["id"] for e in body["data"]] == [e.event_id for e in everything[:2]]
    status, rest = _get(app, key, f"?after={body['next_after']}&limit=1000")
    assert [e["id"] for e in rest["data"]] == [e.event_id for e in everything[2:]]
    status, created = _get(app, key, "?types=account.created")
    assert status == 200 and {e["type"] for e in created["data"]} == {"account.created"}
    assert created["data"][0]["organization"] == "acme" and created["data"][0]["data"]["account"]["email"]


def test_no_key_a_wrong_key_or_another_organizations_key_is_one_401(
    app: Flask, store: Store, acme: Store
) -> None:
    store.save_organization(OrganizationEntry("beta", "Beta", ("beta.example",)))
    beta = store.for_org("beta")
    beta_key = beta.issue_api_key()
    good = acme.issue_api_key()
    forged = good.replace("idpe_acme_", "idpe_beta_")
    for key in (None, "nonsense", "idpe_acme_0000000000000000_" + "A" * 43, forged, good[:-1] + "x"):
        status, body = _get(app, key)
        assert status == 401 and body == {
            "error": {"code": "unauthorized", "message": "a valid events API key is required"}
        }
    assert _get(app, beta_key)[0] == 200 and _get(app, good)[0] == 200
    assert acme.revoke_api_key(acme.api_key_ids()[0])
    assert _get(app, good)[0] == 401
    beta.close()


def test_bad_parameters_are_400_and_an_expired_cursor_410(
    app: Flask, client: FlaskClient, acme: Store
) -> None:
    new_user(client, "ann@example.com")
    key = acme.issue_api_key()
    for query in ("?limit=0", "?limit=1001", "?limit=x", "?types=nope", "?after=not-an-id"):
        status, body = _get(app, key, query)
        assert status == 400 and body["error"]["code"] == "invalid_request", query
    first = acme.events()[0].event_id
    new_user(client, "bob@example.com")
    acme.prune_events(timedelta(days=1), now=datetime.now(timezone.utc) + timedelta(days=2))
    status, body = _get(app, key, f"?after={first}")
    assert (
        status == 410 and body["error"]["code"] == "cursor_expired" and "resync" in body["error"]["message"]
    )
