"""Graph dialect: collections, paging, $select, $filter, members, errors."""

from __future__ import annotations

import uuid
from datetime import datetime
from datetime import timezone

import pytest
from flask import Flask
from flask import g

from mock_idp.graph import views as graph
from mock_idp.state.directory import Directory

T0 = datetime(2026, 1, 5, 9, 0, 0, tzinfo=timezone.utc)


@pytest.fixture
def directory() -> Directory:
    d = Directory(seed=7, tenant_domain="contoso.onmicrosoft.com", clock=lambda: T0)
    d.add_user(
        "alice@contoso.com",
        email="alice@contoso.com",
        given_name="Alice",
        family_name="Smith",
        department="R&D",
        employee_number="E1",
        title="Engineer",
    )
    d.add_user(
        "bob@contoso.com", email="bob@contoso.com", given_name="Bob", family_name="Jones", status="SUSPENDED"
    )
    d.add_user(
        "carol@fabrikam.com",
        email="carol@fabrikam.com",
        given_name="Carol",
        family_name="Guest",
        user_type="Guest",
        creation_type="Invitation",
        external_user_state="PendingAcceptance",
        other_mails=["carol@fabrikam.com"],
    )
    for i in range(7):
        d.add_user(
            f"user{i}@contoso.com", email=f"user{i}@contoso.com", given_name="User", family_name=str(i)
        )
    return d


@pytest.fixture
def app(blueprint_app) -> Flask:  # type: ignore[no-untyped-def]
    return blueprint_app(graph.blueprint)


@pytest.fixture
def token(directory: Directory) -> str:
    return directory.issue_token("app", "graph", ["User.Read.All", "GroupMember.Read.All"]).token


@pytest.fixture
def client(app: Flask, token: str, client_for):  # type: ignore[no-untyped-def]
    return client_for(app, f"Bearer {token}")


def walk(client, url: str, **headers: str) -> list[dict]:  # type: ignore[no-untyped-def]
    """Every element of a collection, following @odata.nextLink verbatim."""
    items: list[dict] = []
    while url:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        items.extend(body["value"])
        url = body.get("@odata.nextLink")
    return items


def test_paging_through_users_yields_the_directory(client, directory: Directory) -> None:
    items = walk(client, "/v1.0/users?$top=3")
    assert [u["id"] for u in items] == [u.object_id for u in directory.users_snapshot()]


def test_next_link_is_absolute_and_keeps_the_query_options(client) -> None:
    body = client.get("/v1.0/users?$top=2&$select=id,accountEnabled").get_json()
    link = body["@odata.nextLink"]
    assert link.startswith("http://localhost/v1.0/users?$skiptoken=")
    second = client.get(link).get_json()
    assert len(second["value"]) == 2
    assert set(second["value"][0]) == {"id", "accountEnabled"}
    assert second["@odata.context"] == "http://localhost/v1.0/$metadata#users(id,accountEnabled)"


def test_default_properties_and_headers(client) -> None:
    response = client.get("/v1.0/users", headers={"client-request-id": "abc"})
    assert response.headers["Content-Type"] == graph.CONTENT_TYPE
    assert response.headers["client-request-id"] == "abc"
    assert uuid.UUID(response.headers["request-id"])
    assert response.headers["OData-Version"] == "4.0"
    body = response.get_json()
    assert body["@odata.context"] == "http://localhost/v1.0/$metadata#users"
    assert "@odata.nextLink" not in body
    alice = body["value"][0]
    assert set(alice) == {
        "businessPhones",
        "displayName",
        "givenName",
        "jobTitle",
        "mail",
        "mobilePhone",
        "officeLocation",
        "preferredLanguage",
        "surname",
        "userPrincipalName",
        "id",
    }
    assert alice["businessPhones"] == []
    assert alice["jobTitle"] == "Engineer"


def test_select_only_properties(client) -> None:
    select = "id,accountEnabled,userType,otherMails,externalUserState,creationType,createdDateTime,employeeId"
    users = client.get(f"/v1.0/users?$select={select}").get_json()["value"]
    alice, bob, carol = users[:3]
    assert alice["accountEnabled"] is True and bob["accountEnabled"] is False
    assert alice["createdDateTime"] == "2026-01-05T09:00:00Z"
    assert alice["employeeId"] == "E1"
    assert carol["userType"] == "Guest" and carol["creationType"] == "Invitation"
    assert carol["externalUserState"] == "PendingAcceptance"
    assert carol["otherMails"] == ["carol@fabrikam.com"]


