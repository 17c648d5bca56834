"""SCIM fidelity: the mock as scim2-client and scim2-tester see it, in process and over HTTP."""

from __future__ import annotations

import pytest
import requests
from flask import Flask
from scim2_client.engines.wsgi import WSGISCIMClient
from scim2_models import SearchRequest
from scim2_tester import Status
from scim2_tester import check_server

from mock_idp.app import create_app
from mock_idp.server import MockIdpServer
from mock_idp.state.directory import ApiToken
from mock_idp.state.directory import Directory


@pytest.fixture
def directory() -> Directory:
    d = Directory(seed=21)
    d.add_api_token(ApiToken("scim-token", "scim", ("scim.read", "scim.write")))
    for i in range(23):
        d.add_user(
            f"person{i}@contoso.com",
            email=f"person{i}@contoso.com",
            given_name="Person",
            family_name=str(i),
            department="Sales" if i % 3 == 0 else None,
            status="SUSPENDED" if i % 5 == 0 else "ACTIVE",
        )
    users = list(d.users_snapshot())
    for n in range(4):
        group = d.add_group(f"Group {n}")
        for user in users[n::4]:
            d.add_member(group.object_id, user.object_id)
    return d


@pytest.fixture
def app(directory: Directory) -> Flask:
    return create_app(directory, config={"DEFAULT_CREDENTIALS": False})


@pytest.fixture
def scim_client(app: Flask) -> WSGISCIMClient:
    client = WSGISCIMClient(
        app, base_url="http://localhost/scim/v2", headers={"Authorization": "Bearer scim-token"}
    )
    client.discover()
    return client


def query_all(client: WSGISCIMClient, name: str, page: int, filter: str | None = None) -> list:
    model = client.get_resource_model(name)
    found: list = []
    while True:
        result = client.query(
            model, query_parameters=SearchRequest(start_index=len(found) + 1, count=page, filter=filter)
        )
        found.extend(result.resources or [])
        if len(found) >= result.total_results or not result.resources:
            return found


def test_scim2_client_lists_every_user_and_group(scim_client: WSGISCIMClient, directory: Directory) -> None:
    users = query_all(scim_client, "User", 5)
    assert [u.id for u in users] == [u.object_id for u in directory.users_snapshot()]
    assert [u.active for u in users] == [u.active for u in directory.users_snapshot()]
    enterprise = [u for u in users if u["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]]
    assert len(enterprise) == 8
    groups = query_all(scim_client, "Group", 2)
    assert [x.display_name for x in groups] == ["Group 0", "Group 1", "Group 2", "Group 3"]
    assert [m.value for m in groups[1].members] == [
        u.object_id for u in list(directory.users_snapshot())[1::4]
    ]


def test_scim2_client_filters(scim_client: WSGISCIMClient) -> None:
    found = query_all(scim_client, "User", 3, filter='userName sw "person1" and active eq true')
    expected = [f"person{i}@contoso.com" for i in (1, 11, 12, 13, 14, 16, 17, 18, 19)]
    assert sorted(u.user_name for u in found) == sorted(expected)


def test_scim2_client_writes(scim_client: WSGISCIMClient, directory: Directory) -> None:
    model = scim_client.get_resource_model("User")
    created = scim_client.create(model(user_name="new@contoso.com", display_name="New Person", active=False))
    assert created.id in directory.users and directory.user(created.id).status == "SUSPENDED"
    fetched = scim_client.query(model, created.id)
    assert fetched.display_name == "New Person"
    scim_client.delete(model, created.id)
    assert created.id not in directory.users


@pytest.mark.parametrize("more_users", [0, 130])
def test_scim2_tester(scim_client: WSGISCIMClient, directory: Directory, more_users: int) -> None:
    # above 100 users the tester finds what it created only if a list without 'count' holds it
    for i in range(more_users):
        directory.add_user(f"extra{i}@contoso.com")
    results = check_server(scim_client)
    passed = [r for r in results if r.status == Status.SUCCESS]
    failed = [r for r in results if r.status not in (Status.SUCCESS, Status.SKIPPED)]
    assert failed == [], [(r.title, r.reason) for r in failed]
    assert len(passed) >= 86
    # Skipped, not failed: a search at the server root, which this mock answers 501
    # (views.search_everything).  RFC 7644 §3.4.2: "Queries MAY be performed against a
    # SCIM resource object, a resource type endpoint, or a SCIM server root."
    skipped = {r.title for r in results if r.status == Status.SKIPPED}
    assert skipped <= {"search_with_attributes"}


@pytest.mark.e2e
def test_live_server_paging(directory: Directory) -> None:
    with MockIdpServer(directory, config={"DEFAULT_CREDENTIALS": False}) as server:
        session = requests.Session()
        session.headers["Authorization"] = "Bearer scim-token"
        seen: list[str] = []
        start = 1
        while True:
            response = session.get(
                f"{server.url}/scim/v2/Users", params={"startIndex": start, "count": 10}, timeout=10
            )
            assert response.headers["Content-Type"] == "application/scim+json"
            body = response.json()
            seen.extend(r["id"] for r in body["Resources"])
            start += body["itemsPerPage"]
            if start > body["totalResults"]:
                break
        assert seen == [u.object_id for u in directory.users_snapshot()]
        location = body["Resources"][0]["meta"]["location"]
        assert location.startswith(f"{server.url}/scim/v2/Users/")
        assert session.get(location, timeout=10).json()["id"] == body["Resources"][0]["id"]
