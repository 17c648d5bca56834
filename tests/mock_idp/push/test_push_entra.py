"""What the Entra dialect sends, checked against Microsoft's SCIM endpoint tutorial and
its SCIM 2.0 compliance notes (with and without ``aadOptscim062020``)."""

from __future__ import annotations

from typing import Any

from mock_idp.push.dialect import ENTERPRISE
from mock_idp.push.dialect import PATCH_OP
from mock_idp.push.entra import ADSCIM_GROUP
from mock_idp.push.record import PushRecord
from mock_idp.push.run import make_dialect
from mock_idp.push.run import push
from mock_idp.push.source import from_directory
from mock_idp.state.directory import Directory

BASE = "https://scim.example.test/scim/v2"  # the recording service's (conftest.py)
TOKEN = "push-test-token"
FakeScim = Any  # the recording service, conftest.py


def _push(directory: Directory, record: PushRecord | None = None, **options: Any) -> PushRecord:
    record = record or PushRecord("entra", BASE)
    dialect = make_dialect("entra", BASE, TOKEN, sleep=lambda s: None, **options)
    report = push(from_directory(directory), record, dialect)
    assert report.failures == []
    return record


def _ops(body: dict[str, Any]) -> list[dict[str, Any]]:
    assert body["schemas"] == [PATCH_OP]
    return body["Operations"]


def _engineering(directory: Directory) -> str:
    return next(g.object_id for g in directory.groups.values() if g.name == "Engineering")


def test_initial_cycle_matches_on_user_name_then_posts(fake_scim: FakeScim, small: Directory) -> None:
    _push(small)
    lookup, create = fake_scim.sent[:2]
    assert (lookup.method, lookup.path) == ("GET", "/Users")
    assert lookup.query == {"filter": ['userName eq "alice@contoso.onmicrosoft.com"']}
    assert lookup.headers["Authorization"] == f"Bearer {TOKEN}"
    assert lookup.headers["Content-Type"] == "application/scim+json"
    alice = small.user_by_name("alice@example.com")
    assert alice
    assert create.body == {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "externalId": alice.object_id,
        "userName": "alice@contoso.onmicrosoft.com",
        "active": True,
        "displayName": "Alice Smith",
        "title": "Engineer",
        "emails": [{"primary": True, "type": "work", "value": "alice@example.com"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "Alice Smith", "familyName": "Smith", "givenName": "Alice"},
        ENTERPRISE: {"department": "R&D", "employeeNumber": "42"},
        "roles": [],
    }
    bob = fake_scim.sent[3].body
    assert bob["active"] is False and "title" not in bob  # null attributes are skipped


def test_match_on_external_id(fake_scim: FakeScim, small: Directory) -> None:
    _push(small, match="externalId")
    alice = small.user_by_name("alice@example.com")
    assert alice
    assert fake_scim.sent[0].query == {"filter": [f'externalId eq "{alice.object_id}"']}


def test_groups_are_read_without_members_created_empty_then_added(
    fake_scim: FakeScim, small: Directory
) -> None:
    _push(small)
    lookup, create, add = [s for s in fake_scim.sent if s.path.startswith("/Groups")]
    assert lookup.query == {"excludedAttributes": ["members"], "filter": ['displayName eq "Engineering"']}
    assert create.body == {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group", ADSCIM_GROUP],
        "externalId": _engineering(small),
        "displayName": "Engineering",
        "meta": {"resourceType": "Group"},
    }
    assert _ops(add.body) == [
        {
            "op": "Add",
            "path": "members",
            "value": [{"$ref": None, "value": "u1"}, {"$ref": None, "value": "u2"}],
        }
    ]


def test_updates_are_one_op_per_attribute_capitalised(fake_scim: FakeScim, small: Directory) -> None:
    record = _push(small)
    fake_scim.sent.clear()
    alice = small.user_by_name("alice@example.com")
    assert alice
    small.update_user(
        alice.object_id, email="alice.smith@example.com", family_name="Baker", mobile_phone="+1 555"
    )
    small.set_status(alice.object_id, "SUSPENDED")
    _push(small, record)
    (patch,) = fake_scim.sent
    assert (patch.method, patch.path) == ("PATCH", "/Users/u1")
    assert _ops(patch.body) == [
        {"op": "Replace", "path": "name.familyName", "value": "Baker"},
        {"op": "Replace", "path": "name.formatted", "value": "Alice Baker"},
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "alice.smith@example.com"},
        {"op": "Add", "path": 'phoneNumbers[type eq "mobile"].value', "value": "+1 555"},
        {"op": "Replace", "path": "active", "value": "False"},
    ]


