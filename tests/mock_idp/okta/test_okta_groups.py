"""Okta dialect, groups: listing, filter/search/q, members (transitive), a user's groups."""

from __future__ import annotations

import re
from datetime import datetime
from datetime import timedelta
from datetime import timezone

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mock_idp.state.directory import ApiToken
from mock_idp.state.directory import Directory

T0 = datetime(2026, 1, 5, 9, 0, 0, tzinfo=timezone.utc)
TOKEN = "00ssws-groups-token"


@pytest.fixture
def directory() -> Directory:
    d = Directory(seed=5, clock=lambda: T0)
    users = [
        d.add_user(f"u{i:02d}@example.com", email=f"u{i:02d}@example.com", status="ACTIVE") for i in range(30)
    ]
    d.set_status(users[29].object_id, "DEPROVISIONED")
    parent = d.add_group("Engineering", description="All engineers")
    child = d.add_group("Backend", description="Server people")
    grandchild = d.add_group("Databases")
    d.add_group("Sales", description="Sellers")
    d.add_group("Empty")
    for user in users[:3]:
        d.add_member(parent.object_id, user.object_id)
    for user in users[2:8]:
        d.add_member(child.object_id, user.object_id)
    for user in users[7:29] + [users[29]]:
        d.add_member(grandchild.object_id, user.object_id)
    d.add_member(parent.object_id, child.object_id, kind="group")
    d.add_member(child.object_id, grandchild.object_id, kind="group")
    d.add_member(grandchild.object_id, parent.object_id, kind="group")  # a cycle: cut, not looped
    d.add_api_token(ApiToken(TOKEN, "okta", name="test"))
    return d


@pytest.fixture
def client(real_app: Flask, client_for) -> FlaskClient:  # type: ignore[no-untyped-def]
    return client_for(real_app, f"SSWS {TOKEN}")


def group_named(directory: Directory, name: str):
    return next(g for g in directory.groups.values() if g.name == name)


def rels(response) -> dict[str, str]:
    return {
        m[2]: m[1]
        for m in (re.fullmatch(r'<([^>]+)>; rel="(\w+)"', v) for v in response.headers.getlist("Link"))
    }


def page_through(client: FlaskClient, url: str) -> list[dict]:
    items: list[dict] = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.json
        items.extend(response.json)
        url = rels(response).get("next", "")
    return items


def test_group_list_pages_through_every_group(client, directory):
    groups = page_through(client, "/api/v1/groups?limit=2")
    assert [g["id"] for g in groups] == sorted(g.okta_id for g in directory.groups.values())


