"""The /_admin routes of Entra's deleted items: a delete is soft, then a restore or a permanent delete."""

from __future__ import annotations

from flask.testing import FlaskClient

from mock_idp.state.directory import Directory


def test_a_delete_is_soft_and_a_restore_brings_back_ids_and_groups(
    client: FlaskClient, admin_headers: dict[str, str], directory: Directory
) -> None:
    user = next(u for u in directory.users_snapshot() if directory.groups_of_user(u.object_id))
    groups = [g.object_id for g in directory.groups_of_user(user.object_id)]
    assert client.delete(f"/_admin/users/{user.okta_id}", headers=admin_headers).status_code == 204
    assert client.get(f"/_admin/users/{user.object_id}", headers=admin_headers).status_code == 404
    listed = client.get("/_admin/deleted-users", headers=admin_headers).get_json()["deleted_users"]
    assert [(d["id"], d["groups"]) for d in listed] == [(user.object_id, groups)]
    assert "deleted" in listed[0]
    state = client.get("/_admin/state", headers=admin_headers).get_json()
    assert state["deleted_users"] == 1 and state["users"] == len(directory.users)

    one = client.get(f"/_admin/deleted-users/{user.okta_id}", headers=admin_headers)
    assert one.status_code == 200 and one.get_json()["id"] == user.object_id
    restored = client.post(f"/_admin/deleted-users/{user.object_id}/restore", headers=admin_headers)
    assert restored.status_code == 200
    assert (restored.get_json()["id"], restored.get_json()["okta_id"]) == (user.object_id, user.okta_id)
    assert [g.object_id for g in directory.groups_of_user(user.object_id)] == groups
    assert client.get("/_admin/deleted-users", headers=admin_headers).get_json() == {"deleted_users": []}


def test_a_permanent_delete_leaves_nothing_to_restore(
    client: FlaskClient, admin_headers: dict[str, str], directory: Directory
) -> None:
    first, second = list(directory.users_snapshot())[:2]
    client.delete(f"/_admin/users/{first.object_id}", headers=admin_headers)
    assert client.delete(f"/_admin/deleted-users/{first.object_id}", headers=admin_headers).status_code == 204
    gone = client.delete(f"/_admin/users/{second.object_id}?permanent=true", headers=admin_headers)
    assert gone.status_code == 204
    assert not directory.deleted_users
    assert [e.op for e in directory.changes if e.kind == "user"][-4:] == ["deleted", "purged"] * 2
    for user in (first, second):
        missing = client.post(f"/_admin/deleted-users/{user.object_id}/restore", headers=admin_headers)
        assert missing.status_code == 404 and missing.get_json()["error"] == "not_found"
    bad = client.delete(
        f"/_admin/users/{directory.users_snapshot()[0].object_id}?permanent=yes", headers=admin_headers
    )
    assert bad.status_code == 400 and bad.get_json()["error"] == "invalid"


def test_a_restore_waits_while_the_user_name_is_taken(
    client: FlaskClient, admin_headers: dict[str, str], directory: Directory
) -> None:
    user = directory.users_snapshot()[0]
    client.delete(f"/_admin/users/{user.object_id}", headers=admin_headers)
    taken = client.post("/_admin/users", json={"user_name": user.user_name.upper()}, headers=admin_headers)
    assert taken.status_code == 201  # a deleted user's name is free
    refused = client.post(f"/_admin/deleted-users/{user.object_id}/restore", headers=admin_headers)
    assert refused.status_code == 409 and refused.get_json()["error"] == "conflict"
    assert user.object_id in directory.deleted_users
