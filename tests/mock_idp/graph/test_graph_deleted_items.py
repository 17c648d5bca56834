"""Entra's soft delete in the Graph dialect: deleted items, restore, permanent delete, and delta."""

from __future__ import annotations

from datetime import datetime
from datetime import timezone

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mock_idp.graph import views as graph
from mock_idp.state.directory import Directory
from mock_idp.state.directory import User

USER = "/directory/deletedItems/microsoft.graph.user"


@pytest.fixture
def clock_start() -> datetime:
    return datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)


@pytest.fixture
def directory(clock) -> Directory:  # type: ignore[no-untyped-def]
    d = Directory(seed=4, clock=clock)
    for i in range(4):
        d.add_user(f"u{i}@contoso.com", email=f"u{i}@contoso.com", given_name=f"U{i}", family_name="X")
    team = d.add_group("Team")
    for user in list(d.users_snapshot())[:2]:
        d.add_member(team.object_id, user.object_id)
    return d


@pytest.fixture
def app(blueprint_app) -> Flask:  # type: ignore[no-untyped-def]
    return blueprint_app(graph.blueprint)


@pytest.fixture
def client(app: Flask, directory: Directory, client_for) -> FlaskClient:  # type: ignore[no-untyped-def]
    token = directory.issue_token("app", "graph", ["User.Read.All", "GroupMember.Read.All"]).token
    return client_for(app, f"Bearer {token}")


@pytest.fixture
def writer(app: Flask, directory: Directory, client_for) -> FlaskClient:  # type: ignore[no-untyped-def]
    token = directory.issue_token("admin-app", "graph", ["User.DeleteRestore.All"]).token
    return client_for(app, f"Bearer {token}")


@pytest.fixture
def alice(directory: Directory) -> User:
    """The first user, a member of Team."""
    return next(iter(directory.users_snapshot()))


def round_trip(client: FlaskClient, url: str) -> tuple[list[dict], str]:
    """Every item of one delta round and its deltaLink."""
    items: list[dict] = []
    while True:
        body = client.get(url).get_json()
        items.extend(body["value"])
        if "@odata.deltaLink" in body:
            return items, body["@odata.deltaLink"]
        url = body["@odata.nextLink"]


def graph_error(response, status: int, code: str) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == graph.CONTENT_TYPE
    error = response.get_json()["error"]
    assert error["code"] == code
    return error["message"]


def test_delta_says_changed_for_a_soft_delete_then_the_user_again_then_deleted(
    client: FlaskClient, writer: FlaskClient, directory: Directory, alice: User
) -> None:
    _, users_link = round_trip(client, "/v1.0/users/delta?$select=displayName,accountEnabled")
    _, groups_link = round_trip(client, "/v1.0/groups/delta")
    team = next(iter(directory.groups_snapshot())).object_id
    member = {"@odata.type": "#microsoft.graph.user", "id": alice.object_id}

    assert writer.delete(f"/v1.0/users/{alice.object_id}").status_code == 204
    items, users_link = round_trip(client, users_link)
    assert items == [{"id": alice.object_id, "@removed": {"reason": "changed"}}]
    items, groups_link = round_trip(client, groups_link)
    assert [(i["id"], i["members@delta"]) for i in items] == [
        (team, [{**member, "@removed": {"reason": "deleted"}}])
    ]

    restored = writer.post(f"/v1.0/directory/deletedItems/{alice.object_id}/restore")
    assert restored.status_code == 200
    items, users_link = round_trip(client, users_link)
    assert items == [{"id": alice.object_id, "displayName": "U0 X", "accountEnabled": True}]
    items, groups_link = round_trip(client, groups_link)
    assert [(i["id"], i["members@delta"]) for i in items] == [(team, [member])]  # its group again

    assert writer.delete(f"/v1.0/users/{alice.object_id}").status_code == 204
    assert writer.delete(f"/v1.0/directory/deletedItems/{alice.object_id}").status_code == 204
    items, _ = round_trip(client, users_link)
    assert items == [{"id": alice.object_id, "@removed": {"reason": "deleted"}}]


def test_a_delete_and_a_restore_in_one_window_show_the_user(
    client: FlaskClient, directory: Directory, alice: User
) -> None:
    _, link = round_trip(client, "/v1.0/users/delta?$select=displayName")
    directory.soft_delete_user(alice.object_id)
    directory.restore_user(alice.object_id)
    items, _ = round_trip(client, link)
    assert items == [{"id": alice.object_id, "displayName": "U0 X"}]


