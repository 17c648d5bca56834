"""SCIM writes keep what the client wrote: ``name.formatted``, ``emails``, a member's
``display``, a removed ``active``; and a list without ``count`` holds ``filter.maxResults``."""

from __future__ import annotations

import pytest

from mock_idp.scim import views as scim
from mock_idp.scim.schemas import CORE_GROUP
from mock_idp.scim.schemas import CORE_USER
from mock_idp.scim.schemas import PATCH_OP
from mock_idp.state.directory import ApiToken
from mock_idp.state.directory import Directory


@pytest.fixture
def directory() -> Directory:
    d = Directory(seed=8)
    d.add_api_token(ApiToken("static-token", "scim"))
    return d


@pytest.fixture
def client(blueprint_app, client_for):  # type: ignore[no-untyped-def]
    return client_for(blueprint_app(scim.blueprint), "Bearer static-token")


def patch(client, path: str, *operations: dict):  # type: ignore[no-untyped-def]
    return client.patch(path, json={"schemas": [PATCH_OP], "Operations": list(operations)})


def create_user(client, **body) -> dict:  # type: ignore[no-untyped-def]
    response = client.post("/scim/v2/Users", json={"schemas": [CORE_USER], **body})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def published(client, urn: str, attribute: str, sub: str) -> dict:  # type: ignore[no-untyped-def]
    schema = client.get(f"/scim/v2/Schemas/{urn}").get_json()
    attr = next(a for a in schema["attributes"] if a["name"] == attribute)
    return next(s for s in attr["subAttributes"] if s["name"] == sub)


# ---------------------------------------------------------------- name.formatted


def test_name_formatted_is_read_write_and_stored(client, directory: Directory) -> None:
    assert published(client, CORE_USER, "name", "formatted")["mutability"] == "readWrite"
    name = {"formatted": "Dr. Alice Smith, PhD", "givenName": "Alice", "familyName": "Smith"}
    alice = create_user(client, userName="alice@contoso.com", name=name)
    url = f"/scim/v2/Users/{alice['id']}"
    assert alice["name"] == name and client.get(url).get_json()["name"] == name
    # the written value stays when another name part changes
    result = patch(client, url, {"op": "replace", "path": "name.givenName", "value": "Alicia"}).get_json()
    assert result["name"]["formatted"] == "Dr. Alice Smith, PhD"
    result = patch(client, url, {"op": "replace", "path": "name.formatted", "value": "A. Smith"}).get_json()
    assert (
        result["name"]["formatted"] == "A. Smith" and directory.user(alice["id"]).formatted_name == "A. Smith"
    )


def test_name_formatted_is_derived_when_none_was_written(client, directory: Directory) -> None:
    bob = create_user(client, userName="bob@contoso.com", name={"givenName": "Bob", "familyName": "Jones"})
    url = f"/scim/v2/Users/{bob['id']}"
    assert bob["name"]["formatted"] == "Bob Jones"
    # a PATCH echoes the derived value back in the patched document: it is not taken as written
    result = patch(client, url, {"op": "replace", "path": "name.givenName", "value": "Robert"}).get_json()
    assert result["name"]["formatted"] == "Robert Jones"
    directory.update_user(bob["id"], family_name="Brown")  # another dialect renames him
    assert client.get(url).get_json()["name"]["formatted"] == "Robert Brown"


# ---------------------------------------------------------------- emails


def test_emails_are_stored_as_written(client, directory: Directory) -> None:
    assert published(client, CORE_USER, "emails", "type")["mutability"] == "readWrite"
    assert published(client, CORE_USER, "emails", "display")["mutability"] == "readWrite"
    emails = [
        {"value": "carol@home.example", "type": "home", "primary": False},
        {"value": "carol@contoso.com", "type": "work", "primary": True, "display": "Carol at work"},
        {"value": "carol@other.example"},
    ]
    carol = create_user(client, userName="carol@contoso.com", emails=emails)
    assert carol["emails"] == emails
    assert client.get(f"/scim/v2/Users/{carol['id']}").get_json()["emails"] == emails
    stored = directory.user(carol["id"])
    assert stored.email == "carol@contoso.com"
    assert stored.other_mails == ["carol@home.example", "carol@other.example"]


