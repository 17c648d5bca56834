"""SCIM writes: POST, PUT, PATCH, DELETE, ETags, and what they do to the directory."""

from __future__ import annotations

import pytest

from mock_idp.scim import views as scim
from mock_idp.scim.schemas import CORE_USER
from mock_idp.scim.schemas import ENTERPRISE
from mock_idp.scim.schemas import PATCH_OP
from mock_idp.state.directory import ApiToken
from mock_idp.state.directory import Directory


@pytest.fixture
def directory() -> Directory:
    d = Directory(seed=5)
    d.add_api_token(ApiToken("static-token", "scim"))
    return d


@pytest.fixture
def client(blueprint_app, client_for):  # type: ignore[no-untyped-def]
    return client_for(blueprint_app(scim.blueprint), "Bearer static-token")


ALICE = {
    "schemas": [CORE_USER, ENTERPRISE],
    "userName": "alice@contoso.com",
    "externalId": "a-1",
    "name": {"givenName": "Alice", "familyName": "Smith"},
    "displayName": "Alice Smith",
    "emails": [
        {"value": "alice@contoso.com", "type": "work", "primary": True},
        {"value": "alice@home.example", "type": "home"},
    ],
    "phoneNumbers": [{"value": "+1 555 0100", "type": "mobile"}],
    "title": "Engineer",
    "active": True,
    "password": "s3cret-Passw0rd",
    ENTERPRISE: {"employeeNumber": "42", "department": "R&D"},
}


def patch(client, path: str, *operations: dict, **headers: str):  # type: ignore[no-untyped-def]
    return client.patch(path, json={"schemas": [PATCH_OP], "Operations": list(operations)}, headers=headers)


@pytest.fixture
def alice(client) -> dict:  # type: ignore[no-untyped-def]
    response = client.post("/scim/v2/Users", json=ALICE)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_post_user_round_trips(client, alice: dict, directory: Directory) -> None:
    assert alice["userName"] == "alice@contoso.com" and alice["externalId"] == "a-1"
    assert alice["name"] == {"formatted": "Alice Smith", "familyName": "Smith", "givenName": "Alice"}
    assert alice["emails"] == [
        {"value": "alice@contoso.com", "type": "work", "primary": True},
        {"value": "alice@home.example", "type": "home"},
    ]
    assert alice["phoneNumbers"] == [{"value": "+1 555 0100"}]
    assert alice[ENTERPRISE] == {"employeeNumber": "42", "department": "R&D"}
    assert "password" not in alice
    assert alice["meta"]["created"] == alice["meta"]["lastModified"]
    stored = directory.user(alice["id"])
    assert stored.password == "s3cret-Passw0rd" and stored.status == "ACTIVE"
    fetched = client.get(f"/scim/v2/Users/{alice['id']}").get_json()
    assert fetched == alice


def test_post_sets_location_and_etag(client) -> None:
    response = client.post("/scim/v2/Users", json={"schemas": [CORE_USER], "userName": "x@contoso.com"})
    body = response.get_json()
    assert (
        response.headers["Location"]
        == body["meta"]["location"]
        == f"http://localhost/scim/v2/Users/{body['id']}"
    )
    assert response.headers["ETag"] == body["meta"]["version"]


def test_post_inactive_user_is_suspended(client, directory: Directory) -> None:
    body = client.post("/scim/v2/Users", json={"userName": "off@contoso.com", "active": False}).get_json()
    assert body["active"] is False and directory.user(body["id"]).status == "SUSPENDED"


def test_duplicate_user_name_is_a_uniqueness_conflict(client, alice: dict) -> None:
    response = client.post("/scim/v2/Users", json={**ALICE, "userName": "ALICE@contoso.com"})
    assert response.status_code == 409
    assert response.get_json()["scimType"] == "uniqueness" and response.get_json()["status"] == "409"


@pytest.mark.parametrize(
    "body",
    [
        {"schemas": [CORE_USER]},
        {"userName": ""},
        {"userName": 5},
        {"userName": "a", "active": "maybe"},
        {"userName": "a", "emails": "a@b"},
        {"userName": "a", "name": "Alice"},
    ],
)
def test_invalid_user_documents(client, body: dict) -> None:
    response = client.post("/scim/v2/Users", json=body)
    assert response.status_code == 400
    assert response.get_json()["scimType"] == "invalidValue"


def test_body_must_be_json(client) -> None:
    response = client.post("/scim/v2/Users", data="nope", content_type="application/scim+json")
    assert response.status_code == 400 and response.get_json()["scimType"] == "invalidSyntax"


