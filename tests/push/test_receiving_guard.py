"""The receiving guard: deactivations beyond the guard within its window are answered with
success, staged, and decided by an admin; a staged account keeps its access until approved."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from connector.model import AccountStatus
from connector.push import create_app
from connector.push import staging
from connector.store import Store
from connector.store.registry import OrganizationEntry
from tests.push.conftest import BASE
from tests.push.conftest import GROUP_SCHEMA
from tests.push.conftest import add_push_directory
from tests.push.conftest import new_user
from tests.push.conftest import patch

GUARD = {"min_deactivations": 2, "max_deactivations": 3, "max_deactivation_ratio": 1.0, "window_seconds": 600}


@pytest.fixture
def guarded(store: Store) -> Iterator[Store]:
    store.save_organization(
        OrganizationEntry(
            "acme",
            "Acme",
            ("example.com",),
            product_grants={"jira": ("Engineering",)},
            settings={"guard": GUARD},
        )
    )
    scoped = store.for_org("acme")
    yield scoped
    scoped.close()


@pytest.fixture
def guarded_client(store: Store, guarded: Store) -> FlaskClient:
    token = add_push_directory(store, "acme", "okta-push")
    app: Flask = create_app(guarded)
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def _status(store: Store, user_id: str) -> AccountStatus:
    (link,) = [x for x in store.links("okta-push") if x.idp_user_id == user_id]
    account = store.account(link.account_id)
    assert account is not None
    return account.status


def _deactivate(client: FlaskClient, user_id: str) -> None:
    body = patch({"op": "Replace", "path": "active", "value": "False"})  # Entra's form
    answer = client.patch(f"{BASE}/Users/{user_id}", json=body)
    assert answer.status_code == 200 and answer.get_json()["active"] is False


def test_deactivations_beyond_the_window_are_staged_then_decided(
    guarded_client: FlaskClient, guarded: Store
) -> None:
    client = guarded_client
    users = [new_user(client, f"u{i}@example.com")["id"] for i in range(8)]
    group = client.post(
        f"{BASE}/Groups",
        json={
            "schemas": [GROUP_SCHEMA],
            "displayName": "Engineering",
            "members": [{"value": u} for u in users],
        },
    ).get_json()
    assert group["displayName"] == "Engineering"
    for user_id in users[:5]:
        _deactivate(client, user_id)
    assert client.delete(f"{BASE}/Users/{users[5]}").status_code == 204
    # the first three pass (3 is not beyond max_deactivations 3); the rest are held
    assert [_status(guarded, u) for u in users[:3]] == [AccountStatus.DEACTIVATED] * 3
    assert [_status(guarded, u) for u in users[3:6]] == [AccountStatus.ACTIVE] * 3
    held = guarded.staged("okta-push")
    assert [(s.idp_user_id, s.state) for s in held] == [(u, "staged") for u in users[3:6]]
    assert "beyond the guard" in held[0].reason
    # the IdP sees what it sent; the held accounts keep their product
    assert client.get(f"{BASE}/Users/{users[3]}").get_json()["active"] is False
    assert client.get(f"{BASE}/Users/{users[5]}").status_code == 404
    billed = {a.account_id for a in guarded.accounts() if a.status is AccountStatus.ACTIVE}
    assert {m.account_id for m in guarded.memberships()} >= billed
    entry = guarded.directory_entry("acme", "okta-push")
    assert entry is not None
    # approve one PATCHed and the DELETEd one: deactivated now; reject one: kept active
    decided = staging.approve(guarded, entry, [users[3], users[5]])
    assert decided == staging.Decision(2, 2)
    assert _status(guarded, users[3]) is AccountStatus.DEACTIVATED
    assert _status(guarded, users[5]) is AccountStatus.DEACTIVATED
    assert staging.reject(guarded, entry, [users[4]]) == staging.Decision(1, 0)
    assert _status(guarded, users[4]) is AccountStatus.ACTIVE
    assert [(s.idp_user_id, s.state) for s in guarded.staged("okta-push")] == [(users[4], "rejected")]
    # a later request reaching the rejected identity keeps it held
    body = patch({"op": "replace", "path": "displayName", "value": "Still Out"})
    assert client.patch(f"{BASE}/Users/{users[4]}", json=body).status_code == 200
    assert _status(guarded, users[4]) is AccountStatus.ACTIVE
    # the IdP reports the user active again: the row goes
    body = patch({"op": "replace", "path": "active", "value": True})
    assert client.patch(f"{BASE}/Users/{users[4]}", json=body).status_code == 200
    assert guarded.staged("okta-push") == []
    assert _status(guarded, users[4]) is AccountStatus.ACTIVE


def test_an_approved_user_the_idp_reactivated_meanwhile_stays_active(
    guarded_client: FlaskClient, guarded: Store
) -> None:
    client = guarded_client
    users = [new_user(client, f"v{i}@example.com")["id"] for i in range(6)]
    for user_id in users[:5]:
        _deactivate(client, user_id)
    assert [s.idp_user_id for s in guarded.staged("okta-push")] == users[3:5]
    entry = guarded.directory_entry("acme", "okta-push")
    assert entry is not None
    guarded.reject_staged("okta-push", [])  # nothing named: nothing decided
    # approving everything held deactivates both
    assert staging.approve(guarded, entry) == staging.Decision(2, 2)
    assert guarded.staged("okta-push") == []
    assert [_status(guarded, u) for u in users[:5]] == [AccountStatus.DEACTIVATED] * 5
    assert staging.approve(guarded, entry) == staging.Decision(0, 0)


def test_a_window_that_has_passed_counts_nothing(
    guarded_client: FlaskClient, guarded: Store, store: Store
) -> None:
    store.save_organization(
        OrganizationEntry(
            "acme", "Acme", ("example.com",), settings={"guard": {**GUARD, "window_seconds": 0}}
        )
    )
    client = guarded_client
    users = [new_user(client, f"w{i}@example.com")["id"] for i in range(6)]
    for user_id in users:
        _deactivate(client, user_id)
    assert guarded.staged("okta-push") == []
    assert [_status(guarded, u) for u in users] == [AccountStatus.DEACTIVATED] * 6
