"""The fixture format: the sample, round trips, every validation error, default credentials."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from mock_idp.state.credentials import add_default_credentials
from mock_idp.state.credentials import default_credentials
from mock_idp.state.credentials import known_private_key
from mock_idp.state.directory import Directory
from mock_idp.state.fixtures import SAMPLE_FIXTURE
from mock_idp.state.fixtures import FixtureError
from mock_idp.state.fixtures import dump_fixture
from mock_idp.state.fixtures import load_fixture


@pytest.fixture
def sample() -> dict[str, Any]:
    return json.loads(SAMPLE_FIXTURE.read_text(encoding="utf-8"))


def test_sample_loads_with_everything_it_promises(sample: dict[str, Any]) -> None:
    directory = load_fixture(SAMPLE_FIXTURE)
    assert (len(directory.users), len(directory.groups)) == (len(sample["users"]), len(sample["groups"]))
    assert directory.tenant_id == sample["tenant"]["id"] and directory.seed == 7
    statuses = {u.status for u in directory.users.values()}
    assert {"ACTIVE", "SUSPENDED", "DEPROVISIONED", "STAGED"} <= statuses
    guest = directory.user_by_name("kim.lee@gmail.com")
    assert guest is not None and guest.upn == "kim.lee_gmail.com#EXT#@northwind.onmicrosoft.com"
    eng = next(g for g in directory.groups.values() if g.name == "Engineering")
    platform = next(g for g in directory.groups.values() if g.name == "Platform Team")
    assert list(eng.group_ids) == [platform.object_id]
    assert {c.dialect for c in directory.clients.values()} == {"okta", "graph", "scim"}
    okta_client = directory.clients["0oasample0kta0client"]
    assert known_private_key(directory, okta_client) is not None  # the sample's key is the seed's


def test_load_from_path_text_and_mapping_agree(sample: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "f.json"
    path.write_text(json.dumps(sample), encoding="utf-8")
    loaded = [load_fixture(source) for source in (sample, str(path), path, json.dumps(sample))]
    summaries = [[(u.object_id, u.okta_id, u.user_name, u.status) for u in d.users.values()] for d in loaded]
    assert all(s == summaries[0] for s in summaries) and len(summaries[0]) == len(sample["users"])


def test_round_trip_is_exact(sample: dict[str, Any]) -> None:
    first = dump_fixture(load_fixture(sample))
    assert dump_fixture(load_fixture(first)) == first


def test_round_trip_of_a_generated_directory(directory: Directory) -> None:
    add_default_credentials(directory)
    first = dump_fixture(directory)
    again = dump_fixture(load_fixture(json.loads(json.dumps(first))))
    assert again == first


def test_members_by_user_name_id_and_okta_id(sample: dict[str, Any]) -> None:
    sample["users"][0].update(id="11111111-2222-4333-8444-555555555555", okta_id="00uAAAAAAAAAAAAAAAAA")
    sample["groups"][1]["members"] = [
        "11111111-2222-4333-8444-555555555555",
        "00uAAAAAAAAAAAAAAAAA",
        "JOSE.GARCIA@northwind.example",
    ]
    directory = load_fixture(sample)
    engineering = next(g for g in directory.groups.values() if g.name == "Engineering")
    assert len(engineering.user_ids) == 2


def _broken(sample: dict[str, Any], change: Any) -> dict[str, Any]:
    data = copy.deepcopy(sample)
    change(data)
    return data


CASES = [
    (lambda d: d["users"][3].update(status="ACTIV"), "users[3].status: unknown status 'ACTIV'"),
    (
        lambda d: d["users"][2].update(user_name=d["users"][0]["user_name"].upper()),
        "users[2].user_name: duplicate",
    ),
    (lambda d: d["users"][1].update(colour="red"), "users[1].colour: unknown key"),
    (lambda d: d["users"][1].pop("user_name"), "users[1].user_name: is required"),
    (lambda d: d["users"][0].update(email="not-an-email"), "users[0].email: not an email address"),
    (lambda d: d["users"][0].update(created="yesterday"), "users[0].created: not an ISO 8601"),
    (
        lambda d: d["users"][0].update(created="2024-01-01T00:00:00"),
        "users[0].created: timestamp needs a time zone",
    ),
    (lambda d: d["users"][0].update(okta_id="abc"), "users[0].okta_id: an Okta id is 20"),
    (lambda d: d["users"][0].update(id="nope"), "users[0].id: not a GUID"),
    (lambda d: d["users"][0].update(user_type="Visitor"), "users[0].user_type: unknown user type"),
    (lambda d: d["users"][0].update(other_mails="a@b.c"), "users[0].other_mails: must be a list"),
    (lambda d: d["users"][1].update(ref="alice"), "users[1].ref: duplicate ref 'alice'"),
    (
        lambda d: d["groups"][1]["members"].append("nobody"),
        "groups[1].members[3]: unknown user reference 'nobody'",
    ),
    (
        lambda d: d["groups"][1]["groups"].append("Nope"),
        "groups[1].groups[1]: unknown group reference 'Nope'",
    ),
    (
        lambda d: d["groups"][2].update(groups=["platform"]),
        "groups[2].groups[0]: a group cannot contain itself",
    ),
    (lambda d: d["groups"][0].pop("name"), "groups[0].name: is required"),
    (lambda d: d["clients"][1].pop("client_secret"), "clients[1].client_secret: is required"),
    (lambda d: d["clients"][0].pop("jwks"), "clients[0].jwks: is required"),
    (lambda d: d["clients"][0].update(jwks={"n": 1}), "clients[0].jwks: must be a JWK set"),
    (lambda d: d["clients"][0].update(dialect="ldap"), "clients[0].dialect: unknown dialect 'ldap'"),
    (lambda d: d["api_tokens"][0].update(dialect="graph"), "api_tokens[0].dialect: unknown dialect 'graph'"),
    (lambda d: d.update(users={}), "users: must be a list"),
    (lambda d: d.update(extra=1), "extra: unknown key"),
    (lambda d: d["tenant"].update(id="x"), "tenant.id: not a GUID"),
]


@pytest.mark.parametrize(("change", "message"), CASES)
def test_each_validation_error_names_the_item(sample: dict[str, Any], change: Any, message: str) -> None:
    with pytest.raises(FixtureError) as info:
        load_fixture(_broken(sample, change))
    assert str(info.value).startswith(message), str(info.value)


def test_ambiguous_group_name_needs_a_ref(sample: dict[str, Any]) -> None:
    sample["groups"].append({"name": "Platform Team"})
    sample["groups"][1]["groups"] = ["Platform Team"]
    with pytest.raises(FixtureError, match=r"groups\[1\].groups\[0\]: ambiguous group reference"):
        load_fixture(sample)


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(FixtureError, match="cannot read fixture file"):
        load_fixture(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{nope", encoding="utf-8")
    with pytest.raises(FixtureError, match="not valid JSON"):
        load_fixture(bad)
    bad.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(FixtureError, match="must be a JSON object"):
        load_fixture(bad)


def test_loading_into_a_directory_is_all_or_nothing(sample: dict[str, Any]) -> None:
    target = Directory(seed=1)
    target.add_user("jose.garcia@northwind.example")
    before = (dict(target.users), target.last_seq)
    with pytest.raises(FixtureError, match=r"users\[2\].user_name: .* already in the directory"):
        load_fixture(sample, target)
    assert (dict(target.users), target.last_seq) == before


def test_merging_into_a_directory(sample: dict[str, Any]) -> None:
    target = Directory(seed=1)
    target.add_user("someone@else.example")
    load_fixture(sample, target)
    assert len(target.users) == len(sample["users"]) + 1


def test_default_credentials_are_deterministic_and_added_once() -> None:
    assert default_credentials(3) == default_credentials(3)
    assert default_credentials(3).okta_api_token != default_credentials(4).okta_api_token
    directory = Directory(seed=3)
    creds = add_default_credentials(directory)
    assert creds is not None
    assert add_default_credentials(directory) is None
    assert {t.dialect for t in directory.api_tokens.values()} == {"okta", "scim"}
    okta = directory.clients[creds.okta_client_id]
    assert okta.auth_method == "private_key_jwt"
    assert okta.scopes == ("okta.users.read", "okta.groups.read", "okta.logs.read")
    assert okta.jwks is not None and okta.jwks["keys"][0]["kid"] == creds.okta_key_id
    assert known_private_key(directory, okta) == creds.okta_private_key_pem
    graph = directory.clients[creds.graph_client_id]
    assert graph.client_secret == creds.graph_client_secret
    assert graph.scopes == ("User.Read.All", "GroupMember.Read.All")
    assert directory.clients[creds.scim_client_id].scopes == ("scim.read", "scim.write")


def test_a_fixture_with_credentials_gets_no_defaults(sample: dict[str, Any]) -> None:
    directory = load_fixture(sample)
    assert add_default_credentials(directory) is None
    assert len(directory.clients) == 3


def test_the_private_key_signs_what_the_jwks_verifies() -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    creds = default_credentials(9)
    key = serialization.load_pem_private_key(creds.okta_private_key_pem.encode(), password=None)
    signature = key.sign(b"hello", padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr,call-arg]
    key.public_key().verify(signature, b"hello", padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr,call-arg]