def test_the_first_email_is_the_users_email_when_none_is_primary(client, directory: Directory) -> None:
    emails = [{"value": "dan@home.example", "type": "home"}, {"value": "dan@contoso.com", "type": "work"}]
    dan = create_user(client, userName="dan@contoso.com", emails=emails)
    assert dan["emails"] == emails and directory.user(dan["id"]).email == "dan@home.example"


def test_a_new_primary_email_demotes_the_old_one(client, directory: Directory) -> None:
    erin = create_user(
        client, userName="erin@contoso.com", emails=[{"value": "erin@a.example", "primary": True}]
    )
    url = f"/scim/v2/Users/{erin['id']}"
    new = {"value": "erin@b.example", "type": "home", "primary": "True"}  # Entra's string boolean
    result = patch(client, url, {"op": "add", "path": "emails", "value": [new]}).get_json()
    assert result["emails"] == [
        {"value": "erin@a.example", "primary": False},
        {"value": "erin@b.example", "type": "home", "primary": True},
    ]
    assert directory.user(erin["id"]).email == "erin@b.example"


def test_emails_changed_by_another_dialect_are_shown_from_the_directory(client, directory: Directory) -> None:
    fay = create_user(client, userName="fay@contoso.com", emails=[{"value": "fay@a.example", "type": "home"}])
    directory.update_user(fay["id"], email="fay@contoso.com")
    assert client.get(f"/scim/v2/Users/{fay['id']}").get_json()["emails"] == [
        {"value": "fay@contoso.com", "type": "work", "primary": True}
    ]


# ---------------------------------------------------------------- members.display


def test_member_display_is_immutable_and_kept(client, directory: Directory) -> None:
    # RFC 7643 §4.2: "sub-attributes of members are "immutable""; §2.4 gives display
    # "a mutability of "immutable"": set with the member, never changed afterwards.
    assert published(client, CORE_GROUP, "members", "display")["mutability"] == "immutable"
    alice = create_user(client, userName="alice@contoso.com", displayName="Alice Smith")
    bob = create_user(client, userName="bob@contoso.com", displayName="Bob Jones")
    group = client.post(
        "/scim/v2/Groups",
        json={"displayName": "Team", "members": [{"value": alice["id"], "display": "Team lead"}]},
    ).get_json()
    url = f"/scim/v2/Groups/{group['id']}"
    assert [m["display"] for m in group["members"]] == ["Team lead"]
    added = {"value": bob["id"], "display": "Bob (contractor)"}
    result = patch(client, url, {"op": "add", "path": "members", "value": [added]}).get_json()
    assert [m["display"] for m in result["members"]] == ["Team lead", "Bob (contractor)"]
    directory.update_user(alice["id"], display_name="Alice Jones")
    assert [m["display"] for m in client.get(url).get_json()["members"]] == ["Team lead", "Bob (contractor)"]

    for operation in (
        {"op": "replace", "path": f'members[value eq "{alice["id"]}"].display', "value": "X"},
        {"op": "replace", "path": f'members[value eq "{alice["id"]}"]', "value": {"display": "X"}},
        {"op": "add", "path": "members", "value": [{"value": alice["id"], "display": "X"}]},
    ):
        response = patch(client, url, operation)
        assert response.status_code == 400 and response.get_json()["scimType"] == "mutability", operation
    put = {"displayName": "Team", "members": [{"value": alice["id"], "display": "X"}]}
    response = client.put(url, json=put)
    assert response.status_code == 400 and response.get_json()["scimType"] == "mutability"
    # the same display, or none, is no change
    put["members"] = [{"value": alice["id"], "display": "Team lead"}, {"value": bob["id"]}]
    result = client.put(url, json=put).get_json()
    assert [m["display"] for m in result["members"]] == ["Team lead", "Bob (contractor)"]


