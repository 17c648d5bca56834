"""A push request waits for its organization's other run, then answers 503 with Retry-After."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from connector.store import Store
from tests.push.conftest import BASE
from tests.push.conftest import USER_SCHEMA
from tests.push.conftest import new_user


def test_a_request_waits_for_the_organization_then_is_told_to_retry(
    client: FlaskClient, acme: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("connector.push.changes.LOCK_WAIT_SECONDS", 0.2)
    body = {"schemas": [USER_SCHEMA], "userName": "late@example.com", "active": True}
    with acme.writing_run("a-pull-directory"):  # another directory of acme is syncing
        answer = client.post(f"{BASE}/Users", json=body)
        assert answer.status_code == 503
        assert answer.headers["Retry-After"] == "10"
        assert "busy with another run" in answer.get_json()["detail"]
        assert (
            client.get(f'{BASE}/Users?filter=userName eq "late@example.com"').get_json()["totalResults"] == 0
        )
    created = new_user(client, "late@example.com")  # the IdP's retry
    assert created["userName"] == "late@example.com"
