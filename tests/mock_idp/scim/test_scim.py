"""SCIM dialect: discovery, ListResponse paging, filters, projection, errors (auth: test_scim_auth.py)."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta
from datetime import timezone

import pytest
from flask import Flask
from flask import g

from mock_idp.scim import views as scim
from mock_idp.scim.schemas import CORE_USER
from mock_idp.scim.schemas import ENTERPRISE
from mock_idp.state.directory import ApiToken
from mock_idp.state.directory import Directory


@pytest.fixture
def clock_start() -> datetime:
    return datetime(2026, 2, 1, 8, 0, 0, tzinfo=timezone.utc)


@pytest.fixture
def directory(clock) -> Directory:  # type: ignore[no-untyped-def]
    d = Directory(seed=11, clock=clock)
    d.add_api_token(ApiToken("static-token", "scim", name="provisioning"))
    d.add_user(
        "alice@contoso.com",
        email="alice@contoso.com",
        given_name="Alice",
        family_name="Smith",
        external_id="ext-1",
        department="R&D",
        employee_number="701",
        title="Engineer",
    )
    d.add_user(
        "Bob@Contoso.com",
        email="bob@contoso.com",
        given_name="Bob",
        family_name="Jones",
        status="SUSPENDED",
        other_mails=["bob@home.example"],
    )
    d.add_user(
        "carol@fabrikam.com",
        email="carol@fabrikam.com",
        given_name="Carol",
        family_name="Guest",
        status="DEPROVISIONED",
    )
    for i in range(7):
        d.add_user(
            f"user{i}@contoso.com", email=f"user{i}@contoso.com", given_name="User", family_name=str(i)
        )
    clock.now += timedelta(days=1)
    d.add_user("late@contoso.com", email="late@contoso.com")
    users = {u.user_name: u.object_id for u in d.users_snapshot()}
    team = d.add_group("Team", external_id="g-ext")
    sub = d.add_group("Sub")
    d.add_member(team.object_id, users["alice@contoso.com"])
    d.add_member(team.object_id, sub.object_id, kind="group")
    d.add_member(sub.object_id, users["Bob@Contoso.com"])
    return d


@pytest.fixture
def app(blueprint_app) -> Flask:  # type: ignore[no-untyped-def]
    return blueprint_app(scim.blueprint)


@pytest.fixture
def client(app: Flask, client_for):  # type: ignore[no-untyped-def]
    return client_for(app, "Bearer static-token")


def walk(client, path: str, count: int) -> list[dict]:  # type: ignore[no-untyped-def]
    """Page a listing by startIndex until totalResults is reached."""
    items: list[dict] = []
    start = 1
    sep = "&" if "?" in path else "?"
    while True:
        body = client.get(f"{path}{sep}startIndex={start}&count={count}").get_json()
        assert body["startIndex"] == start
        items.extend(body["Resources"])
        assert body["itemsPerPage"] == len(body["Resources"])
        start += body["itemsPerPage"]
        if start > body["totalResults"] or not body["Resources"]:
            return items


def user_names(body: dict) -> list[str]:
    return [r["userName"] for r in body["Resources"]]


def test_paging_yields_the_directory(client, directory: Directory) -> None:
    assert [u["id"] for u in walk(client, "/scim/v2/Users", 3)] == [
        u.object_id for u in directory.users_snapshot()
    ]
    assert [x["displayName"] for x in walk(client, "/scim/v2/Groups", 1)] == ["Team", "Sub"]


def test_list_response_shape(client) -> None:
    response = client.get("/scim/v2/Users?count=2")
    assert response.headers["Content-Type"] == "application/scim+json"
    body = response.get_json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
    assert (body["totalResults"], body["startIndex"], body["itemsPerPage"]) == (11, 1, 2)


@pytest.mark.parametrize(
    ("query", "start", "per_page"),
    [
        ("startIndex=0", 1, 11),
        ("startIndex=-5&count=3", 1, 3),
        ("count=0", 1, 0),
        ("count=-1", 1, 0),
        ("startIndex=11", 11, 1),
        ("startIndex=50", 50, 0),
        ("count=5000", 1, 11),
    ],
)
def test_start_index_and_count(client, query: str, start: int, per_page: int) -> None:
    body = client.get(f"/scim/v2/Users?{query}").get_json()
    assert body["totalResults"] == 11
    assert body["startIndex"] == start and body["itemsPerPage"] == per_page == len(body["Resources"])


def test_bad_paging_numbers(client) -> None:
    body = client.get("/scim/v2/Users?count=lots").get_json()
    assert body["status"] == "400" and body["scimType"] == "invalidValue"


def test_user_resource(client, directory: Directory) -> None:
    alice = directory.user_by_name("alice@contoso.com")
    assert alice is not None
    response = client.get(f"/scim/v2/Users/{alice.object_id}")
    body = response.get_json()
    assert response.headers["ETag"] == 'W/"1"' == body["meta"]["version"]
    assert body["schemas"] == [CORE_USER, ENTERPRISE]
    assert body["externalId"] == "ext-1" and body["title"] == "Engineer" and body["active"] is True
    assert body["name"] == {"formatted": "Alice Smith", "familyName": "Smith", "givenName": "Alice"}
    assert body["emails"] == [{"value": "alice@contoso.com", "type": "work", "primary": True}]
    assert body[ENTERPRISE] == {"employeeNumber": "701", "department": "R&D"}
    team = body["groups"][0]
    assert team["display"] == "Team" and team["type"] == "direct"
    assert team["$ref"] == f"http://localhost/scim/v2/Groups/{team['value']}"
    assert body["meta"]["resourceType"] == "User"
    assert body["meta"]["created"] == "2026-02-01T08:00:00.000Z"
    assert body["meta"]["location"] == f"http://localhost/scim/v2/Users/{alice.object_id}"
    assert "password" not in response.get_data(as_text=True)


def test_statuses_map_to_active_and_other_mails(client) -> None:
    users = {r["userName"]: r for r in client.get("/scim/v2/Users").get_json()["Resources"]}
    assert users["Bob@Contoso.com"]["active"] is False
    assert users["carol@fabrikam.com"]["active"] is False
    assert users["Bob@Contoso.com"]["emails"][1] == {"value": "bob@home.example", "type": "other"}


def test_group_resource_with_nested_group(client, directory: Directory) -> None:
    body = client.get('/scim/v2/Groups?filter=displayName eq "team"').get_json()["Resources"][0]
    assert body["externalId"] == "g-ext"
    assert [(m["type"], m["display"]) for m in body["members"]] == [("User", "Alice Smith"), ("Group", "Sub")]
    assert body["members"][1]["$ref"].startswith("http://localhost/scim/v2/Groups/")


EVERYONE = [
    "alice@contoso.com",
    "Bob@Contoso.com",
    "carol@fabrikam.com",
    *[f"user{i}@contoso.com" for i in range(7)],
    "late@contoso.com",
]


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ('userName eq "BOB@contoso.COM"', ["Bob@Contoso.com"]),
        ('USERNAME Eq "alice@contoso.com"', ["alice@contoso.com"]),
        ('userName ne "alice@contoso.com"', [n for n in EVERYONE if n != "alice@contoso.com"]),
        ('userName co "fabrikam"', ["carol@fabrikam.com"]),
        ('userName sw "user1"', ["user1@contoso.com"]),
        ('userName ew "@FABRIKAM.com"', ["carol@fabrikam.com"]),
        ('emails.value eq "bob@home.example"', ["Bob@Contoso.com"]),
        ('emails[type eq "work" and value co "@fabrikam"]', ["carol@fabrikam.com"]),
        ('emails[type eq "other"]', ["Bob@Contoso.com"]),
        ('externalId eq "ext-1"', ["alice@contoso.com"]),
        ('externalId eq "EXT-1"', []),
        ("active eq false", ["Bob@Contoso.com", "carol@fabrikam.com"]),
        ("not (active eq true)", ["Bob@Contoso.com", "carol@fabrikam.com"]),
        ("externalId pr", ["alice@contoso.com"]),
        ('name.givenName eq "carol" or title eq "engineer"', ["alice@contoso.com", "carol@fabrikam.com"]),
        (
            '(name.givenName eq "User") and (name.familyName eq "3" or name.familyName eq "4")',
            ["user3@contoso.com", "user4@contoso.com"],
        ),
        ('meta.lastModified gt "2026-02-01T12:00:00Z"', ["late@contoso.com"]),
        ('meta.created le "2026-02-01T08:00:00.000Z"', ["alice@contoso.com"]),
        ('displayName eq "Alice Smith"', ["alice@contoso.com"]),
        (
            'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "r&d"',
            ["alice@contoso.com"],
        ),
        ('urn:ietf:params:scim:schemas:core:2.0:User:userName sw "late"', ["late@contoso.com"]),
        ('groups.display eq "Sub"', ["Bob@Contoso.com"]),
        ('title eq "say \\"hi\\""', []),
    ],
)
def test_user_filters(client, expr: str, expected: list[str]) -> None:
    body = client.get("/scim/v2/Users", query_string={"filter": expr})
    assert body.status_code == 200, body.get_json()
    assert sorted(user_names(body.get_json())) == sorted(expected)


def test_filter_by_id_is_case_exact(client, directory: Directory) -> None:
    alice = directory.user_by_name("alice@contoso.com")
    assert alice is not None
    body = client.get("/scim/v2/Users", query_string={"filter": f'id eq "{alice.object_id}"'}).get_json()
    assert user_names(body) == ["alice@contoso.com"]
    body = client.get(
        "/scim/v2/Users", query_string={"filter": f'id eq "{alice.object_id.upper()}"'}
    ).get_json()
    assert body["totalResults"] == 0


def test_group_filter_on_members(client, directory: Directory) -> None:
    bob = directory.user_by_name("bob@contoso.com")
    assert bob is not None
    body = client.get(
        "/scim/v2/Groups", query_string={"filter": f'members.value eq "{bob.object_id}"'}
    ).get_json()
    assert [r["displayName"] for r in body["Resources"]] == ["Sub"]


@pytest.mark.parametrize(
    "expr",
    [
        "userName",
        "userName eq",
        'userName zz "x"',
        'shoeSize eq "42"',
        'userName eq "unterminated',
        '(userName eq "a"',
        "active gt true",
        'active eq "yes"',
        'emails[type eq "work"',
        'name[givenName eq "a"]',
        'userName eq "a" and',
        'name eq "x"',
        'meta.lastModified gt "yesterday"',
        "",
    ],
)
def test_bad_filters(client, expr: str) -> None:
    response = client.get("/scim/v2/Users", query_string={"filter": expr})
    if expr == "":
        assert response.status_code == 200  # an empty filter is no filter
        return
    body = response.get_json()
    assert response.status_code == 400, body
    assert body == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": "400",
        "scimType": "invalidFilter",
        "detail": body["detail"],
    }
    assert body["detail"]


def test_filtered_paging(client) -> None:
    items = walk(client, '/scim/v2/Users?filter=userName co "contoso"', 2)
    assert len(items) == 10


def test_sorting(client) -> None:
    body = client.get("/scim/v2/Users?sortBy=userName&sortOrder=descending").get_json()
    names = user_names(body)
    assert names == sorted(names, key=str.lower, reverse=True)
    body = client.get("/scim/v2/Users?sortBy=externalId").get_json()
    assert user_names(body)[0] == "alice@contoso.com"  # present values first, missing last
    assert client.get("/scim/v2/Users?sortBy=nope").status_code == 400


@pytest.mark.parametrize(
    ("query", "keys"),
    [
        ("attributes=userName", {"schemas", "id", "userName"}),
        ("attributes=userName,name.givenName", {"schemas", "id", "userName", "name"}),
        (
            "attributes=emails.value,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            {"schemas", "id", "emails", ENTERPRISE},
        ),
        (
            "excludedAttributes=groups,meta,emails",
            {
                "schemas",
                "id",
                "externalId",
                "userName",
                "name",
                "displayName",
                "title",
                "userType",
                "active",
                ENTERPRISE,
            },
        ),
    ],
)
def test_attribute_projection(client, query: str, keys: set[str]) -> None:
    body = client.get(f'/scim/v2/Users?filter=userName eq "alice@contoso.com"&{query}').get_json()
    alice = body["Resources"][0]
    assert set(alice) == keys
    if "name.givenName" in query:
        assert alice["name"] == {"givenName": "Alice"}
    if "emails.value" in query:
        assert alice["emails"] == [{"value": "alice@contoso.com"}]
        assert alice[ENTERPRISE] == {"department": "R&D"}


def test_search_endpoint(client) -> None:
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": 'userName sw "user"',
        "attributes": ["userName"],
        "count": 3,
    }
    result = client.post("/scim/v2/Users/.search", json=body).get_json()
    assert result["totalResults"] == 7 and len(result["Resources"]) == 3
    assert set(result["Resources"][0]) == {"schemas", "id", "userName"}


def test_unknown_resources(client) -> None:
    for path in (
        "/scim/v2/Users/nope",
        "/scim/v2/Groups/nope",
        "/scim/v2/Schemas/urn:x",
        "/scim/v2/ResourceTypes/X",
    ):
        response = client.get(path)
        assert response.status_code == 404
        assert response.get_json()["status"] == "404"


def test_discovery(client) -> None:
    config = client.get("/scim/v2/ServiceProviderConfig").get_json()
    assert config["patch"]["supported"] and not config["bulk"]["supported"]
    assert config["filter"] == {"supported": True, "maxResults": 1000}
    assert config["authenticationSchemes"][0]["type"] == "oauthbearertoken"
    types = client.get("/scim/v2/ResourceTypes").get_json()
    assert [t["endpoint"] for t in types["Resources"]] == ["/Users", "/Groups"]
    assert types["Resources"][0]["schemaExtensions"] == [{"schema": ENTERPRISE, "required": False}]
    assert client.get("/scim/v2/ResourceTypes/Group").get_json()["schema"].endswith("core:2.0:Group")
    schemas = client.get("/scim/v2/Schemas").get_json()
    assert [s["id"] for s in schemas["Resources"]] == [
        CORE_USER,
        ENTERPRISE,
        "urn:ietf:params:scim:schemas:core:2.0:Group",
    ]
    user = client.get(f"/scim/v2/Schemas/{CORE_USER}").get_json()
    attrs = {a["name"]: a for a in user["attributes"]}
    assert attrs["password"]["returned"] == "never" and attrs["password"]["mutability"] == "writeOnly"
    assert attrs["userName"]["uniqueness"] == "server" and attrs["userName"]["caseExact"] is False
    assert attrs["groups"]["mutability"] == "readOnly"
    assert user["meta"]["location"] == f"http://localhost/scim/v2/Schemas/{CORE_USER}"
    assert client.post("/scim/v2/Bulk", json={}).status_code == 501
    assert client.get("/scim/v2/Me").get_json()["status"] == "501"
    assert client.delete("/scim/v2/Schemas").headers["Allow"] == "GET"
    assert client.get("/scim/v2/Nope").get_json()["status"] == "404"


def test_truncated_page(app: Flask, client) -> None:
    @app.before_request
    def truncate() -> None:
        g.truncate_page = True

    body = client.get("/scim/v2/Users?count=4").get_json()
    assert body["totalResults"] == 11 and body["itemsPerPage"] == 4 and len(body["Resources"]) == 2


def test_rate_limited_and_error_shape(app: Flask) -> None:
    with app.test_request_context("/scim/v2/Users"):
        response = scim.renderer.rate_limited(limit=5, reset_epoch=0, retry_after=7)
        assert response.status_code == 429 and response.headers["Retry-After"] == "7"
        assert response.headers["Content-Type"] == "application/scim+json"
        assert response.get_json()["status"] == "429"
        body = scim.renderer.error(409, "taken", code="uniqueness").get_json()
        assert body == {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "status": "409",
            "scimType": "uniqueness",
            "detail": "taken",
        }