def test_a_member_without_display_shows_its_name_and_a_removal_forgets_it(
    client, directory: Directory
) -> None:
    alice = create_user(client, userName="alice@contoso.com", displayName="Alice Smith")
    group = client.post(
        "/scim/v2/Groups", json={"displayName": "G", "members": [{"value": alice["id"], "display": "A"}]}
    ).get_json()
    directory.remove_member(group["id"], alice["id"])
    directory.add_member(group["id"], alice["id"])
    members = client.get(f"/scim/v2/Groups/{group['id']}").get_json()["members"]
    assert [m["display"] for m in members] == ["Alice Smith"]


# ---------------------------------------------------------------- active


def test_removing_active_unassigns_it(client, directory: Directory) -> None:
    # RFC 7644 §3.5.2.2: "If the target location is a single-value attribute, the attribute
    # and its associated value is removed, and the attribute SHALL be considered unassigned."
    gil = create_user(client, userName="gil@contoso.com", active=False)
    url = f"/scim/v2/Users/{gil['id']}"
    assert directory.user(gil["id"]).status == "SUSPENDED"
    response = patch(client, url, {"op": "remove", "path": "active"})
    assert response.status_code == 200 and "active" not in response.get_json()
    assert "active" not in client.get(url).get_json()
    # an unassigned 'active' is the default of a user created without one: an active user,
    # as the other dialects show it
    assert directory.user(gil["id"]).status == "ACTIVE" and directory.user(gil["id"]).active
    found = client.get('/scim/v2/Users?filter=userName eq "gil@contoso.com" and active pr').get_json()
    assert found["totalResults"] == 0
    # other writes keep it unassigned; setting it assigns it again
    result = patch(client, url, {"op": "replace", "path": "title", "value": "Chef"}).get_json()
    assert "active" not in result
    result = patch(client, url, {"op": "replace", "path": "active", "value": False}).get_json()
    assert result["active"] is False and directory.user(gil["id"]).status == "SUSPENDED"


def test_a_status_change_elsewhere_assigns_active_again(client, directory: Directory) -> None:
    hal = create_user(client, userName="hal@contoso.com")
    url = f"/scim/v2/Users/{hal['id']}"
    patch(client, url, {"op": "remove", "path": "active"})
    directory.set_status(hal["id"], "SUSPENDED")  # an Okta suspend
    assert client.get(url).get_json()["active"] is False


# ---------------------------------------------------------------- paging


def test_a_list_without_count_holds_filter_max_results(client, directory: Directory) -> None:
    # RFC 7644 §3.4.2.4, count: "If unspecified, the maximum number of results is set by the
    # service provider."  RFC 7643 §5, filter.maxResults: "the maximum number of resources
    # returned in a response".  The two are the same number.
    max_results = client.get("/scim/v2/ServiceProviderConfig").get_json()["filter"]["maxResults"]
    for i in range(150):
        directory.add_user(f"user{i}@contoso.com")
    new = create_user(client, userName="new@contoso.com")
    body = client.get("/scim/v2/Users").get_json()
    assert body["totalResults"] == body["itemsPerPage"] == 151
    assert new["id"] in {r["id"] for r in body["Resources"]}
    for i in range(150, max_results + 5):
        directory.add_user(f"user{i}@contoso.com")
    assert client.get("/scim/v2/Users").get_json()["itemsPerPage"] == max_results
    assert client.get("/scim/v2/Users?count=5000").get_json()["itemsPerPage"] == max_results


def test_a_patch_that_changes_nothing_keeps_the_version_of_a_user_from_elsewhere(
    client, directory: Directory
) -> None:
    user = directory.add_user(
        "ivy@contoso.com", email="ivy@contoso.com", other_mails=["ivy@home.example"], given_name="Ivy"
    )
    url = f"/scim/v2/Users/{user.object_id}"
    before = client.get(url).get_json()
    after = patch(client, url, {"op": "replace", "path": "userName", "value": "ivy@contoso.com"}).get_json()
    assert after == before
    assert (user.scim_emails, user.formatted_name, user.active_unassigned) == (None, None, False)