def test_put_replaces(client, alice: dict, directory: Directory) -> None:
    body = {
        "schemas": [CORE_USER],
        "userName": "alice@contoso.com",
        "name": {"givenName": "Alicia"},
        "active": False,
    }
    response = client.put(f"/scim/v2/Users/{alice['id']}", json=body)
    assert response.status_code == 200
    result = response.get_json()
    assert result["name"] == {"formatted": "Alicia", "givenName": "Alicia"}
    assert "emails" not in result and "externalId" not in result and ENTERPRISE not in result
    assert result["active"] is False and result["meta"]["version"] == 'W/"2"'
    stored = directory.user(alice["id"])
    assert stored.status == "SUSPENDED" and stored.password == "s3cret-Passw0rd"


def test_put_unchanged_keeps_the_version(client, alice: dict) -> None:
    body = {k: v for k, v in ALICE.items() if k != "password"}
    result = client.put(f"/scim/v2/Users/{alice['id']}", json=body).get_json()
    assert result["meta"]["version"] == alice["meta"]["version"]


def test_deprovisioned_user_stays_deprovisioned_unless_activated(
    client, alice: dict, directory: Directory
) -> None:
    directory.set_status(alice["id"], "DEPROVISIONED")
    patch(client, f"/scim/v2/Users/{alice['id']}", {"op": "replace", "path": "title", "value": "Gone"})
    assert directory.user(alice["id"]).status == "DEPROVISIONED"
    patch(client, f"/scim/v2/Users/{alice['id']}", {"op": "replace", "path": "active", "value": True})
    assert directory.user(alice["id"]).status == "ACTIVE"


@pytest.mark.parametrize(
    ("operation", "check"),
    [
        ({"op": "replace", "path": "active", "value": False}, lambda r: r["active"] is False),
        ({"op": "Replace", "path": "active", "value": "False"}, lambda r: r["active"] is False),
        (
            {"op": "replace", "value": {"active": False, "title": "Lead"}},
            lambda r: r["active"] is False and r["title"] == "Lead",
        ),
        (
            {"op": "replace", "path": "name.familyName", "value": "Jones"},
            lambda r: r["name"]["familyName"] == "Jones",
        ),
        (
            {"op": "replace", "path": 'emails[type eq "work"].value', "value": "a2@contoso.com"},
            lambda r: r["emails"][0]["value"] == "a2@contoso.com",
        ),
        (
            {"op": "add", "path": "emails", "value": [{"value": "third@x.example", "type": "other"}]},
            lambda r: [e["value"] for e in r["emails"]][-1] == "third@x.example",
        ),
        ({"op": "remove", "path": 'emails[value eq "alice@home.example"]'}, lambda r: len(r["emails"]) == 1),
        (
            {"op": "add", "path": "emails", "value": [{"value": "new@contoso.com", "primary": True}]},
            lambda r: (
                r["emails"]
                == [
                    {"value": "alice@contoso.com", "type": "work", "primary": False},
                    {"value": "alice@home.example", "type": "home"},
                    {"value": "new@contoso.com", "primary": True},
                ]
            ),
        ),
        ({"op": "remove", "path": "title"}, lambda r: "title" not in r),
        (
            {"op": "replace", "path": f"{ENTERPRISE}:department", "value": "Sales"},
            lambda r: r[ENTERPRISE]["department"] == "Sales",
        ),
        (
            {"op": "add", "value": {ENTERPRISE: {"employeeNumber": "43"}}},
            lambda r: r[ENTERPRISE]["employeeNumber"] == "43",
        ),
        (
            {"op": "replace", "path": "userName", "value": "alice.smith@contoso.com"},
            lambda r: r["userName"] == "alice.smith@contoso.com",
        ),
        ({"op": "add", "path": "password", "value": "n3w"}, lambda r: "password" not in r),
    ],
)
def test_patch_user(client, alice: dict, operation: dict, check) -> None:  # type: ignore[no-untyped-def]
    response = patch(client, f"/scim/v2/Users/{alice['id']}", operation)
    assert response.status_code == 200, response.get_json()
    assert check(response.get_json())
    assert client.get(f"/scim/v2/Users/{alice['id']}").get_json() == response.get_json()


@pytest.mark.parametrize(
    ("operation", "scim_type"),
    [
        ({"op": "remove"}, "noTarget"),
        ({"op": "move", "path": "title", "value": "x"}, "invalidSyntax"),
        ({"op": "replace", "path": "id", "value": "x"}, "mutability"),
        ({"op": "replace", "path": "groups", "value": []}, "mutability"),
        ({"op": "replace", "path": "meta.created", "value": "2026-01-01T00:00:00Z"}, "mutability"),
        ({"op": "replace", "path": 'emails[type eq "pager"].value', "value": "x@y"}, "noTarget"),
        ({"op": "replace", "path": "shoeSize", "value": 42}, "invalidPath"),
        ({"op": "replace", "path": 'emails[type eq "work"', "value": 42}, "invalidPath"),
        ({"op": "replace", "path": 'emails[type zz "work"]', "value": 42}, "invalidFilter"),
        ({"op": "replace", "path": "active", "value": "perhaps"}, "invalidValue"),
    ],
)
def test_bad_patches(client, alice: dict, operation: dict, scim_type: str) -> None:
    response = patch(client, f"/scim/v2/Users/{alice['id']}", operation)
    assert response.status_code == 400
    assert response.get_json()["scimType"] == scim_type


