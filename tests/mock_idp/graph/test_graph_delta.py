"""Graph delta queries and Graph auth failures."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta
from datetime import timezone
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
from flask import Flask

from mock_idp.context import MockIdp
from mock_idp.graph import views as graph
from mock_idp.state.directory import ApiToken
from mock_idp.state.directory import Directory


@pytest.fixture
def clock_start() -> datetime:
    return datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)


@pytest.fixture
def directory(clock) -> Directory:  # type: ignore[no-untyped-def]
    d = Directory(seed=3, clock=clock)
    for i in range(5):
        d.add_user(f"u{i}@contoso.com", email=f"u{i}@contoso.com", given_name=f"U{i}", family_name="X")
    team = d.add_group("Team")
    for user in list(d.users_snapshot())[:3]:
        d.add_member(team.object_id, user.object_id)
    d.add_group("Empty")
    return d


@pytest.fixture
def app(blueprint_app) -> Flask:  # type: ignore[no-untyped-def]
    return blueprint_app(graph.blueprint)


@pytest.fixture
def client(app: Flask, directory: Directory, client_for):  # type: ignore[no-untyped-def]
    token = directory.issue_token("app", "graph", ["Directory.Read.All"], lifetime=30 * 24 * 3600).token
    return client_for(app, f"Bearer {token}")


def round_trip(client, url: str, page_size: int = 2) -> tuple[list[dict], str]:  # type: ignore[no-untyped-def]
    """All items of one delta round and its deltaLink."""
    items: list[dict] = []
    headers = {"Prefer": f"odata.maxpagesize={page_size}"}
    while True:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        items.extend(body["value"])
        if "@odata.deltaLink" in body:
            assert "@odata.nextLink" not in body
            return items, body["@odata.deltaLink"]
        url = body["@odata.nextLink"]
        assert "$skiptoken=" in url


@pytest.mark.parametrize("name", ["delta", "delta()", "microsoft.graph.delta", "microsoft.graph.delta()"])
def test_delta_routes(client, name: str) -> None:
    items, link = round_trip(client, f"/v1.0/users/{name}")
    assert len(items) == 5
    assert link.startswith("http://localhost/v1.0/users/delta?$deltatoken=")


def test_user_delta_sequence(client, directory: Directory) -> None:
    items, link = round_trip(client, "/v1.0/users/delta?$select=displayName,accountEnabled")
    assert len(items) == 5 and set(items[0]) == {"id", "displayName", "accountEnabled"}

    items, link = round_trip(client, link)
    assert items == []  # nothing changed: empty value, yet a deltaLink

    users = list(directory.users_snapshot())
    directory.set_status(users[1].object_id, "SUSPENDED")
    directory.delete_user(users[2].object_id)
    new = directory.add_user("new@contoso.com", given_name="New")
    items, link = round_trip(client, link)
    assert items == [
        {"id": users[1].object_id, "displayName": "U1 X", "accountEnabled": False},
        {"id": users[2].object_id, "@removed": {"reason": "deleted"}},
        {"id": new.object_id, "displayName": "New", "accountEnabled": True},
    ]
    items, _ = round_trip(client, link)
    assert items == []


def test_changes_during_a_round_wait_for_the_next(client, directory: Directory) -> None:
    response = client.get("/v1.0/users/delta", headers={"Prefer": "odata.maxpagesize=2"}).get_json()
    late = directory.add_user("late@contoso.com")
    items, link = round_trip(client, response["@odata.nextLink"])
    items, _ = round_trip(client, link)
    assert [i["id"] for i in items] == [late.object_id]


def test_deletions_during_the_initial_round_skip_nobody(client, directory: Directory) -> None:
    first = client.get("/v1.0/users/delta", headers={"Prefer": "odata.maxpagesize=2"}).get_json()
    for item in first["value"]:
        directory.delete_user(item["id"])
    rest, link = round_trip(client, first["@odata.nextLink"])
    survivors = {u.object_id for u in directory.users_snapshot()}
    assert {i["id"] for i in rest} == survivors
    removed, _ = round_trip(client, link)
    assert sorted(i["id"] for i in removed) == sorted(i["id"] for i in first["value"])
    assert all(i["@removed"] == {"reason": "deleted"} for i in removed)


def test_group_delta_members(client, directory: Directory) -> None:
    items, link = round_trip(client, "/v1.0/groups/delta", page_size=10)
    team = next(i for i in items if i["displayName"] == "Team")
    users = list(directory.users_snapshot())
    assert team["members@delta"] == [
        {"@odata.type": "#microsoft.graph.user", "id": u.object_id} for u in users[:3]
    ]
    assert next(i for i in items if i["displayName"] == "Empty")["members@delta"] == []

    directory.remove_member(team["id"], users[0].object_id)
    directory.add_member(team["id"], users[4].object_id)
    items, link = round_trip(client, link)
    assert len(items) == 1 and items[0]["id"] == team["id"]
    assert items[0]["members@delta"] == [
        {"@odata.type": "#microsoft.graph.user", "id": users[0].object_id, "@removed": {"reason": "deleted"}},
        {"@odata.type": "#microsoft.graph.user", "id": users[4].object_id},
    ]

    directory.delete_user(users[1].object_id)  # leaves the group as a removal
    empty = next(x for x in directory.groups_snapshot() if x.name == "Empty")
    directory.delete_group(empty.object_id)
    items, _ = round_trip(client, link)
    assert items[0]["members@delta"] == [
        {"@odata.type": "#microsoft.graph.user", "id": users[1].object_id, "@removed": {"reason": "deleted"}}
    ]
    assert items[1] == {"id": empty.object_id, "@removed": {"reason": "deleted"}}


def test_group_delta_with_select_leaves_members_out_unless_asked(client) -> None:
    items, _ = round_trip(client, "/v1.0/groups/delta?$select=displayName", page_size=10)
    assert all("members@delta" not in i for i in items)
    items, _ = round_trip(client, "/v1.0/groups/delta?$select=displayName,members", page_size=10)
    assert all("members@delta" in i for i in items)


def test_delta_scoped_by_id_filter(client, directory: Directory) -> None:
    users = list(directory.users_snapshot())
    url = f"/v1.0/users/delta?$filter=id eq '{users[0].object_id}' or id eq '{users[3].object_id}'"
    items, link = round_trip(client, url)
    assert sorted(i["id"] for i in items) == sorted([users[0].object_id, users[3].object_id])
    directory.update_user(users[1].object_id, title="x")
    directory.update_user(users[3].object_id, title="y")
    items, _ = round_trip(client, link)
    assert [i["id"] for i in items] == [users[3].object_id]
    assert client.get("/v1.0/users/delta?$filter=mail eq 'x'").status_code == 400


def test_latest_token_gives_just_a_delta_link(client, directory: Directory) -> None:
    body = client.get("/v1.0/users/delta?$deltatoken=latest").get_json()
    assert body["value"] == [] and "@odata.deltaLink" in body
    user = directory.add_user("after@contoso.com")
    items, _ = round_trip(client, body["@odata.deltaLink"])
    assert [i["id"] for i in items] == [user.object_id]


@pytest.mark.parametrize("token", ["garbage", "eyJrIjoidXNlcnMifQ.AAAA", "a.b.c"])
def test_garbled_token_is_sync_state_not_found(client, token: str) -> None:
    response = client.get(f"/v1.0/users/delta?$deltatoken={token}")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "syncStateNotFound"


def test_token_of_the_other_kind_or_directory_is_refused(client, app: Flask) -> None:
    _, link = round_trip(client, "/v1.0/users/delta")
    token = parse_qs(urlsplit(link).query)["$deltatoken"][0]
    response = client.get(f"/v1.0/groups/delta?$deltatoken={token}")
    assert response.get_json()["error"]["code"] == "syncStateNotFound"
    other = Directory(seed=99)
    other_app = Flask("other")
    other_app.register_blueprint(graph.blueprint)
    other_app.extensions["mock_idp"] = MockIdp(other, admin_token="x")
    bearer = other.issue_token("app", "graph", ["User.Read.All"]).token
    response = other_app.test_client().get(link, headers={"Authorization": f"Bearer {bearer}"})
    assert response.status_code == 400


def test_expired_token_is_gone_with_location(client, clock) -> None:  # type: ignore[no-untyped-def]
    _, link = round_trip(client, "/v1.0/users/delta")
    clock.now += timedelta(days=7, seconds=1)
    response = client.get(link)
    assert response.status_code == 410
    assert response.get_json()["error"]["code"] == "resyncRequired"
    location = response.headers["Location"]
    assert location == "http://localhost/v1.0/users/delta?$deltatoken="
    items, _ = round_trip(client, location)  # the empty token starts a full sync
    assert len(items) == 5


def test_delta_refuses_top(client) -> None:
    response = client.get("/v1.0/users/delta?$top=5")
    assert response.get_json()["error"]["code"] == "Request_UnsupportedQuery"


# ---------------------------------------------------------------- auth


@pytest.fixture
def anonymous(app: Flask):  # type: ignore[no-untyped-def]
    return app.test_client()


def _refused(anonymous, headers: dict[str, str], status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    response = anonymous.get("/v1.0/users", headers=headers)
    assert response.status_code == status
    error = response.get_json()["error"]
    assert error["code"] == code
    assert set(error["innerError"]) == {"date", "request-id", "client-request-id"}
    assert response.headers["Content-Type"] == graph.CONTENT_TYPE


def test_missing_token(anonymous) -> None:
    _refused(anonymous, {}, 401, "InvalidAuthenticationToken")


def test_invalid_token(anonymous) -> None:
    _refused(anonymous, {"Authorization": "Bearer nope"}, 401, "InvalidAuthenticationToken")


def test_expired_token(anonymous, directory: Directory, clock) -> None:  # type: ignore[no-untyped-def]
    token = directory.issue_token("app", "graph", ["User.Read.All"], lifetime=60).token
    clock.now += timedelta(minutes=2)
    _refused(anonymous, {"Authorization": f"Bearer {token}"}, 401, "InvalidAuthenticationToken")


def test_wrong_scope(anonymous, directory: Directory) -> None:
    token = directory.issue_token("app", "graph", ["GroupMember.Read.All"]).token
    _refused(anonymous, {"Authorization": f"Bearer {token}"}, 403, "Authorization_RequestDenied")
    assert anonymous.get("/v1.0/groups", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_other_dialects_tokens(anonymous, directory: Directory) -> None:
    scim = directory.issue_token("app", "scim", ["scim.read"]).token
    _refused(anonymous, {"Authorization": f"Bearer {scim}"}, 401, "InvalidAuthenticationToken")
    directory.add_api_token(ApiToken("ssws-token", "okta"))
    _refused(anonymous, {"Authorization": "SSWS ssws-token"}, 401, "InvalidAuthenticationToken")
    _refused(anonymous, {"Authorization": "Bearer ssws-token"}, 401, "InvalidAuthenticationToken")
