"""What the Okta dialect sends, checked against Okta's SCIM 2.0 protocol reference."""

from __future__ import annotations

from typing import Any

from mock_idp.push.dialect import PATCH_OP
from mock_idp.push.record import PushRecord
from mock_idp.push.run import make_dialect
from mock_idp.push.run import push
from mock_idp.push.source import from_directory
from mock_idp.state.directory import Directory

BASE = "https://scim.example.test/scim/v2"  # the recording service's (conftest.py)
TOKEN = "push-test-token"
FakeScim = Any  # the recording service, conftest.py


def _push(directory: Directory, record: PushRecord | None = None) -> PushRecord:
    record = record or PushRecord("okta", BASE)
    report = push(from_directory(directory), record, make_dialect("okta", BASE, TOKEN, sleep=lambda s: None))
    assert report.failures == []
    return record


def _ops(body: dict[str, Any]) -> list[dict[str, Any]]:
    assert body["schemas"] == [PATCH_OP]
    return body["Operations"]


def test_initial_cycle_looks_up_then_creates_each_user(fake_scim: FakeScim, small: Directory) -> None:
    _push(small)
    first = fake_scim.sent[0]
    assert (first.method, first.path) == ("GET", "/Users")
    assert first.raw_query == "filter=userName%20eq%20%22alice%40example.com%22&startIndex=1&count=100"
    assert first.headers["User-Agent"] == "Okta SCIM Client 1.0.0"
    assert first.headers["Authorization"] == f"Bearer {TOKEN}"
    alice = fake_scim.sent[1]
    assert (alice.method, alice.path) == ("POST", "/Users")
    password = alice.body.pop("password")
    assert isinstance(password, str) and password
    okta_id = small.user_by_name("alice@example.com").okta_id  # type: ignore[union-attr]
    assert alice.body == {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "alice@example.com",
        "name": {"givenName": "Alice", "familyName": "Smith"},
        "emails": [{"primary": True, "value": "alice@example.com", "type": "work"}],
        "displayName": "Alice Smith",
        "locale": "en-US",
        "externalId": okta_id,
        "groups": [],
        "active": True,
    }


def test_a_suspended_user_is_created_then_deactivated(fake_scim: FakeScim, small: Directory) -> None:
    _push(small)
    bob = [s for s in fake_scim.sent if s.body and s.body.get("userName") == "bob@example.com"][0]
    follow = fake_scim.sent[fake_scim.sent.index(bob) + 1]
    assert (follow.method, follow.path) == ("PATCH", "/Users/u2")
    assert _ops(follow.body) == [{"op": "replace", "value": {"active": False}}]


def test_group_push_creates_then_patches_members(fake_scim: FakeScim, small: Directory) -> None:
    _push(small)
    groups = [s for s in fake_scim.sent if s.path.startswith("/Groups")]
    lookup, create, members = groups
    assert lookup.raw_query == "filter=displayName%20eq%20%22Engineering%22&startIndex=1&count=100"
    assert create.body == {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Engineering",
        "members": [],
    }
    assert members.method == "PATCH" and members.path == "/Groups/g3"
    assert _ops(members.body) == [
        {"op": "replace", "value": {"id": "g3", "displayName": "Engineering"}},
        {
            "op": "add",
            "path": "members",
            "value": [
                {"value": "u1", "display": "alice@example.com"},
                {"value": "u2", "display": "bob@example.com"},
            ],
        },
    ]
    assert not any(s.body and s.body.get("displayName") == "Everyone" for s in fake_scim.sent)


def test_incremental_cycle_puts_profiles_and_patches_active(fake_scim: FakeScim, small: Directory) -> None:
    record = _push(small)
    fake_scim.sent.clear()
    alice = small.user_by_name("alice@example.com")
    bob = small.user_by_name("bob@example.com")
    assert alice and bob
    small.update_user(alice.object_id, family_name="Baker", display_name="Alice Baker")
    small.set_status(bob.object_id, "ACTIVE")
    group = next(g for g in small.groups.values() if g.name == "Engineering")
    small.remove_member(group.object_id, bob.object_id)
    _push(small, record)
    get, put, reactivate, members = fake_scim.sent
    assert (get.method, get.path, put.method, put.path) == ("GET", "/Users/u1", "PUT", "/Users/u1")
    assert put.body["id"] == "u1" and put.body["meta"] == {"resourceType": "User"}  # the whole object
    assert put.body["name"] == {"givenName": "Alice", "familyName": "Baker"}
    assert put.body["displayName"] == "Alice Baker"
    assert (reactivate.method, reactivate.path) == ("PATCH", "/Users/u2")
    assert _ops(reactivate.body) == [{"op": "replace", "value": {"active": True}}]
    assert _ops(members.body) == [
        {"op": "replace", "value": {"id": "g3", "displayName": "Engineering"}},
        {"op": "remove", "path": 'members[value eq "u2"]'},
    ]


def test_a_deleted_user_is_deactivated_never_deleted(fake_scim: FakeScim, small: Directory) -> None:
    record = _push(small)
    fake_scim.sent.clear()
    alice = small.user_by_name("alice@example.com")
    assert alice
    small.remove_user(alice.object_id, permanent=True)
    _push(small, record)
    assert [(s.method, s.path) for s in fake_scim.sent] == [("PATCH", "/Groups/g3"), ("PATCH", "/Users/u1")]
    assert _ops(fake_scim.sent[1].body) == [{"op": "replace", "value": {"active": False}}]
    assert record.users[alice.object_id].sent["active"] is False
    fake_scim.sent.clear()
    small.add_user("carol@example.com")
    _push(small, record)  # the deactivated user is not sent again
    assert [s.path for s in fake_scim.sent] == ["/Users", "/Users"]


def test_an_unchanged_directory_sends_nothing(fake_scim: FakeScim, small: Directory) -> None:
    record = _push(small)
    fake_scim.sent.clear()
    _push(small, record)
    assert fake_scim.sent == []
