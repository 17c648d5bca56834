"""SCIM writes and the built-in ``Everyone`` group: an ordinary group to read, refused to edit."""

from __future__ import annotations

import pytest

from mock_idp.scim import views as scim
from mock_idp.scim.schemas import PATCH_OP
from mock_idp.state.directory import ApiToken
from mock_idp.state.directory import Directory


@pytest.fixture
def directory() -> Directory:
    d = Directory(seed=7)
    for name in ("ann", "ben"):
        d.add_user(f"{name}@example.com", email=f"{name}@example.com")
    d.add_group("Everyone", built_in=True)
    d.add_api_token(ApiToken("static-token", "scim"))
    return d


@pytest.fixture
def client(blueprint_app, client_for):  # type: ignore[no-untyped-def]
    return client_for(blueprint_app(scim.blueprint), "Bearer static-token")


def everyone_id(directory: Directory) -> str:
    return next(g.object_id for g in directory.groups.values() if g.built_in)


def test_it_reads_as_an_ordinary_group_with_every_user(client, directory: Directory) -> None:  # type: ignore[no-untyped-def]
    body = client.get(f"/scim/v2/Groups/{everyone_id(directory)}").get_json()
    assert body["displayName"] == "Everyone"
    assert sorted(m["value"] for m in body["members"]) == sorted(directory.users)


def test_a_new_user_joins_it(client, directory: Directory) -> None:  # type: ignore[no-untyped-def]
    created = client.post("/scim/v2/Users", json={"userName": "cat@example.com"}).get_json()
    body = client.get(f"/scim/v2/Groups/{everyone_id(directory)}").get_json()
    assert created["id"] in [m["value"] for m in body["members"]]


def test_writes_are_refused_as_mutability_errors(client, directory: Directory) -> None:  # type: ignore[no-untyped-def]
    url = f"/scim/v2/Groups/{everyone_id(directory)}"
    ann = next(iter(directory.users))
    operations = [{"op": "remove", "path": f'members[value eq "{ann}"]'}]
    refused = [
        client.patch(url, json={"schemas": [PATCH_OP], "Operations": operations}),
        client.put(url, json={"displayName": "Everyone", "members": []}),
        client.put(
            url, json={"displayName": "All staff", "members": [{"value": u} for u in directory.users]}
        ),
        client.delete(url),
    ]
    for response in refused:
        assert response.status_code == 400, response.get_json()
        assert response.get_json()["scimType"] == "mutability"
    assert list(directory.groups[everyone_id(directory)].user_ids) == list(directory.users)
    assert directory.groups[everyone_id(directory)].name == "Everyone"
