"""PATCH operations without a ``path`` (RFC 7644 §3.5.2.1, §3.5.2.3): the value's keys are paths.

Two shapes the push clients send: Okta renames a group with ``{"op": "replace", "value":
{"id": <the group's id>, "displayName": ...}}`` (and sends it on every membership change),
and Entra with ``aadOptscim062020`` sends one path-less ``replace`` whose keys are dotted
paths (``"name.givenName"``).  A read-only attribute written with its current value is no
change; an unknown key is ``invalidPath``, never dropped.
"""

from __future__ import annotations

import pytest

from mock_idp.scim import views as scim
from mock_idp.scim.schemas import CORE_GROUP
from mock_idp.scim.schemas import CORE_USER
from mock_idp.scim.schemas import ENTERPRISE
from mock_idp.scim.schemas import PATCH_OP
from mock_idp.state.directory import ApiToken
from mock_idp.state.directory import Directory

WORK_EMAIL = 'emails[type eq "work"].value'


@pytest.fixture
def directory() -> Directory:
    d = Directory(seed=5)
    d.add_api_token(ApiToken("static-token", "scim"))
    return d


@pytest.fixture
def client(blueprint_app, client_for):  # type: ignore[no-untyped-def]
    return client_for(blueprint_app(scim.blueprint), "Bearer static-token")


def patch(client, path: str, *operations: dict):  # type: ignore[no-untyped-def]
    return client.patch(path, json={"schemas": [PATCH_OP], "Operations": list(operations)})


@pytest.fixture
def alice(client) -> dict:  # type: ignore[no-untyped-def]
    body = {
        "schemas": [CORE_USER, ENTERPRISE],
        "userName": "alice@contoso.com",
        "name": {"givenName": "Alice", "familyName": "Smith"},
        "emails": [
            {"value": "alice@contoso.com", "type": "work", "primary": True},
            {"value": "alice@home.example", "type": "home"},
        ],
        "title": "Engineer",
        "active": True,
        ENTERPRISE: {"department": "R&D"},
    }
    response = client.post("/scim/v2/Users", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.fixture
def team(client) -> dict:  # type: ignore[no-untyped-def]
    response = client.post(
        "/scim/v2/Groups", json={"schemas": [CORE_GROUP], "displayName": "Team", "members": []}
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def refused(response, scim_type: str) -> bool:  # type: ignore[no-untyped-def]
    return response.status_code == 400 and response.get_json()["scimType"] == scim_type


# ---------------------------------------------------------------- read-only values that do not change


def test_okta_renames_a_group_with_its_id_in_the_value(client, team: dict, directory: Directory) -> None:
    url = f"/scim/v2/Groups/{team['id']}"
    response = patch(client, url, {"op": "replace", "value": {"id": team["id"], "displayName": "Team Two"}})
    assert response.status_code == 200, response.get_json()
    result = response.get_json()
    assert result["id"] == team["id"] and result["displayName"] == "Team Two"
    assert directory.groups[team["id"]].name == "Team Two"
    assert client.get(url).get_json() == result


def test_unchanged_id_meta_and_schemas_are_no_change(client, team: dict) -> None:
    url = f"/scim/v2/Groups/{team['id']}"
    for value in (
        {"id": team["id"]},
        {"schemas": team["schemas"], "id": team["id"], "meta": team["meta"]},
        {"meta": {"resourceType": "Group"}},
        {"ID": team["id"], "displayName": "Team"},
    ):
        response = patch(client, url, {"op": "replace", "value": value})
        assert response.status_code == 200, (value, response.get_json())
        assert response.get_json() == team, value  # nothing changed, not even the version
    response = patch(client, url, {"op": "replace", "path": "id", "value": team["id"]})
    assert response.status_code == 200 and response.get_json() == team


def test_a_user_patch_may_echo_its_id(client, alice: dict) -> None:
    url = f"/scim/v2/Users/{alice['id']}"
    response = patch(client, url, {"op": "replace", "value": {"id": alice["id"], "active": False}})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["active"] is False and response.get_json()["id"] == alice["id"]


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "value": {"id": "another-id", "displayName": "Renamed"}},
        {"op": "add", "value": {"displayName": "Renamed", "id": "another-id"}},
        {"op": "replace", "path": "id", "value": "another-id"},
        {"op": "replace", "value": {"meta": {"resourceType": "User"}}},
        {"op": "replace", "value": {"meta.version": 'W/"99"', "displayName": "Renamed"}},
        {"op": "remove", "path": "id"},
    ],
)
def test_changing_a_read_only_attribute_is_refused(client, team: dict, operation: dict) -> None:
    url = f"/scim/v2/Groups/{team['id']}"
    assert refused(patch(client, url, operation), "mutability")
    assert client.get(url).get_json() == team  # the whole PATCH is refused, the rename too