def test_guest_renders_as_entra_has_it(client, directory: Directory) -> None:
    carol = directory.user_by_name("carol@fabrikam.com")
    assert carol is not None
    body = client.get(
        f"/v1.0/users/{carol.object_id}?$select=userPrincipalName,mail,mailNickname,identities"
    ).get_json()
    assert body["userPrincipalName"] == "carol_fabrikam.com#EXT#@contoso.onmicrosoft.com"
    assert body["mail"] == "carol@fabrikam.com"
    assert body["mailNickname"] == "carol_fabrikam.com#EXT#"
    assert body["identities"][0]["issuer"] == "contoso.onmicrosoft.com"
    assert body["@odata.context"].endswith(
        "$metadata#users(userPrincipalName,mail,mailNickname,identities)/$entity"
    )


def test_user_by_upn_and_unknown_user(client) -> None:
    assert client.get("/v1.0/users/ALICE@contoso.com").get_json()["givenName"] == "Alice"
    response = client.get("/v1.0/users/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "Request_ResourceNotFound"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("userPrincipalName eq 'ALICE@contoso.com'", ["alice@contoso.com"]),
        ("mail eq 'bob@contoso.com'", ["bob@contoso.com"]),
        ("startswith(displayName,'car')", ["carol@fabrikam.com"]),
        ("accountEnabled eq false", ["bob@contoso.com"]),
        ("userType eq 'Guest'", ["carol@fabrikam.com"]),
        ("userType eq 'Guest' or mail eq 'alice@contoso.com'", ["alice@contoso.com", "carol@fabrikam.com"]),
        (
            "(startswith(mail,'user1') or startswith(mail,'user2')) and accountEnabled eq true",
            ["user1@contoso.com", "user2@contoso.com"],
        ),
        ("displayName eq 'O''Brien'", []),
    ],
)
def test_filter(client, query: str, expected: list[str]) -> None:
    users = walk(client, f"/v1.0/users?$filter={query}&$select=mail")
    assert sorted(u["mail"] for u in users) == expected


def test_filter_by_id(client, directory: Directory) -> None:
    alice = directory.user_by_name("alice@contoso.com")
    assert alice is not None
    users = walk(client, f"/v1.0/users?$filter=id eq '{alice.object_id}'")
    assert [u["id"] for u in users] == [alice.object_id]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("endswith(mail,'@fabrikam.com')", "Request_UnsupportedQuery"),
        ("mail ne 'x'", "Request_UnsupportedQuery"),
        ("not (accountEnabled eq true)", "Request_UnsupportedQuery"),
        ("jobTitle eq 'x'", "Request_UnsupportedQuery"),
        ("mail gt 'a'", "Request_UnsupportedQuery"),
        ("mail eq 'unterminated", "Request_BadRequest"),
        ("mail eq", "Request_BadRequest"),
        ("(mail eq 'a'", "Request_BadRequest"),
        ("", "Request_BadRequest"),
    ],
)
def test_bad_filter(client, query: str, code: str) -> None:
    response = client.get(f"/v1.0/users?$filter={query}")
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == code
    assert error["message"]


def test_advanced_filter_with_consistency_level_and_count(client) -> None:
    url = "/v1.0/users?$filter=endswith(mail,'@fabrikam.com')&$count=true"
    body = client.get(url, headers={"ConsistencyLevel": "eventual"}).get_json()
    assert body["@odata.count"] == 1
    assert body["value"][0]["mail"] == "carol@fabrikam.com"
    body = client.get("/v1.0/users?$count=true&$top=2", headers={"ConsistencyLevel": "eventual"}).get_json()
    assert body["@odata.count"] == 10 and len(body["value"]) == 2


def test_count_without_consistency_level_is_refused(client) -> None:
    assert client.get("/v1.0/users?$count=true").status_code == 400


@pytest.mark.parametrize("top", ["0", "1000", "abc", "-1"])
def test_top_out_of_range(client, top: str) -> None:
    response = client.get(f"/v1.0/users?$top={top}")
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "Request_BadRequest"
    assert error["message"] == f"Invalid page size specified: '{top}'. Must be between 1 and 999 inclusive."