def test_compliant_flag_merges_plain_paths_and_uses_booleans(fake_scim: FakeScim, small: Directory) -> None:
    record = _push(small, compliant=True)
    fake_scim.sent.clear()
    alice = small.user_by_name("alice@example.com")
    assert alice
    small.update_user(alice.object_id, email="alice.smith@example.com", family_name="Baker", title=None)
    small.set_status(alice.object_id, "SUSPENDED")
    _push(small, record, compliant=True)
    (patch,) = fake_scim.sent
    assert _ops(patch.body) == [
        {"op": "replace", "value": {"name.familyName": "Baker", "name.formatted": "Alice Baker"}},
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "alice.smith@example.com"},
        {"op": "remove", "path": "title"},
        {"op": "replace", "path": "active", "value": False},
    ]


def test_member_removal_with_and_without_the_flag(fake_scim: FakeScim, small: Directory) -> None:
    bob = small.user_by_name("bob@example.com")
    assert bob
    for compliant, expected in (
        (False, [{"op": "Remove", "path": "members", "value": [{"value": "u2"}]}]),
        (True, [{"op": "remove", "path": 'members[value eq "u2"]'}]),
    ):
        fake_scim.counter = 0
        record = _push(small, compliant=compliant)
        fake_scim.sent.clear()
        small.remove_member(_engineering(small), bob.object_id)
        _push(small, record, compliant=compliant)
        (patch,) = fake_scim.sent
        assert (patch.method, patch.path) == ("PATCH", "/Groups/g3")
        assert _ops(patch.body) == expected
        small.add_member(_engineering(small), bob.object_id)


def test_members_go_in_batches(fake_scim: FakeScim) -> None:
    directory = Directory(seed=4)
    group = directory.add_group("Everyone at once")
    for n in range(230):
        directory.add_member(group.object_id, directory.add_user(f"user{n}@example.com").object_id)
    _push(directory)
    patches = fake_scim.requests("PATCH")
    assert [len(_ops(p.body)[0]["value"]) for p in patches] == [100, 100, 30]


def test_soft_delete_disables_then_hard_delete_deletes(fake_scim: FakeScim, small: Directory) -> None:
    record = _push(small)
    fake_scim.sent.clear()
    alice = small.user_by_name("alice@example.com")
    assert alice
    small.soft_delete_user(alice.object_id)
    _push(small, record)
    removal, disable = fake_scim.sent
    assert (removal.path, disable.path) == ("/Groups/g3", "/Users/u1")
    assert _ops(disable.body) == [{"op": "Replace", "path": "active", "value": "False"}]
    fake_scim.sent.clear()
    small.restore_user(alice.object_id)
    _push(small, record)
    enable, add = fake_scim.sent
    assert _ops(enable.body) == [{"op": "Replace", "path": "active", "value": "True"}]
    assert _ops(add.body)[0]["op"] == "Add"
    fake_scim.sent.clear()
    small.remove_user(alice.object_id, permanent=True)
    _push(small, record)
    assert [(s.method, s.path) for s in fake_scim.sent] == [
        ("PATCH", "/Groups/g3"),
        ("DELETE", "/Users/u1"),
    ]
    assert alice.object_id not in record.users


def test_a_found_user_is_linked_and_patched_not_posted(fake_scim: FakeScim, small: Directory) -> None:
    found = {"id": "existing-1", "userName": "alice@contoso.onmicrosoft.com", "active": True}
    fake_scim.queue.append((200, {}, {"totalResults": 1, "Resources": [found]}))
    record = _push(small)
    alice = small.user_by_name("alice@example.com")
    assert alice and record.users[alice.object_id].id == "existing-1"
    assert (fake_scim.sent[1].method, fake_scim.sent[1].path) == ("PATCH", "/Users/existing-1")
    assert not any(s.body and s.body.get("userName") == found["userName"] for s in fake_scim.requests("POST"))
