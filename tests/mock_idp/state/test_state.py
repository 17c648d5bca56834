"""The canonical directory: mutations, the change log, memberships, cycles, bulk load."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta
from datetime import timezone

import pytest

from mock_idp.state.directory import Directory
from mock_idp.state.directory import Group
from mock_idp.state.directory import StateError
from mock_idp.state.directory import User

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def empty() -> Directory:
    return Directory(seed=5, tenant_domain="contoso.onmicrosoft.com", clock=lambda: T0)


def ops(directory: Directory, since: int = 0) -> list[tuple[str, str]]:
    return [(c.kind, c.op) for c in directory.changes_since(since)]


def test_add_user_fills_defaults_and_logs(empty: Directory) -> None:
    user = empty.add_user(
        "alice@contoso.com", email="alice@contoso.com", given_name="Alice", family_name="Smith"
    )
    assert user.display_name == "Alice Smith"
    assert user.upn == "alice@contoso.com"
    assert user.status == "ACTIVE" and user.active and user.activated == user.created
    assert len(user.okta_id) == 20 and user.okta_id.startswith("00u")
    assert empty.user_by_name("ALICE@contoso.com") is user
    assert empty.user_by_okta_id(user.okta_id) is user
    assert ops(empty) == [("user", "created")]


def test_guest_gets_the_ext_upn(empty: Directory) -> None:
    guest = empty.add_user("kim@gmail.com", email="kim@gmail.com", user_type="Guest")
    assert guest.upn == "kim_gmail.com#EXT#@contoso.onmicrosoft.com"


@pytest.mark.parametrize(
    ("kwargs", "kind"),
    [
        ({"status": "ACTIV"}, "invalid"),
        ({"favourite_colour": "red"}, "invalid"),
    ],
)
def test_add_user_refuses_bad_fields(empty: Directory, kwargs: dict, kind: str) -> None:
    with pytest.raises(StateError) as info:
        empty.add_user("x@contoso.com", **kwargs)
    assert info.value.kind == kind
    assert empty.users == {} and empty.changes == []


def test_user_name_is_unique_case_insensitively(empty: Directory) -> None:
    empty.add_user("bob@contoso.com")
    with pytest.raises(StateError) as info:
        empty.add_user("BOB@contoso.com")
    assert info.value.kind == "conflict"


def test_update_and_status_change_bump_timestamps(empty: Directory) -> None:
    user = empty.add_user("carol@contoso.com", email="carol@contoso.com")
    before = user.last_updated
    empty.update_user(user.object_id, email="carol.new@contoso.com")
    assert user.email == "carol.new@contoso.com" and user.last_updated > before and user.version == 2
    empty.set_status(user.object_id, "SUSPENDED")
    assert not user.active and user.status_changed == user.last_updated
    assert ops(empty) == [("user", "created"), ("user", "updated"), ("user", "updated")]


def test_rename_moves_the_name_index(empty: Directory) -> None:
    user = empty.add_user("dave@contoso.com")
    empty.add_user("erin@contoso.com")
    with pytest.raises(StateError):
        empty.update_user(user.object_id, user_name="Erin@contoso.com")
    empty.update_user(user.object_id, user_name="david@contoso.com")
    assert empty.user_by_name("dave@contoso.com") is None
    assert empty.user_by_name("david@contoso.com") is user


def test_timestamps_never_repeat_even_with_a_frozen_clock(empty: Directory) -> None:
    stamps = [empty.now() for _ in range(5)]
    assert stamps == sorted(set(stamps))
    assert stamps[-1] - stamps[0] == timedelta(milliseconds=4)


def test_delete_user_logs_removals_then_the_deletion(empty: Directory) -> None:
    user = empty.add_user("frank@contoso.com")
    group = empty.add_group("Staff")
    empty.add_member(group.object_id, user.object_id)
    seq = empty.last_seq
    empty.delete_user(user.object_id)
    assert ops(empty, seq) == [("membership", "removed"), ("user", "deleted")]
    assert group.user_ids == {}
    with pytest.raises(StateError) as info:
        empty.user(user.object_id)
    assert info.value.kind == "not_found"


def test_memberships_are_idempotent_and_logged(empty: Directory) -> None:
    user = empty.add_user("gina@contoso.com")
    group = empty.add_group("Staff")
    assert empty.add_member(group.object_id, user.object_id) is True
    assert empty.add_member(group.object_id, user.object_id) is False
    assert empty.remove_member(group.object_id, user.object_id) is True
    assert empty.remove_member(group.object_id, user.object_id) is False
    assert [(c.op, c.member_id, c.member_kind) for c in empty.changes if c.kind == "membership"] == [
        ("added", user.object_id, "user"),
        ("removed", user.object_id, "user"),
    ]


def test_unknown_member_and_self_nesting_are_refused(empty: Directory) -> None:
    group = empty.add_group("Staff")
    with pytest.raises(StateError):
        empty.add_member(group.object_id, "no-such-user")
    with pytest.raises(StateError):
        empty.add_member(group.object_id, group.object_id, kind="group")


def test_transitive_members_follow_nesting_and_cut_cycles(empty: Directory) -> None:
    a, b, c = (empty.add_user(f"{n}@contoso.com") for n in "abc")
    top, mid, low = (empty.add_group(n) for n in ("Top", "Mid", "Low"))
    empty.add_member(top.object_id, a.object_id)
    empty.add_member(mid.object_id, b.object_id)
    empty.add_member(low.object_id, c.object_id)
    empty.add_member(low.object_id, a.object_id)
    empty.add_member(top.object_id, mid.object_id, kind="group")
    empty.add_member(mid.object_id, low.object_id, kind="group")
    empty.add_member(low.object_id, top.object_id, kind="group")  # a cycle
    assert sorted(empty.transitive_user_ids(top.object_id)) == sorted([a.object_id, b.object_id, c.object_id])
    assert sorted(empty.transitive_user_ids(low.object_id)) == sorted([a.object_id, b.object_id, c.object_id])


def test_delete_group_leaves_its_parents(empty: Directory) -> None:
    parent, child = empty.add_group("Parent"), empty.add_group("Child")
    empty.add_member(parent.object_id, child.object_id, kind="group")
    empty.delete_group(child.object_id)
    assert parent.group_ids == {}
    assert ops(empty)[-2:] == [("membership", "removed"), ("group", "deleted")]


def test_set_members_makes_the_exact_set(empty: Directory) -> None:
    users = [empty.add_user(f"u{i}@contoso.com") for i in range(3)]
    group = empty.add_group("Staff")
    empty.set_members(group.object_id, [users[0].object_id, users[1].object_id])
    empty.set_members(group.object_id, [users[1].object_id, users[2].object_id])
    assert list(group.user_ids) == [users[1].object_id, users[2].object_id]


def test_snapshots_are_cached_until_a_change(empty: Directory) -> None:
    empty.add_user("h@contoso.com")
    first = empty.users_snapshot()
    assert empty.users_snapshot() is first
    empty.add_user("i@contoso.com")
    assert len(empty.users_snapshot()) == 2


def test_replayed_jti_is_refused(empty: Directory) -> None:
    expires = T0 + timedelta(minutes=5)
    assert empty.use_jti("abc", expires) is True
    assert empty.use_jti("abc", expires) is False


def _user(n: int, name: str | None = None) -> User:
    return User(
        object_id=f"00000000-0000-4000-8000-{n:012d}",
        okta_id=f"00u{n:017d}",
        user_name=name or f"bulk{n}@contoso.com",
        upn=name or f"bulk{n}@contoso.com",
        email=None,
        given_name=None,
        family_name=None,
        display_name=None,
        status="ACTIVE",
        created=T0,
        last_updated=T0,
    )


def _group(n: int, members: list[str]) -> Group:
    return Group(
        object_id=f"10000000-0000-4000-8000-{n:012d}",
        okta_id=f"00g{n:017d}",
        name=f"Bulk {n}",
        description=None,
        created=T0,
        last_updated=T0,
        last_membership_updated=T0,
        user_ids=dict.fromkeys(members),
    )


def test_bulk_load_fills_indexes_and_log(empty: Directory) -> None:
    users = [_user(i) for i in range(3)]
    empty.bulk_load(users, [_group(1, [users[0].object_id, users[2].object_id])])
    assert empty.user_by_name("BULK1@contoso.com") is users[1]
    assert empty.user_by_okta_id(users[2].okta_id) is users[2]
    assert ops(empty) == [("user", "created")] * 3 + [("group", "created")] + [("membership", "added")] * 2
    assert [c.seq for c in empty.changes] == list(range(1, 7))


@pytest.mark.parametrize(
    "make",
    [
        lambda: ([_user(1), _user(2, "bulk1@CONTOSO.com")], []),  # duplicate user_name
        lambda: ([_user(1)], [_group(1, ["missing"])]),  # unknown member
        lambda: ([_user(1), _user(1, "other@contoso.com")], []),  # duplicate id
    ],
)
def test_bulk_load_is_all_or_nothing(empty: Directory, make) -> None:  # type: ignore[no-untyped-def]
    users, groups = make()
    with pytest.raises(StateError):
        empty.bulk_load(users, groups)
    assert empty.users == {} and empty.groups == {} and empty.changes == []
