"""Graph inside the whole mock: create_app's slash middleware, faults, limits, a live server."""

from __future__ import annotations

import pytest
import requests

from mock_idp.app import create_app
from mock_idp.graph import views as graph
from mock_idp.server import MockIdpServer
from mock_idp.state.directory import Directory


@pytest.fixture
def directory() -> Directory:
    d = Directory(seed=4)
    for i in range(12):
        d.add_user(f"p{i}@contoso.com", email=f"p{i}@contoso.com", given_name="P", family_name=str(i))
    group = d.add_group("All")
    for user in d.users_snapshot():
        d.add_member(group.object_id, user.object_id)
    return d


@pytest.fixture
def bearer(directory: Directory) -> dict[str, str]:
    token = directory.issue_token("app", "graph", ["User.Read.All", "GroupMember.Read.All"]).token
    return {"Authorization": f"Bearer {token}"}


def test_double_slash_after_version(directory: Directory, bearer: dict[str, str]) -> None:
    client = create_app(directory, config={"DEFAULT_CREDENTIALS": False}).test_client()
    body = client.get("/v1.0//users?$top=5", headers=bearer).get_json()
    assert len(body["value"]) == 5
    assert body["@odata.nextLink"].startswith("http://localhost/v1.0/users?$skiptoken=")
    delta = client.get("/v1.0//users/delta()", headers=bearer).get_json()
    assert "@odata.deltaLink" in delta or "@odata.nextLink" in delta


def test_truncate_fault_drops_the_next_link(directory: Directory, bearer: dict[str, str]) -> None:
    faults = [{"kind": "truncate", "dialect": "graph", "path": "^/v1.0/users$", "count": 1}]
    client = create_app(directory, config={"DEFAULT_CREDENTIALS": False, "FAULTS": faults}).test_client()
    first = client.get("/v1.0/users?$top=5", headers=bearer).get_json()
    assert len(first["value"]) == 5 and "@odata.nextLink" not in first
    assert "@odata.nextLink" in client.get("/v1.0/users?$top=5", headers=bearer).get_json()


def test_status_and_rate_limit_faults_answer_in_graph_shape(
    directory: Directory, bearer: dict[str, str]
) -> None:
    faults = [
        {"kind": "rate_limit", "dialect": "graph", "path": "^/v1.0/users$", "count": 1, "retry_after": 2},
        {"kind": "status", "dialect": "graph", "path": "^/v1.0/groups$", "count": 1, "status": 503},
    ]
    client = create_app(directory, config={"DEFAULT_CREDENTIALS": False, "FAULTS": faults}).test_client()
    limited = client.get("/v1.0/users", headers=bearer)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "2"
    assert limited.get_json()["error"]["code"] == "TooManyRequests"
    assert limited.headers["Content-Type"] == graph.CONTENT_TYPE
    failed = client.get("/v1.0/groups", headers=bearer)
    assert failed.status_code == 503 and failed.get_json()["error"]["code"] == "serviceNotAvailable"


def test_auth_failure_through_the_app_has_a_challenge(directory: Directory) -> None:
    client = create_app(directory, config={"DEFAULT_CREDENTIALS": False}).test_client()
    response = client.get("/v1.0/users")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "InvalidAuthenticationToken"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.e2e
def test_live_server_paging_and_members(directory: Directory, bearer: dict[str, str]) -> None:
    with MockIdpServer(directory, config={"DEFAULT_CREDENTIALS": False}) as server:
        session = requests.Session()
        session.headers.update(bearer)
        url: str | None = f"{server.url}/v1.0/users?$top=5&$select=id,accountEnabled"
        seen: list[str] = []
        while url:
            body = session.get(url, timeout=10).json()
            seen.extend(u["id"] for u in body["value"])
            url = body.get("@odata.nextLink")
            if url:
                assert url.startswith(f"{server.url}/v1.0/users?")
        assert seen == [u.object_id for u in directory.users_snapshot()]
        group = directory.groups_snapshot()[0]
        members = session.get(
            f"{server.url}/v1.0/groups/{group.object_id}/members?$top=999", timeout=10
        ).json()
        assert len(members["value"]) == 12
        assert {m["@odata.type"] for m in members["value"]} == {"#microsoft.graph.user"}
