"""The /_admin control plane: auth, every route, errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mock_idp.state.directory import Directory
from mock_idp.state.fixtures import SAMPLE_FIXTURE

UserJson = dict[str, Any]


@pytest.fixture
def sample() -> dict[str, Any]:
    return json.loads(SAMPLE_FIXTURE.read_text(encoding="utf-8"))


def current_directory(app: Flask) -> Directory:
    return app.extensions["mock_idp"].directory


def create_user(client: FlaskClient, headers: dict[str, str], **fields: Any) -> UserJson:
    response = client.post("/_admin/users", json=fields, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Basic test-admin-token"},
        {"Authorization": ""},
    ],
)
def test_every_route_needs_the_admin_token(client: FlaskClient, headers: dict[str, str]) -> None:
    for method, path in [("get", "/_admin/state"), ("post", "/_admin/reset"), ("delete", "/_admin/faults")]:
        response = getattr(client, method)(path, headers=headers)
        assert response.status_code == 401
        assert response.get_json()["error"] == "unauthorized"
        assert "Bearer" in response.headers["WWW-Authenticate"]


def test_state_counts(client: FlaskClient, admin_headers: dict[str, str], directory: Directory) -> None:
    body = client.get("/_admin/state", headers=admin_headers).get_json()
    assert body["users"] == len(directory.users) and body["groups"] == len(directory.groups)
    assert body["memberships"] == sum(len(g.user_ids) + len(g.group_ids) for g in directory.groups.values())
    assert body["last_seq"] == directory.last_seq
    assert body["clients"] == 3 and body["api_tokens"] == 2  # the seed's default credentials
    assert body["faults"] == [] and body["tenant"]["id"] == directory.tenant_id


def test_create_get_and_find_a_user(client: FlaskClient, admin_headers: dict[str, str]) -> None:
    user = create_user(
        client,
        admin_headers,
        user_name="New.Person@example.com",
        email="new.person@example.com",
        given_name="New",
    )
    assert user["status"] == "ACTIVE" and user["active"] is True and "password" not in user
    by_id = client.get(f"/_admin/users/{user['id']}", headers=admin_headers).get_json()
    by_okta = client.get(f"/_admin/users/{user['okta_id']}", headers=admin_headers).get_json()
    assert by_id == by_okta
    found = client.get("/_admin/users?user_name=new.person@EXAMPLE.com", headers=admin_headers).get_json()
    assert [u["id"] for u in found["users"]] == [user["id"]]
    none = client.get("/_admin/users?user_name=nobody@example.com", headers=admin_headers).get_json()
    assert none == {"users": []}
    everyone = client.get("/_admin/users", headers=admin_headers).get_json()["users"]
    assert len(everyone) == 41


def test_create_user_errors(client: FlaskClient, admin_headers: dict[str, str]) -> None:
    create_user(client, admin_headers, user_name="dup@example.com")
    conflict = client.post("/_admin/users", json={"user_name": "DUP@example.com"}, headers=admin_headers)
    assert conflict.status_code == 409 and conflict.get_json()["error"] == "conflict"
    bad = client.post(
        "/_admin/users", json={"user_name": "x@example.com", "status": "ACTIV"}, headers=admin_headers
    )
    assert bad.status_code == 400 and "user.status: unknown status 'ACTIV'" in bad.get_json()["detail"]
    missing = client.post("/_admin/users", json={"email": "x@example.com"}, headers=admin_headers)
    assert missing.status_code == 400 and "user.user_name: is required" in missing.get_json()["detail"]
    not_json = client.post(
        "/_admin/users", data="{oops", headers=admin_headers, content_type="application/json"
    )
    assert not_json.status_code == 400 and not_json.get_json()["detail"] == "the request body must be JSON"


def test_change_an_email_and_other_fields(
    app: Flask, client: FlaskClient, admin_headers: dict[str, str]
) -> None:
    user = create_user(client, admin_headers, user_name="mover@example.com", email="mover@example.com")
    seq = current_directory(app).last_seq
    response = client.patch(
        f"/_admin/users/{user['okta_id']}",
        json={"email": "Mover@New.example", "title": "Lead"},
        headers=admin_headers,
    )
    body = response.get_json()
    assert response.status_code == 200 and body["email"] == "Mover@New.example" and body["title"] == "Lead"
    assert body["version"] == 2
    assert [(c.kind, c.op) for c in current_directory(app).changes_since(seq)] == [("user", "updated")]
    assert client.patch(f"/_admin/users/{user['id']}", json={}, headers=admin_headers).status_code == 400
    refused = client.patch(f"/_admin/users/{user['id']}", json={"okta_id": "00u1"}, headers=admin_headers)
    assert refused.status_code == 400 and "unknown key" in refused.get_json()["detail"]


def test_deactivate_and_activate(client: FlaskClient, admin_headers: dict[str, str]) -> None:
    user = create_user(client, admin_headers, user_name="leaver@example.com")
    gone = client.post(f"/_admin/users/{user['id']}/deactivate", headers=admin_headers).get_json()
    assert gone["status"] == "DEPROVISIONED" and gone["active"] is False
    suspended = client.post(
        f"/_admin/users/{user['id']}/deactivate", json={"status": "SUSPENDED"}, headers=admin_headers
    ).get_json()
    assert suspended["status"] == "SUSPENDED"
    wrong = client.post(
        f"/_admin/users/{user['id']}/deactivate", json={"status": "ACTIVE"}, headers=admin_headers
    )
    assert wrong.status_code == 400
    back = client.post(f"/_admin/users/{user['id']}/activate", headers=admin_headers).get_json()
    assert back["status"] == "ACTIVE" and back["active"] is True


def test_delete_a_user(client: FlaskClient, admin_headers: dict[str, str]) -> None:
    user = create_user(client, admin_headers, user_name="temp@example.com")
    assert client.delete(f"/_admin/users/{user['id']}", headers=admin_headers).status_code == 204
    missing = client.delete(f"/_admin/users/{user['id']}", headers=admin_headers)
    assert missing.status_code == 404 and missing.get_json()["error"] == "not_found"
    assert client.get("/_admin/users/00uNOPE", headers=admin_headers).status_code == 404


def test_groups_and_memberships(app: Flask, client: FlaskClient, admin_headers: dict[str, str]) -> None:
    user = create_user(client, admin_headers, user_name="joiner@example.com")
    made = client.post(
        "/_admin/groups", json={"name": "Ops", "description": "On call"}, headers=admin_headers
    )
    assert made.status_code == 201
    group = made.get_json()
    child = client.post("/_admin/groups", json={"name": "Ops Leads"}, headers=admin_headers).get_json()
    add = client.post(f"/_admin/groups/{group['okta_id']}/members/{user['okta_id']}", headers=admin_headers)
    assert add.status_code == 201 and add.get_json()["members"] == [user["id"]]
    again = client.post(f"/_admin/groups/{group['id']}/members/{user['id']}", headers=admin_headers)
    assert again.status_code == 200
    nest = client.post(
        f"/_admin/groups/{group['id']}/members/{child['id']}?kind=group", headers=admin_headers
    )
    assert nest.status_code == 201 and nest.get_json()["groups"] == [child["id"]]
    bad_kind = client.post(
        f"/_admin/groups/{group['id']}/members/{user['id']}?kind=robot", headers=admin_headers
    )
    assert bad_kind.status_code == 400
    removed = client.delete(f"/_admin/groups/{group['id']}/members/{user['id']}", headers=admin_headers)
    assert removed.status_code == 204
    not_member = client.delete(f"/_admin/groups/{group['id']}/members/{user['id']}", headers=admin_headers)
    assert not_member.status_code == 404
    renamed = client.patch(
        f"/_admin/groups/{group['id']}", json={"name": "Operations"}, headers=admin_headers
    )
    assert renamed.get_json()["name"] == "Operations"
    listed = client.get("/_admin/groups?name=operations", headers=admin_headers).get_json()["groups"]
    assert [g["id"] for g in listed] == [group["id"]]
    assert client.get(f"/_admin/groups/{child['okta_id']}", headers=admin_headers).status_code == 200
    assert client.delete(f"/_admin/groups/{child['id']}", headers=admin_headers).status_code == 204
    assert current_directory(app).group(group["id"]).group_ids == {}
    assert client.post("/_admin/groups", json={"name": ""}, headers=admin_headers).status_code == 400


def test_reset_keeps_credentials(app: Flask, client: FlaskClient, admin_headers: dict[str, str]) -> None:
    old = current_directory(app)
    body = client.post("/_admin/reset", headers=admin_headers).get_json()
    assert body["users"] == 0 and body["groups"] == 0 and body["last_seq"] == 0
    fresh = current_directory(app)
    assert fresh is not old and fresh.tenant_id == old.tenant_id
    assert fresh.clients.keys() == old.clients.keys() and fresh.api_tokens.keys() == old.api_tokens.keys()


def test_reset_can_regenerate(client: FlaskClient, admin_headers: dict[str, str]) -> None:
    body = client.post(
        "/_admin/reset", json={"users": 25, "groups": 4, "seed": 3}, headers=admin_headers
    ).get_json()
    assert (body["users"], body["groups"], body["tenant"]["seed"]) == (25, 4, 3)
    bad = client.post("/_admin/reset", json={"users": -1}, headers=admin_headers)
    assert bad.status_code == 400


def test_load_fixture_replaces(
    app: Flask, client: FlaskClient, admin_headers: dict[str, str], sample: dict[str, Any]
) -> None:
    body = client.post("/_admin/fixture", json=sample, headers=admin_headers).get_json()
    assert body["users"] == len(sample["users"]) and body["tenant"]["id"] == sample["tenant"]["id"]
    assert "0oasample0kta0client" in current_directory(app).clients


def test_load_fixture_without_credentials_keeps_the_old_ones(
    app: Flask, client: FlaskClient, admin_headers: dict[str, str], sample: dict[str, Any]
) -> None:
    before = set(current_directory(app).clients)
    sample.pop("clients")
    sample.pop("api_tokens")
    client.post("/_admin/fixture", json=sample, headers=admin_headers)
    assert set(current_directory(app).clients) == before


def test_load_fixture_without_a_tenant_keeps_the_running_one(
    app: Flask, client: FlaskClient, admin_headers: dict[str, str], sample: dict[str, Any]
) -> None:
    tenant_id = current_directory(app).tenant_id
    sample.pop("tenant")
    body = client.post("/_admin/fixture", json=sample, headers=admin_headers).get_json()
    assert body["tenant"]["id"] == tenant_id and body["users"] == len(sample["users"])
    not_an_object = client.post("/_admin/fixture", json=[sample], headers=admin_headers)
    assert not_an_object.status_code == 400
    assert not_an_object.get_json()["detail"] == "a fixture must be a JSON object"


def test_load_fixture_is_all_or_nothing(
    app: Flask, client: FlaskClient, admin_headers: dict[str, str], sample: dict[str, Any]
) -> None:
    before = current_directory(app)
    sample["users"][3]["status"] = "ACTIV"
    response = client.post("/_admin/fixture", json=sample, headers=admin_headers)
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "invalid"
    assert body["detail"].startswith(
        "users[3].status: unknown status 'ACTIV'; one of STAGED, PROVISIONED, ACTIVE"
    )
    assert current_directory(app) is before
    merge = client.post("/_admin/fixture?mode=merge", json=sample, headers=admin_headers)
    assert merge.status_code == 400 and len(before.users) == 40


def test_load_fixture_merge(
    app: Flask, client: FlaskClient, admin_headers: dict[str, str], sample: dict[str, Any]
) -> None:
    sample.pop("clients")
    body = client.post("/_admin/fixture?mode=merge", json=sample, headers=admin_headers).get_json()
    assert body["users"] == 40 + len(sample["users"])
    assert client.post("/_admin/fixture?mode=blend", json=sample, headers=admin_headers).status_code == 400


def test_faults_add_list_and_clear(client: FlaskClient, admin_headers: dict[str, str]) -> None:
    added = client.post(
        "/_admin/faults", json={"kind": "status", "status": 502, "count": 3}, headers=admin_headers
    )
    assert added.status_code == 201
    many = [{"kind": "latency", "latency_ms": 1}, {"kind": "truncate", "dialect": "scim"}]
    assert client.post("/_admin/faults", json=many, headers=admin_headers).status_code == 201
    listed = client.get("/_admin/faults", headers=admin_headers).get_json()["faults"]
    assert [f["kind"] for f in listed] == ["status", "latency", "truncate"]
    assert client.get("/_admin/state", headers=admin_headers).get_json()["faults"] == listed
    mixed = [{"kind": "drop"}, {"kind": "nope"}]
    refused = client.post("/_admin/faults", json=mixed, headers=admin_headers)
    assert refused.status_code == 400 and "unknown fault kind 'nope'" in refused.get_json()["detail"]
    assert len(client.get("/_admin/faults", headers=admin_headers).get_json()["faults"]) == 3
    assert client.delete("/_admin/faults", headers=admin_headers).status_code == 204
    assert client.get("/_admin/faults", headers=admin_headers).get_json() == {"faults": []}


def test_rate_limits_at_run_time(client: FlaskClient, admin_headers: dict[str, str]) -> None:
    response = client.put("/_admin/rate-limits", json={"okta": 2, "okta:users": 1}, headers=admin_headers)
    assert response.status_code == 200 and response.get_json()["limits"] == {"okta": 2, "okta:users": 1}
    assert [client.get("/api/v1/ping").status_code for _ in range(3)] == [200, 200, 429]
    assert client.put("/_admin/rate-limits", json={"okta": "many"}, headers=admin_headers).status_code == 400
    assert client.put("/_admin/rate-limits", json=[1], headers=admin_headers).status_code == 400
    client.put("/_admin/rate-limits", json={"okta": None}, headers=admin_headers)
    assert client.get("/api/v1/ping").status_code == 200
