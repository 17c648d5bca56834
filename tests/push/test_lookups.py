"""A push request reads only what it names: look-ups by index, externalId and the enterprise
extension kept, listings paged in the database."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st

from connector.push.filters import indexed_match
from connector.store import Store
from connector.store import engine as engines
from connector.store.push_reads import Match
from tests.push.conftest import BASE
from tests.push.conftest import GROUP_SCHEMA
from tests.push.conftest import new_user
from tests.push.conftest import patch

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


@pytest.fixture
def no_whole_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any read of the whole mirror fails the test (the first request of a directory aside)."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a push request read the whole mirror")

    monkeypatch.setattr("connector.store.mirror.load_mirror", refuse)


def test_every_request_reads_only_what_it_names(client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    first = new_user(client, "first@example.com")  # the directory's first request reads it whole
    for i in range(5):
        new_user(client, f"user{i}@example.com")

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a push request read the whole mirror")

    monkeypatch.setattr("connector.store.mirror.load_mirror", refuse)
    monkeypatch.setattr("connector.store.push_reads.DirectoryLookup.users", _only_matches)
    found = client.get(f'{BASE}/Users?filter=userName eq "FIRST@example.com"').get_json()
    assert [r["id"] for r in found["Resources"]] == [first["id"]]
    user = new_user(client, "later@example.com")
    assert client.get(f"{BASE}/Users/{user['id']}").status_code == 200
    body = patch({"op": "replace", "path": "displayName", "value": "Later"})
    assert client.patch(f"{BASE}/Users/{user['id']}", json=body).get_json()["displayName"] == "Later"
    put = dict(user, displayName="Later Still")
    assert client.put(f"{BASE}/Users/{user['id']}", json=put).status_code == 200
    group = client.post(
        f"{BASE}/Groups", json={"schemas": [GROUP_SCHEMA], "displayName": "Eng", "members": []}
    ).get_json()
    add = patch({"op": "add", "path": "members", "value": [{"value": user["id"]}, {"value": first["id"]}]})
    assert client.patch(f"{BASE}/Groups/{group['id']}", json=add).status_code in (200, 204)
    found = client.get(f'{BASE}/Groups?filter=displayName eq "eng"&excludedAttributes=members').get_json()
    assert [r["id"] for r in found["Resources"]] == [group["id"]]
    members = client.get(f"{BASE}/Groups/{group['id']}").get_json()["members"]
    assert {m["value"] for m in members} == {user["id"], first["id"]}
    assert client.delete(f"{BASE}/Users/{user['id']}").status_code == 204
    taken = client.post(
        f"{BASE}/Users", json={"schemas": [first["schemas"][0]], "userName": "User1@Example.com"}
    )
    assert taken.status_code == 409 and taken.get_json()["scimType"] == "uniqueness"


def _only_matches(self: Any, match: Match) -> Any:
    assert match.attribute is not None, "a request listed every user"
    return self.users_page(match, 0, None)[1]


def test_external_id_is_kept_and_looked_up_exactly(client: FlaskClient) -> None:
    user = new_user(client, "ext@example.com", externalId="0a21f0f2-8D2A")
    assert user["externalId"] == "0a21f0f2-8D2A" and user["id"] != "0a21f0f2-8D2A"
    found = client.get(f'{BASE}/Users?filter=externalId eq "0a21f0f2-8D2A"').get_json()
    assert [r["id"] for r in found["Resources"]] == [user["id"]]
    # externalId is caseExact (RFC 7643 §3.1): another case is another value
    assert client.get(f'{BASE}/Users?filter=externalId eq "0A21F0F2-8d2a"').get_json()["totalResults"] == 0
    # Entra's documented unquoted form
    assert client.get(f"{BASE}/Users?filter=externalId eq 0a21f0f2-8D2A").get_json()["totalResults"] == 1
    body = patch({"op": "Replace", "path": "externalId", "value": "new-ext"})
    assert client.patch(f"{BASE}/Users/{user['id']}", json=body).get_json()["externalId"] == "new-ext"
    group = client.post(
        f"{BASE}/Groups", json={"schemas": [GROUP_SCHEMA], "displayName": "Ops", "externalId": "8aa1"}
    ).get_json()
    assert group["externalId"] == "8aa1"
    found = client.get(f'{BASE}/Groups?filter=externalId eq "8aa1"').get_json()
    assert [r["id"] for r in found["Resources"]] == [group["id"]]


def test_the_enterprise_extension_round_trips(client: FlaskClient) -> None:
    manager = new_user(client, "boss@example.com")
    user = new_user(
        client,
        "worker@example.com",
        schemas=["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        **{ENTERPRISE: {"employeeNumber": "42", "department": "Eng", "manager": {"value": manager["id"]}}},
    )
    extension = user[ENTERPRISE]
    assert extension["employeeNumber"] == "42" and extension["department"] == "Eng"
    assert extension["manager"]["value"] == manager["id"]
    assert ENTERPRISE in user["schemas"]
    # Entra: the manager as a bare id on the extension's path, then as a one-item list on "manager"
    body = patch({"op": "Replace", "path": f"{ENTERPRISE}:manager", "value": "m-1"})
    assert (
        client.patch(f"{BASE}/Users/{user['id']}", json=body).get_json()[ENTERPRISE]["manager"]["value"]
        == "m-1"
    )
    body = patch({"op": "Add", "path": "manager", "value": [{"$ref": "http://x/Users/m-2", "value": "m-2"}]})
    answer = client.patch(f"{BASE}/Users/{user['id']}", json=body).get_json()
    assert answer[ENTERPRISE]["manager"]["value"] == "m-2"
    body = patch({"op": "replace", "value": {f"{ENTERPRISE}:employeeNumber": "43"}})
    again = client.get(f"{BASE}/Users/{user['id']}").get_json()
    assert (
        client.patch(f"{BASE}/Users/{user['id']}", json=body).get_json()[ENTERPRISE]["employeeNumber"] == "43"
    )
    assert again[ENTERPRISE]["department"] == "Eng"
    schemas = {s["id"] for s in client.get(f"{BASE}/Schemas").get_json()["Resources"]}
    assert ENTERPRISE in schemas
    user_type = client.get(f"{BASE}/ResourceTypes/User").get_json()
    assert user_type["schemaExtensions"] == [{"schema": ENTERPRISE, "required": False}]


def test_listings_are_paged_in_the_database(client: FlaskClient) -> None:
    made = sorted(new_user(client, f"p{i}@example.com")["id"] for i in range(7))
    page = client.get(f"{BASE}/Users?startIndex=3&count=2").get_json()
    assert page["totalResults"] == 7 and page["startIndex"] == 3 and page["itemsPerPage"] == 2
    assert [r["id"] for r in page["Resources"]] == made[2:4]
    assert client.get(f"{BASE}/Users?count=0").get_json() | {"Resources": []} == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": 7,
        "startIndex": 1,
        "itemsPerPage": 0,
        "Resources": [],
    }
    beyond = client.get(f"{BASE}/Users?startIndex=50").get_json()
    assert beyond["totalResults"] == 7 and beyond["Resources"] == []
    # a filter that is not one indexed equality is still answered, by scanning
    found = client.get(f'{BASE}/Users?filter=userName sw "p1"').get_json()
    assert [r["userName"] for r in found["Resources"]] == ["p1@example.com"]


@given(st.text(min_size=1, max_size=40))
def test_an_equality_filter_reads_its_string_back(value: str) -> None:
    assert indexed_match(f"userName eq {json.dumps(value)}", "user") == Match("name", value)
    assert indexed_match(
        f"urn:ietf:params:scim:schemas:core:2.0:Group:displayName EQ {json.dumps(value)}", "group"
    ) == Match("name", value)
    assert indexed_match(f"externalId eq {json.dumps(value)}", "group") == Match("external_id", value)


@pytest.mark.parametrize(
    "raw",
    [
        'userName eq "a" and active eq true',
        'userName co "a"',
        "active eq true",
        "userName eq null",
        "userName eq 12",
        'emails[type eq "work"].value eq "a@b.c"',
        'displayName eq "x"',  # not indexed for users: scanned
    ],
)
def test_other_filters_are_not_read_as_an_index_match(raw: str) -> None:
    assert indexed_match(raw, "user") is None


def test_upgrade_fills_the_name_keys_of_a_store_before_it(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    shutil.copy(Path(__file__).parents[1] / "store" / "fixtures" / "store_0004.sqlite", path)
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE idp_users SET user_name = 'Ünïcode.' || user_name WHERE rowid = 1"))
    engine.dispose()
    Store.open(f"sqlite:///{path}", org="acme").close()
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        users = conn.execute(sa.text("SELECT user_name, name_key FROM idp_users")).all()
        groups = conn.execute(sa.text("SELECT name, name_key FROM idp_groups")).all()
        assert (
            conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one()
            == engines.HEAD_REVISION
        )
    engine.dispose()
    assert users and groups
    assert all(key == name.casefold() for name, key in users + groups)
    assert any(name.startswith("Ünïcode.") for name, _ in users)