# ---------------------------------------------------------------- dotted keys (aadOptscim062020)


def test_entra_flagged_replace_with_dotted_keys(client, alice: dict, directory: Directory) -> None:
    url = f"/scim/v2/Users/{alice['id']}"
    value = {
        "name.givenName": "Ann",
        "name.familyName": "Lee",
        WORK_EMAIL: "a@x.com",
        "active": False,
        f"{ENTERPRISE}:department": "Sales",
    }
    response = patch(client, url, {"op": "replace", "value": value})
    assert response.status_code == 200, response.get_json()
    result = response.get_json()
    assert result["name"] == {"formatted": "Ann Lee", "givenName": "Ann", "familyName": "Lee"}
    assert result["emails"][0] == {"value": "a@x.com", "type": "work", "primary": True}
    assert result["emails"][1] == {"value": "alice@home.example", "type": "home"}
    assert result["active"] is False and result[ENTERPRISE]["department"] == "Sales"
    assert result["title"] == "Engineer"  # keys not named are kept
    stored = directory.user(alice["id"])
    assert (stored.given_name, stored.family_name, stored.email) == ("Ann", "Lee", "a@x.com")
    assert stored.status == "SUSPENDED" and stored.department == "Sales"
    assert client.get(url).get_json() == result


def test_dotted_keys_in_add_and_in_any_case(client, alice: dict) -> None:
    url = f"/scim/v2/Users/{alice['id']}"
    response = patch(client, url, {"op": "add", "value": {"NAME.GIVENNAME": "Ann", "Title": "Lead"}})
    assert response.status_code == 200, response.get_json()
    result = response.get_json()
    assert result["name"]["givenName"] == "Ann" and result["name"]["familyName"] == "Smith"
    assert result["title"] == "Lead"


@pytest.mark.parametrize(
    ("value", "scim_type"),
    [
        ({"shoeSize": 42}, "invalidPath"),
        ({"title": "Lead", "name.middleName": "Q"}, "invalidPath"),  # not a stored sub-attribute
        ({'emails[type eq "work"].shoe': "x"}, "invalidPath"),
        ({'emails[type eq "work"': "x"}, "invalidPath"),
        ({'emails[type zz "work"].value': "x"}, "invalidFilter"),
        ({'emails[type eq "pager"].value': "x@y"}, "noTarget"),
        ({"name.givenName": "Ann", "groups": []}, "mutability"),
    ],
)
def test_a_key_that_names_no_attribute_is_refused_not_dropped(
    client, alice: dict, value: dict, scim_type: str
) -> None:
    url = f"/scim/v2/Users/{alice['id']}"
    assert refused(patch(client, url, {"op": "replace", "value": value}), scim_type)
    assert client.get(url).get_json() == alice  # nothing of the operation is kept


def test_a_path_less_value_must_be_an_object(client, alice: dict) -> None:
    url = f"/scim/v2/Users/{alice['id']}"
    assert refused(patch(client, url, {"op": "replace", "value": "Ann"}), "invalidSyntax")
