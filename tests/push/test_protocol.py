"""The SCIM protocol as Okta and Entra speak it: every endpoint, filters, paging, PATCH forms, errors."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.push.conftest import BASE
from tests.push.conftest import GROUP_SCHEMA
from tests.push.conftest import USER_SCHEMA
from tests.push.conftest import new_user
from tests.push.conftest import patch


def test_discovery(client: FlaskClient) -> None:
    config = client.get(f"{BASE}/ServiceProviderConfig")
    assert config.status_code == 200 and config.mimetype == "application/scim+json"
    assert config.get_json()["patch"]["supported"] is True
    types = client.get(f"{BASE}/ResourceTypes").get_json()
    assert {t["id"] for t in types["Resources"]} == {"User", "Group"}
    ids = {s["id"] for s in client.get(f"{BASE}/Schemas").get_json()["Resources"]}
    assert USER_SCHEMA in ids and GROUP_SCHEMA in ids


def test_okta_create_find_update_deactivate(client: FlaskClient) -> None:
    found = client.get(f'{BASE}/Users?filter=userName eq "test.user@example.com"&startIndex=1&count=100')
    assert found.get_json()["totalResults"] == 0
    created = new_user(
        client,
        "test.user@example.com",
        name={"givenName": "Test", "familyName": "User"},
        externalId="00ujl29u0le5T6Aj10h7",
        password="1mz050nq",
        groups=[],
        locale="en-US",
    )
    assert created["id"] != "00ujl29u0le5T6Aj10h7"
    found = client.get(f'{BASE}/Users?filter=userName eq "TEST.USER@example.com"').get_json()
    assert [r["id"] for r in found["Resources"]] == [created["id"]]
    put = dict(created, displayName="Test U.")
    assert client.put(f"{BASE}/Users/{created['id']}", json=put).get_json()["displayName"] == "Test U."
    off = client.patch(
        f"{BASE}/Users/{created['id']}", json=patch({"op": "replace", "value": {"active": False}})
    )
    assert off.status_code == 200 and off.get_json()["active"] is False


def test_entra_patch_forms(client: FlaskClient) -> None:
    user = new_user(client, "ann@example.com")
    uid = user["id"]
    r = client.patch(
        f"{BASE}/Users/{uid}",
        json=patch(
            {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "ann.b@example.com"},
            {"op": "Replace", "path": "name.familyName", "value": "B"},
        ),
    )
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["emails"][0]["value"] == "ann.b@example.com"
    r = client.patch(f"{BASE}/Users/{uid}", json=patch({"op": "Replace", "path": "active", "value": "False"}))
    assert r.get_json()["active"] is False
    other = new_user(client, "bob@example.com")
    group = client.post(f"{BASE}/Groups", json={"schemas": [GROUP_SCHEMA], "displayName": "Engineering"})
    gid = group.get_json()["id"]
    add = {"op": "Add", "path": "members", "value": [{"$ref": None, "value": uid}, {"value": other["id"]}]}
    assert client.patch(f"{BASE}/Groups/{gid}", json=patch(add)).status_code == 200
    remove = {"op": "Remove", "path": "members", "value": [{"value": uid}]}
    body = client.patch(f"{BASE}/Groups/{gid}", json=patch(remove)).get_json()
    assert [m["value"] for m in body["members"]] == [other["id"]]
    okta = {"op": "remove", "path": f'members[value eq "{other["id"]}"]'}
    assert "members" not in client.patch(f"{BASE}/Groups/{gid}", json=patch(okta)).get_json()
    listed = client.get(f'{BASE}/Groups?excludedAttributes=members&filter=displayName eq "Engineering"')
    assert [g["id"] for g in listed.get_json()["Resources"]] == [gid]


def test_filters_and_paging(client: FlaskClient) -> None:
    ids = [new_user(client, f"p{i}@example.com", displayName=f"P {i}")["id"] for i in range(5)]
    page = client.get(f"{BASE}/Users?startIndex=2&count=2").get_json()
    assert page["totalResults"] == 5 and page["itemsPerPage"] == 2 and page["startIndex"] == 2
    assert [r["id"] for r in page["Resources"]] == sorted(ids)[1:3]
    both = client.get(f'{BASE}/Users?filter=userName eq "p1@example.com" or displayName eq "P 2"').get_json()
    assert both["totalResults"] == 2
    none = client.get(f'{BASE}/Users?filter=userName eq "p1@example.com" and displayName eq "P 2"').get_json()
    assert none["totalResults"] == 0
    assert client.get(f"{BASE}/Users?filter=displayName pr").get_json()["totalResults"] == 5
    assert client.get(f'{BASE}/Users?filter=externalId eq "x"').get_json()["totalResults"] == 0


def test_errors(client: FlaskClient) -> None:
    user = new_user(client, "dup@example.com")
    dup = client.post(f"{BASE}/Users", json={"schemas": [USER_SCHEMA], "userName": "DUP@example.com"})
    assert dup.status_code == 409 and dup.get_json()["scimType"] == "uniqueness"
    assert dup.get_json()["status"] == "409" and dup.mimetype == "application/scim+json"
    missing = client.get(f"{BASE}/Users/00919288221112222")
    assert missing.status_code == 404 and missing.get_json()["status"] == "404"
    bad = client.get(f"{BASE}/Users?filter=userName eq")
    assert bad.status_code == 400 and bad.get_json()["scimType"] == "invalidFilter"
    stale = client.put(f"{BASE}/Users/{user['id']}", json=user, headers={"If-Match": 'W/"not-it"'})
    assert stale.status_code == 412
    ok = client.put(f"{BASE}/Users/{user['id']}", json=user, headers={"If-Match": user["meta"]["version"]})
    assert ok.status_code == 200
    no_name = client.post(f"{BASE}/Users", json={"schemas": [USER_SCHEMA]})
    assert no_name.status_code == 400
    big = client.post(
        f"{BASE}/Users", data=b"{" + b" " * (3 * 1024 * 1024) + b"}", content_type="application/json"
    )
    assert big.status_code == 413 and big.get_json()["status"] == "413"
    unknown_op = client.patch(f"{BASE}/Users/{user['id']}", json=patch({"op": "move", "path": "active"}))
    assert unknown_op.status_code == 400


def test_auth_and_directories(client: FlaskClient) -> None:
    assert client.get(f"{BASE}/Users", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get(f"{BASE}/Users", headers={"Authorization": ""}).status_code == 401
    assert client.get("/scim/v2/acme/nothing/Users").status_code == 404
    assert client.get("/scim/v2/other-org/okta-push/Users").status_code == 404