def test_top_999_is_fine(client) -> None:
    assert len(client.get("/v1.0/users?$top=999").get_json()["value"]) == 10


def test_unknown_select_property(client) -> None:
    response = client.get("/v1.0/users?$select=id,shoeSize")
    assert response.status_code == 400
    assert "shoeSize" in response.get_json()["error"]["message"]


def test_skip_and_garbled_skiptoken(client) -> None:
    assert client.get("/v1.0/users?$skip=2").status_code == 400
    assert client.get("/v1.0/users?$skiptoken=!!!").get_json()["error"]["code"] == "Request_BadRequest"


def test_orderby_display_name(client) -> None:
    users = walk(client, "/v1.0/users?$orderby=displayName desc&$select=displayName")
    names = [u["displayName"] for u in users]
    assert names == sorted(names, key=str.lower, reverse=True)
    assert client.get("/v1.0/users?$orderby=mail").get_json()["error"]["code"] == "Request_UnsupportedQuery"
    assert client.get("/v1.0/groups?$orderby=userPrincipalName").status_code == 400


@pytest.fixture
def groups(directory: Directory) -> dict[str, str]:
    users = {u.user_name: u.object_id for u in directory.users_snapshot()}
    eng = directory.add_group("Engineering", description="Builders")
    sub = directory.add_group("Platform")
    directory.add_member(eng.object_id, users["alice@contoso.com"])
    directory.add_member(eng.object_id, users["carol@fabrikam.com"])
    directory.add_member(eng.object_id, sub.object_id, kind="group")
    directory.add_member(sub.object_id, users["bob@contoso.com"])
    directory.add_member(sub.object_id, users["alice@contoso.com"])
    directory.add_member(sub.object_id, eng.object_id, kind="group")  # a cycle
    return {"eng": eng.object_id, "sub": sub.object_id, **users}


def test_groups_list_and_get(client, groups: dict[str, str]) -> None:
    body = client.get("/v1.0/groups").get_json()
    assert [x["displayName"] for x in body["value"]] == ["Engineering", "Platform"]
    eng = body["value"][0]
    assert eng["groupTypes"] == [] and eng["securityEnabled"] is True and eng["mailEnabled"] is False
    assert eng["description"] == "Builders"
    assert eng["securityIdentifier"].startswith("S-1-12-1-")
    one = client.get(f"/v1.0/groups/{groups['sub']}?$select=id,displayName").get_json()
    assert {k: v for k, v in one.items() if not k.startswith("@")} == {
        "id": groups["sub"],
        "displayName": "Platform",
    }
    filtered = client.get("/v1.0/groups?$filter=displayName eq 'platform'").get_json()["value"]
    assert [x["id"] for x in filtered] == [groups["sub"]]


def test_direct_members_carry_odata_type(client, groups: dict[str, str]) -> None:
    body = client.get(f"/v1.0/groups/{groups['eng']}/members").get_json()
    assert body["@odata.context"] == "http://localhost/v1.0/$metadata#directoryObjects"
    kinds = [(m["@odata.type"], m["id"]) for m in body["value"]]
    assert kinds == [
        ("#microsoft.graph.user", groups["alice@contoso.com"]),
        ("#microsoft.graph.user", groups["carol@fabrikam.com"]),
        ("#microsoft.graph.group", groups["sub"]),
    ]
    assert body["value"][0]["userPrincipalName"] == "alice@contoso.com"
    assert body["value"][2]["displayName"] == "Platform"


def test_members_paging_and_cast(client, groups: dict[str, str]) -> None:
    members = walk(client, f"/v1.0/groups/{groups['eng']}/members?$top=1&$select=id")
    assert len(members) == 3
    users = client.get(f"/v1.0/groups/{groups['eng']}/members/microsoft.graph.user").get_json()
    assert [m["id"] for m in users["value"]] == [groups["alice@contoso.com"], groups["carol@fabrikam.com"]]


def test_transitive_members_cut_cycles(client, groups: dict[str, str]) -> None:
    members = walk(client, f"/v1.0/groups/{groups['eng']}/transitiveMembers")
    ids = [m["id"] for m in members]
    assert sorted(ids) == sorted(
        [groups["alice@contoso.com"], groups["carol@fabrikam.com"], groups["sub"], groups["bob@contoso.com"]]
    )


