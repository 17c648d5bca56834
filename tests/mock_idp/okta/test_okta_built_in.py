"""Okta dialect: the built-in ``Everyone`` group is ``type: BUILT_IN`` and lists every user."""

from __future__ import annotations

from datetime import datetime
from datetime import timezone
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mock_idp.state.directory import ApiToken
from mock_idp.state.directory import Directory
from mock_idp.state.directory import Group

T0 = datetime(2026, 1, 5, 9, 0, 0, tzinfo=timezone.utc)
TOKEN = "00ssws-built-in-token"


@pytest.fixture
def directory() -> Directory:
    d = Directory(seed=6, clock=lambda: T0)
    users = [d.add_user(f"u{i}@example.com", email=f"u{i}@example.com") for i in range(5)]
    d.add_group("Everyone", built_in=True)
    team = d.add_group("Team", description="A few")
    d.add_member(team.object_id, users[0].object_id)
    d.add_api_token(ApiToken(TOKEN, "okta", name="test"))
    return d


@pytest.fixture
def client(real_app: Flask, client_for) -> FlaskClient:  # type: ignore[no-untyped-def]
    return client_for(real_app, f"SSWS {TOKEN}")


def group_named(directory: Directory, name: str) -> Group:
    return next(g for g in directory.groups.values() if g.name == name)


def names(client: FlaskClient, query: str) -> list[str]:
    response = client.get(f"/api/v1/groups?{query}")
    assert response.status_code == 200, response.json
    return [g["profile"]["name"] for g in response.json]


def test_everyone_is_built_in_with_okta_description(client: FlaskClient, directory: Directory) -> None:
    everyone = group_named(directory, "Everyone")
    body = client.get(f"/api/v1/groups/{everyone.okta_id}").json
    assert body["type"] == "BUILT_IN"
    assert body["objectClass"] == ["okta:user_group"]
    assert body["profile"] == {"name": "Everyone", "description": "All users in your organization"}
    team = client.get(f"/api/v1/groups/{group_named(directory, 'Team').okta_id}").json
    assert team["type"] == "OKTA_GROUP" and team["profile"]["description"] == "A few"


def test_a_description_set_on_the_built_in_group_is_kept(client: FlaskClient, directory: Directory) -> None:
    directory.groups[group_named(directory, "Everyone").object_id].description = "Our whole company"
    body = client.get(f"/api/v1/groups/{group_named(directory, 'Everyone').okta_id}").json
    assert body["profile"]["description"] == "Our whole company"


@pytest.mark.parametrize("param", ["filter", "search"])
def test_type_filters_tell_built_in_from_okta_groups(client: FlaskClient, param: str) -> None:
    def of_type(group_type: str) -> list[str]:
        return names(client, f"{param}=" + quote(f'type eq "{group_type}"'))

    assert of_type("BUILT_IN") == ["Everyone"]
    assert of_type("OKTA_GROUP") == ["Team"]
    assert of_type("APP_GROUP") == []


def test_search_on_the_description_sees_okta_text(client: FlaskClient) -> None:
    assert names(client, "search=" + quote('profile.description sw "All users"')) == ["Everyone"]


def test_everyone_lists_every_user_and_every_user_lists_it(client: FlaskClient, directory: Directory) -> None:
    everyone = group_named(directory, "Everyone")
    members = client.get(f"/api/v1/groups/{everyone.okta_id}/users").json
    assert sorted(m["id"] for m in members) == sorted(u.okta_id for u in directory.users.values())
    for user in directory.users.values():
        groups = client.get(f"/api/v1/users/{user.okta_id}/groups").json
        assert "Everyone" in [g["profile"]["name"] for g in groups]