def test_patch_needs_the_patch_op_schema(client, alice: dict) -> None:
    response = client.patch(
        f"/scim/v2/Users/{alice['id']}", json={"Operations": [{"op": "remove", "path": "title"}]}
    )
    assert response.status_code == 400 and response.get_json()["scimType"] == "invalidSyntax"


def test_if_match(client, alice: dict) -> None:
    url = f"/scim/v2/Users/{alice['id']}"
    stale = patch(client, url, {"op": "replace", "path": "title", "value": "A"}, **{"If-Match": 'W/"9"'})
    assert stale.status_code == 412 and stale.get_json()["status"] == "412"
    fresh = patch(
        client,
        url,
        {"op": "replace", "path": "title", "value": "A"},
        **{"If-Match": alice["meta"]["version"]},
    )
    assert fresh.status_code == 200
    assert client.delete(url, headers={"If-Match": alice["meta"]["version"]}).status_code == 412
    not_modified = client.get(url, headers={"If-None-Match": fresh.get_json()["meta"]["version"]})
    assert not_modified.status_code == 304


def test_delete_user(client, alice: dict, directory: Directory) -> None:
    assert client.delete(f"/scim/v2/Users/{alice['id']}").status_code == 204
    assert alice["id"] not in directory.users
    assert client.get(f"/scim/v2/Users/{alice['id']}").status_code == 404
    assert client.delete(f"/scim/v2/Users/{alice['id']}").status_code == 404


def test_group_writes(client, alice: dict, directory: Directory) -> None:
    bob = client.post("/scim/v2/Users", json={"userName": "bob@contoso.com"}).get_json()
    inner = client.post(
        "/scim/v2/Groups", json={"displayName": "Inner", "members": [{"value": bob["id"]}]}
    ).get_json()
    response = client.post(
        "/scim/v2/Groups",
        json={
            "displayName": "Outer",
            "externalId": "o-1",
            "members": [{"value": alice["id"], "type": "User"}, {"value": inner["id"], "type": "Group"}],
        },
    )
    assert response.status_code == 201
    outer = response.get_json()
    assert [(m["value"], m["type"]) for m in outer["members"]] == [
        (alice["id"], "User"),
        (inner["id"], "Group"),
    ]
    url = f"/scim/v2/Groups/{outer['id']}"

    result = patch(client, url, {"op": "add", "path": "members", "value": [{"value": bob["id"]}]}).get_json()
    assert [m["value"] for m in result["members"]] == [alice["id"], bob["id"], inner["id"]]
    result = patch(client, url, {"op": "remove", "path": f'members[value eq "{alice["id"]}"]'}).get_json()
    assert [m["value"] for m in result["members"]] == [bob["id"], inner["id"]]
    result = patch(
        client, url, {"op": "Remove", "path": "members", "value": [{"value": bob["id"]}]}
    ).get_json()
    assert [m["value"] for m in result["members"]] == [inner["id"]]
    result = patch(client, url, {"op": "replace", "path": "displayName", "value": "Renamed"}).get_json()
    assert result["displayName"] == "Renamed" and directory.group(outer["id"]).name == "Renamed"
    assert result["meta"]["version"] != outer["meta"]["version"]

    put = client.put(url, json={"displayName": "Renamed", "members": [{"value": alice["id"]}]}).get_json()
    assert [m["value"] for m in put["members"]] == [alice["id"]] and "externalId" not in put
    assert list(directory.group(outer["id"]).user_ids) == [alice["id"]]
    user = client.get(f"/scim/v2/Users/{alice['id']}").get_json()
    assert [x["display"] for x in user["groups"]] == ["Renamed"]

    assert client.delete(url).status_code == 204
    assert outer["id"] not in directory.groups


def test_group_with_unknown_member_is_refused(client) -> None:
    response = client.post("/scim/v2/Groups", json={"displayName": "G", "members": [{"value": "nobody"}]})
    assert response.status_code == 400 and "nobody" in response.get_json()["detail"]
    assert client.post("/scim/v2/Groups", json={"members": []}).get_json()["scimType"] == "invalidValue"
