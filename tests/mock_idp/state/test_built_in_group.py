"""The built-in group (Okta's ``Everyone``): every user of the directory, always, and nothing else."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from typing import Any

import pytest

from mock_idp.state.directory import Directory
from mock_idp.state.directory import Group
from mock_idp.state.directory import StateError
from mock_idp.state.fixtures import SAMPLE_FIXTURE
from mock_idp.state.fixtures import FixtureError
from mock_idp.state.fixtures import dump_fixture
from mock_idp.state.fixtures import load_fixture
from mock_idp.state.generator import generate
from mock_idp.state.system_log import ADD

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)


class Clock:
    """A clock that moves a second on every call, so edits have distinct times."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def directory() -> Directory:
    d = Directory(seed=2, clock=Clock())
    for name in ("ann", "ben", "cat"):
        d.add_user(f"{name}@example.com", email=f"{name}@example.com")
    d.add_group("Everyone", built_in=True)
    d.add_group("Engineering")
    return d


def everyone(directory: Directory) -> Group:
    return next(g for g in directory.groups.values() if g.built_in)


def named(directory: Directory, name: str) -> Group:
    return next(g for g in directory.groups.values() if g.name == name)


def test_a_built_in_group_starts_with_every_user(directory: Directory) -> None:
    assert list(everyone(directory).user_ids) == list(directory.users)
    assert not named(directory, "Engineering").built_in


def test_a_new_user_joins_it_through_the_normal_membership_path(directory: Directory) -> None:
    group = everyone(directory)
    before = group.okta_membership_updated
    user = directory.add_user("dan@example.com")
    assert user.object_id in group.user_ids
    last = directory.changes[-1]
    assert (last.kind, last.op, last.object_id, last.member_id) == (
        "membership",
        "added",
        group.object_id,
        user.object_id,
    )
    entry = directory.system_log.entries()[-1]
    assert (entry.event_type, entry.group[0], entry.user[0]) == (ADD, group.okta_id, user.okta_id)
    assert group.okta_membership_updated > before


def test_a_deleted_user_leaves_it(directory: Directory) -> None:
    ann = directory.user_by_name("ann@example.com")
    assert ann is not None
    directory.delete_user(ann.object_id)
    assert ann.object_id not in everyone(directory).user_ids
    assert list(everyone(directory).user_ids) == list(directory.users)


def test_a_soft_deleted_user_leaves_it_and_a_restored_one_is_back(directory: Directory) -> None:
    ben = directory.user_by_name("ben@example.com")
    assert ben is not None
    directory.add_member(named(directory, "Engineering").object_id, ben.object_id)
    directory.soft_delete_user(ben.object_id)
    assert ben.object_id not in everyone(directory).user_ids
    directory.restore_user(ben.object_id)
    assert ben.object_id in everyone(directory).user_ids
    assert ben.object_id in named(directory, "Engineering").user_ids


def test_a_user_restored_after_the_group_was_made_joins_it_too() -> None:
    d = Directory(seed=3, clock=Clock())
    user = d.add_user("eve@example.com")
    d.soft_delete_user(user.object_id)
    group = d.add_group("Everyone", built_in=True)
    assert not group.user_ids
    d.restore_user(user.object_id)
    assert list(group.user_ids) == [user.object_id]


@pytest.mark.parametrize(
    "edit",
    [
        lambda d, g, u: d.add_member(g.object_id, d.add_user("new@example.com").object_id),
        lambda d, g, u: d.remove_member(g.object_id, u),
        lambda d, g, u: d.add_member(g.object_id, named(d, "Engineering").object_id, kind="group"),
        lambda d, g, u: d.set_members(g.object_id, [u]),
        lambda d, g, u: d.update_group(g.object_id, name="All staff"),
        lambda d, g, u: d.update_group(g.object_id, description="Everybody"),
        lambda d, g, u: d.delete_group(g.object_id),
    ],
    ids=["add", "remove", "nest", "set", "rename", "describe", "delete"],
)
def test_edits_by_hand_are_refused(directory: Directory, edit: Any) -> None:
    group = everyone(directory)
    first = next(iter(group.user_ids))
    with pytest.raises(StateError) as refused:
        edit(directory, group, first)
    assert refused.value.kind == "unsupported"
    assert "'Everyone' is built in" in refused.value.message
    assert group.object_id in directory.groups and group.name == "Everyone"
    assert list(group.user_ids) == list(directory.users) and not group.group_ids