def test_group_object_shape(client, directory):
    group = group_named(directory, "Engineering")
    body = client.get(f"/api/v1/groups/{group.okta_id}").json
    assert body["id"] == group.okta_id
    assert body["objectClass"] == ["okta:user_group"]
    assert body["type"] == "OKTA_GROUP"
    assert body["profile"] == {"name": "Engineering", "description": "All engineers"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", body["lastMembershipUpdated"])
    assert body["_links"]["users"] == {"href": f"http://localhost/api/v1/groups/{group.okta_id}/users"}
    assert body["_links"]["apps"] == {"href": f"http://localhost/api/v1/groups/{group.okta_id}/apps"}
    assert [logo["name"] for logo in body["_links"]["logo"]] == ["medium", "large"]


def test_expand_stats_counts_transitive_users(client, directory):
    group = group_named(directory, "Backend")
    body = client.get(f"/api/v1/groups/{group.okta_id}?expand=stats").json
    assert body["_embedded"]["stats"]["usersCount"] == 30


def test_members_are_transitive_and_paged(client, directory):
    parent = group_named(directory, "Engineering")
    members = page_through(client, f"/api/v1/groups/{parent.okta_id}/users?limit=7")
    expected = {directory.user(uid).okta_id for uid in directory.transitive_user_ids(parent.object_id)}
    assert [u["id"] for u in members] == sorted(expected)
    assert len(members) == 30  # every user, through Backend and Databases; the cycle is cut
    assert any(u["status"] == "DEPROVISIONED" for u in members)


def test_members_default_limit_is_1000(client, directory):
    group = group_named(directory, "Databases")
    for i in range(1001):
        user = directory.add_user(f"bulk{i}@example.com", email=f"bulk{i}@example.com")
        directory.add_member(group.object_id, user.object_id)
    response = client.get(f"/api/v1/groups/{group.okta_id}/users")
    assert len(response.json) == 1000
    assert "next" in rels(response)


def test_empty_group_has_no_members_and_no_next(client, directory):
    group = group_named(directory, "Empty")
    response = client.get(f"/api/v1/groups/{group.okta_id}/users")
    assert response.json == []
    assert list(rels(response)) == ["self"]


def test_users_groups_include_ancestors(client, directory):
    user = directory.user_by_name("u10@example.com")
    names = {g["profile"]["name"] for g in client.get(f"/api/v1/users/{user.okta_id}/groups").json}
    assert names == {"Databases", "Backend", "Engineering"}
    loner = directory.add_user("loner@example.com", email="loner@example.com")
    assert client.get(f"/api/v1/users/{loner.okta_id}/groups").json == []


@pytest.mark.parametrize(
    "path",
    ["/api/v1/groups/00gmissing", "/api/v1/groups/00gmissing/users", "/api/v1/users/00umissing/groups"],
)
def test_unknown_ids_are_e0000007(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.json["errorCode"] == "E0000007"
    assert "00gmissing" in response.json["errorSummary"] or "00umissing" in response.json["errorSummary"]


def test_group_not_found_names_the_resource(client):
    body = client.get("/api/v1/groups/00gmissing").json
    assert body["errorSummary"] == "Not found: Resource not found: 00gmissing (UserGroup)"


def test_filter_by_id_and_type(client, directory):
    group = group_named(directory, "Sales")
    body = client.get(f'/api/v1/groups?filter=id eq "{group.okta_id}"').json
    assert [g["id"] for g in body] == [group.okta_id]
    assert len(client.get('/api/v1/groups?filter=type eq "OKTA_GROUP"').json) == 5
    assert client.get('/api/v1/groups?filter=type eq "APP_GROUP"').json == []


def test_filter_last_membership_updated(client, directory):
    changed = max(directory.groups.values(), key=lambda g: g.last_membership_updated)
    stamp = changed.last_membership_updated.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    body = client.get(f'/api/v1/groups?filter=lastMembershipUpdated ge "{stamp}"').json
    # the group edited last, and every group whose (transitive) users that edit changed
    moved = {
        g.okta_id
        for g in directory.groups.values()
        if g.okta_membership_updated >= changed.last_membership_updated
    }
    assert changed.okta_id in moved
    assert {g["id"] for g in body} == moved


def test_an_edit_below_a_group_moves_its_last_membership_updated(client, directory):
    groups = {g.name: g for g in directory.groups.values()}
    before = client.get(f"/api/v1/groups/{groups['Engineering'].okta_id}").json["lastMembershipUpdated"]
    directory._clock = lambda: T0 + timedelta(hours=1)
    only_there = list(groups["Databases"].user_ids)[1]  # u08: in no other group directly
    directory.remove_member(groups["Databases"].object_id, only_there)
    for name in ("Databases", "Backend", "Engineering"):  # Engineering and Backend list Databases' users
        after = client.get(f"/api/v1/groups/{groups[name].okta_id}").json["lastMembershipUpdated"]
        assert after > before, name
    assert client.get(f"/api/v1/groups/{groups['Sales'].okta_id}").json["lastMembershipUpdated"] <= before


def test_filter_on_name_is_refused(client):
    response = client.get('/api/v1/groups?filter=profile.name eq "Sales"')
    assert response.status_code == 400
    assert response.json["errorCode"] == "E0000001"


def test_search_on_name_and_description(client):
    body = client.get('/api/v1/groups?search=profile.name sw "eng"').json
    assert [g["profile"]["name"] for g in body] == ["Engineering"]
    body = client.get('/api/v1/groups?search=profile.description co "people" or profile.name eq "sales"').json
    assert sorted(g["profile"]["name"] for g in body) == ["Backend", "Sales"]


def test_q_is_a_name_prefix(client):
    body = client.get("/api/v1/groups?q=Da").json
    assert [g["profile"]["name"] for g in body] == ["Databases"]
