"""The /_admin plane and the built-in ``Everyone`` group: shown, kept full, never edited by hand."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from mock_idp.state.directory import Directory


def everyone_json(client: FlaskClient, headers: dict[str, str], directory: Directory) -> dict[str, Any]:
    group = next(g for g in directory.groups.values() if g.built_in)
    return client.get(f"/_admin/groups/{group.okta_id}", headers=headers).get_json()


def test_the_generated_everyone_is_built_in_and_holds_every_user(
    client: FlaskClient, admin_headers: dict[str, str], directory: Directory
) -> None:
    body = everyone_json(client, admin_headers, directory)
    assert body["name"] == "Everyone" and body["built_in"] is True
    assert body["members"] == list(directory.users) and body["groups"] == []
    others = client.get("/_admin/groups", headers=admin_headers).get_json()["groups"]
    assert [g["built_in"] for g in others].count(True) == 1


def test_a_created_user_joins_it_and_a_deleted_one_leaves(
    client: FlaskClient, admin_headers: dict[str, str], directory: Directory
) -> None:
    created = client.post("/_admin/users", json={"user_name": "new@example.com"}, headers=admin_headers)
    new_id = created.get_json()["id"]
    assert new_id in everyone_json(client, admin_headers, directory)["members"]
    assert client.delete(f"/_admin/users/{new_id}", headers=admin_headers).status_code == 204
    assert new_id not in everyone_json(client, admin_headers, directory)["members"]
    assert client.post(f"/_admin/deleted-users/{new_id}/restore", headers=admin_headers).status_code < 300
    assert new_id in everyone_json(client, admin_headers, directory)["members"]


def test_edits_by_hand_are_refused_with_403_unsupported(
    client: FlaskClient, admin_headers: dict[str, str], directory: Directory
) -> None:
    group = next(g for g in directory.groups.values() if g.built_in)
    outsider = next(g for g in directory.groups.values() if not g.built_in)
    member = next(iter(group.user_ids))
    base = f"/_admin/groups/{group.okta_id}"
    refused = [
        client.delete(f"{base}/members/{member}", headers=admin_headers),
        client.post(f"{base}/members/{member}", headers=admin_headers),
        client.post(f"{base}/members/{outsider.object_id}?kind=group", headers=admin_headers),
        client.patch(base, json={"name": "All staff"}, headers=admin_headers),
        client.delete(base, headers=admin_headers),
    ]
    for response in refused:
        assert response.status_code == 403, response.get_json()
        body = response.get_json()
        assert body["error"] == "unsupported" and "'Everyone' is built in" in body["detail"]
    assert everyone_json(client, admin_headers, directory)["members"] == list(directory.users)


def test_a_built_in_group_can_be_created_and_starts_full(
    client: FlaskClient, admin_headers: dict[str, str], directory: Directory
) -> None:
    response = client.post("/_admin/groups", json={"name": "All", "built_in": True}, headers=admin_headers)
    assert response.status_code == 201
    assert response.get_json()["built_in"] is True
    assert response.get_json()["members"] == list(directory.users)