def test_members_of_unknown_group(client) -> None:
    response = client.get("/v1.0/groups/nope/members")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "Request_ResourceNotFound"


def test_truncated_page_omits_next_link(app: Flask, client) -> None:
    @app.before_request
    def truncate() -> None:
        g.truncate_page = True

    body = client.get("/v1.0/users?$top=2").get_json()
    assert len(body["value"]) == 2 and "@odata.nextLink" not in body


def test_rate_limited_shape(app: Flask) -> None:
    with app.test_request_context("/v1.0/users"):
        response = graph.renderer.rate_limited(limit=10, reset_epoch=0, retry_after=3)
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "3"
        error = response.get_json()["error"]
        assert error["code"] == "TooManyRequests"
        assert error["message"] == "Please retry again later."
        assert error["innerError"]["status"] == "429"
        assert "request-id" in error["innerError"]


def test_error_shape(app: Flask) -> None:
    with app.test_request_context("/v1.0/users", headers={"client-request-id": "c1"}):
        response = graph.renderer.error(503, "down")
        error = response.get_json()["error"]
        assert error["code"] == "serviceNotAvailable" and error["message"] == "down"
        assert set(error["innerError"]) == {"date", "request-id", "client-request-id"}
        assert error["innerError"]["client-request-id"] == "c1"


def test_member_select_applies_per_type(client, groups: dict[str, str]) -> None:
    url = f"/v1.0/groups/{groups['eng']}/members?$select=userPrincipalName,securityEnabled"
    body = client.get(url).get_json()
    user = {"@odata.type": "#microsoft.graph.user", "userPrincipalName": "alice@contoso.com"}
    assert body["value"][0] == user
    assert body["value"][2] == {"@odata.type": "#microsoft.graph.group", "securityEnabled": True}
    assert client.get(f"/v1.0/groups/{groups['eng']}/members?$select=shoeSize").status_code == 400


def test_paging_survives_deletions_between_pages(client, directory: Directory) -> None:
    first = client.get("/v1.0/users?$top=4").get_json()
    for item in first["value"][:3]:
        directory.delete_user(item["id"])
    rest = walk(client, first["@odata.nextLink"])
    assert [u["id"] for u in rest] == [u.object_id for u in directory.users_snapshot()][1:]


def test_unknown_paths_answer_in_graph_shape(client) -> None:
    response = client.get("/v1.0/applications")
    assert response.status_code == 400
    assert response.get_json()["error"]["message"] == "Resource not found for the segment 'applications'."
    assert client.post("/v1.0/users", json={}).status_code == 405


def test_short_namespace_cast_and_other_member_types(client, groups: dict[str, str]) -> None:
    """The SDK casts with the metadata alias ``graph.``; types the mock holds none of are empty."""
    users = client.get(f"/v1.0/groups/{groups['eng']}/members/graph.user").get_json()
    assert [m["id"] for m in users["value"]] == [groups["alice@contoso.com"], groups["carol@fabrikam.com"]]
    nested = client.get(f"/v1.0/groups/{groups['eng']}/members/graph.group").get_json()
    assert [m["id"] for m in nested["value"]] == [groups["sub"]]
    devices = client.get(f"/v1.0/groups/{groups['eng']}/members/microsoft.graph.device")
    assert devices.status_code == 200 and devices.get_json()["value"] == []


def test_count_segments_need_eventual_consistency(client, groups: dict[str, str]) -> None:
    eventual = {"ConsistencyLevel": "eventual"}
    users = client.get("/v1.0/users/$count", headers=eventual)
    assert users.status_code == 200 and users.mimetype == "text/plain"
    assert int(users.get_data(as_text=True)) == 10
    assert client.get("/v1.0/groups/$count", headers=eventual).get_data(as_text=True) == "2"
    members = client.get(f"/v1.0/groups/{groups['eng']}/members/$count", headers=eventual)
    assert members.get_data(as_text=True) == "3"
    cast = client.get(f"/v1.0/groups/{groups['eng']}/members/graph.user/$count", headers=eventual)
    assert cast.get_data(as_text=True) == "2"
    assert client.get("/v1.0/users/$count").status_code == 400