def test_what_changes_nothing_is_allowed(directory: Directory) -> None:
    group = everyone(directory)
    directory.set_members(group.object_id, list(group.user_ids))  # a SCIM PUT of the same members
    directory.update_group(group.object_id, name="Everyone", external_id="all")
    assert group.external_id == "all"


def test_the_generator_makes_group_0_the_built_in_everyone() -> None:
    d = generate(300, 12, seed=4, now=NOW)
    groups = list(d.groups.values())
    assert groups[0].name == "Everyone" and groups[0].built_in
    assert [g for g in groups if g.built_in] == [groups[0]]
    assert list(groups[0].user_ids) == list(d.users) and not groups[0].group_ids
    assert not any(groups[0].object_id in g.group_ids for g in groups)
    assert len(d.system_log) == 0  # seed memberships are not logged, Everyone's neither
    added = [c for c in d.changes if c.op == "added" and c.object_id == groups[0].object_id]
    assert len(added) == 300


def test_a_bulk_load_fills_built_in_groups_and_refuses_listed_members() -> None:
    d = generate(20, 3, seed=1, now=NOW)
    more = generate(5, 0, seed=2, now=NOW, domain="other.example")
    d.bulk_load(list(more.users.values()))
    assert list(everyone(d).user_ids) == list(d.users)
    assert everyone(d).user_ids.keys() >= more.users.keys()
    bad = copy.deepcopy(everyone(generate(3, 1, seed=3, now=NOW)))
    with pytest.raises(StateError, match="'Everyone' is built in"):
        Directory().bulk_load([], [bad])


def test_a_fixture_declares_it_with_built_in_and_lists_no_members() -> None:
    d = load_fixture(
        {
            "users": [{"user_name": "a@example.com"}, {"user_name": "b@example.com"}],
            "groups": [
                {"name": "Everyone", "built_in": True},
                {"name": "Team", "members": ["a@example.com"]},
            ],
        }
    )
    assert list(everyone(d).user_ids) == list(d.users)
    dumped = dump_fixture(d)
    assert dumped["groups"][0]["built_in"] is True and "members" not in dumped["groups"][0]
    assert "built_in" not in dumped["groups"][1]
    again = load_fixture(dumped)
    assert dump_fixture(again)["groups"] == dumped["groups"]


@pytest.mark.parametrize("key", ["members", "groups"])
def test_a_fixture_listing_members_of_a_built_in_group_is_an_error_naming_it(key: str) -> None:
    data = {
        "users": [{"user_name": "a@example.com"}],
        "groups": [{"name": "Team"}, {"name": "All of us", "built_in": True, key: ["a@example.com"]}],
    }
    if key == "groups":
        data["groups"][1][key] = ["Team"]
    with pytest.raises(FixtureError, match=rf"^groups\[1\]\.{key}: group 'All of us' is built in"):
        load_fixture(data)


def test_a_fixture_flag_must_be_a_boolean() -> None:
    with pytest.raises(FixtureError, match=r"groups\[0\]\.built_in: must be true or false"):
        load_fixture({"groups": [{"name": "Everyone", "built_in": "yes"}]})


def test_the_sample_fixture_has_a_built_in_everyone() -> None:
    sample = json.loads(SAMPLE_FIXTURE.read_text(encoding="utf-8"))
    d = load_fixture(sample)
    group = named(d, "Everyone")
    assert group.built_in and list(group.user_ids) == list(d.users)