def test_a_soft_deleted_user_leaves_the_listings_and_its_groups(
    client: FlaskClient, directory: Directory, alice: User
) -> None:
    directory.soft_delete_user(alice.object_id)
    listed = client.get("/v1.0/users?$select=id").get_json()["value"]
    assert alice.object_id not in {u["id"] for u in listed} and len(listed) == 3
    count = client.get("/v1.0/users/$count", headers={"ConsistencyLevel": "eventual"})
    assert count.get_data(as_text=True) == "3"
    graph_error(client.get(f"/v1.0/users/{alice.object_id}"), 404, "Request_ResourceNotFound")
    team = next(iter(directory.groups_snapshot())).object_id
    members = client.get(f"/v1.0/groups/{team}/members?$select=id").get_json()["value"]
    assert alice.object_id not in {m["id"] for m in members}


def test_deleted_items_list_and_get(
    client: FlaskClient,
    directory: Directory,
    alice: User,
    clock,  # type: ignore[no-untyped-def]
) -> None:
    directory.soft_delete_user(alice.object_id)
    mangled = alice.object_id.replace("-", "") + "u0@contoso.com"
    for cast in ("microsoft.graph.user", "graph.user"):
        body = client.get(
            f"/v1.0/directory/deletedItems/{cast}?$select=id,userPrincipalName,deletedDateTime"
        ).get_json()
        assert body["value"] == [
            {"id": alice.object_id, "userPrincipalName": mangled, "deletedDateTime": "2026-03-01T12:00:00Z"}
        ]
    one = client.get(f"/v1.0/directory/deletedItems/{alice.object_id}").get_json()
    assert one["@odata.type"] == "#microsoft.graph.user" and one["userPrincipalName"] == mangled
    assert one["@odata.context"].endswith("$metadata#directoryObjects/$entity")
    groups = client.get("/v1.0/directory/deletedItems/microsoft.graph.group").get_json()
    assert groups["value"] == []  # security groups are deleted for good
    message = graph_error(client.get("/v1.0/directory/deletedItems"), 400, "Request_BadRequest")
    assert "cast" in message
    unknown = client.get("/v1.0/directory/deletedItems/00000000-0000-4000-8000-000000000000")
    graph_error(unknown, 404, "Request_ResourceNotFound")
    # a user that is not deleted is not a deleted item
    live = next(u for u in directory.users_snapshot())
    graph_error(client.get(f"/v1.0/directory/deletedItems/{live.object_id}"), 404, "Request_ResourceNotFound")


def test_restore_answers_the_user_and_refuses_a_taken_upn(
    writer: FlaskClient, directory: Directory, alice: User
) -> None:
    directory.soft_delete_user(alice.object_id)
    clash = directory.add_user("u0@contoso.com")
    refused = writer.post(f"/v1.0/directory/deletedItems/{alice.object_id}/restore")
    assert "userPrincipalName" in graph_error(refused, 400, "Request_BadRequest")
    assert alice.object_id in directory.deleted_users  # still restorable

    directory.delete_user(clash.object_id)
    restored = writer.post(f"/v1.0/directory/deletedItems/{alice.object_id}/restore")
    body = restored.get_json()
    assert restored.status_code == 200 and body["@odata.type"] == "#microsoft.graph.user"
    assert (body["id"], body["userPrincipalName"]) == (alice.object_id, "u0@contoso.com")
    assert directory.users[alice.object_id] is alice and not directory.deleted_users
    again = writer.post(f"/v1.0/directory/deletedItems/{alice.object_id}/restore")
    graph_error(again, 404, "Request_ResourceNotFound")


def test_permanent_delete_and_delete_by_upn(writer: FlaskClient, directory: Directory, alice: User) -> None:
    assert writer.delete("/v1.0/users/U0@contoso.com").status_code == 204
    assert set(directory.deleted_users) == {alice.object_id}
    purged = writer.delete(f"/v1.0/directory/deletedItems/{alice.object_id}")
    assert purged.status_code == 204 and not purged.get_data()
    assert not directory.deleted_users and alice.object_id not in directory.users
    graph_error(
        writer.delete(f"/v1.0/directory/deletedItems/{alice.object_id}"), 404, "Request_ResourceNotFound"
    )
    graph_error(writer.delete(f"/v1.0/users/{alice.object_id}"), 404, "Request_ResourceNotFound")


def test_writes_need_a_write_permission(client: FlaskClient, directory: Directory, alice: User) -> None:
    graph_error(client.delete(f"/v1.0/users/{alice.object_id}"), 403, "Authorization_RequestDenied")
    directory.soft_delete_user(alice.object_id)
    restore = client.post(f"/v1.0/directory/deletedItems/{alice.object_id}/restore")
    graph_error(restore, 403, "Authorization_RequestDenied")
    purge = client.delete(f"/v1.0/directory/deletedItems/{alice.object_id}")
    graph_error(purge, 403, "Authorization_RequestDenied")
    assert set(directory.deleted_users) == {alice.object_id}
