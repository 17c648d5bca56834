"""The guard's three triggers, its silence on a first sync, and force (PRODUCT.md, "Guard")."""

from __future__ import annotations

import pytest
from builders import DIR
from builders import account
from builders import snapshot
from builders import user
from builders import view

from connector.errors import GuardTrippedError
from connector.model import LOCAL_SOURCE
from connector.model import Group
from connector.model import GroupMembership
from connector.model import Link
from connector.rules.guard import GROUP_EMPTIED
from connector.rules.guard import MASS_DEACTIVATION
from connector.rules.guard import READ_EMPTY
from connector.rules.guard import READ_SHRANK
from connector.rules.guard import check_guard
from connector.rules.settings import GuardSettings


def _directory(linked: int, *, last_good: int | None = None):
    accounts = [account(f"a{i}", f"user{i}@example.com") for i in range(linked)]
    links = [Link(DIR, f"u{i}", f"a{i}") for i in range(linked)]
    return snapshot(accounts, links, last_good_user_count=last_good if last_good is not None else linked)


def _users(ids, *, inactive=()):
    return [user(f"u{i}", f"user{i}@example.com", active=i not in inactive) for i in ids]


def _judge(plan_for, v, snap, settings=None, **kwargs):
    plan = plan_for(v, snap)
    return check_guard(plan, snap, v, settings or GuardSettings(), **kwargs)


@pytest.mark.parametrize(
    ("linked", "deactivated", "tripped"),
    [
        (100, 4, False),  # under the minimum of 5
        (100, 5, False),  # 5%: not more than 10%
        (40, 5, True),  # 12.5%
        (50, 5, False),  # exactly 10% is not more than 10%
        (20, 4, False),  # 20%, but under 5
    ],
)
def test_mass_deactivation(plan_for, linked: int, deactivated: int, tripped: bool) -> None:
    snap = _directory(linked)
    v = view(_users(range(linked), inactive=range(deactivated)))
    outcome = _judge(plan_for, v, snap)
    assert outcome.tripped is tripped
    if tripped:
        assert outcome.rule == MASS_DEACTIVATION
        assert (
            outcome.numbers["deactivations"] == deactivated and outcome.numbers["linked_accounts"] == linked
        )
        assert "--force" in outcome.message and "guard.max_deactivation_ratio" in outcome.message


def test_more_than_the_absolute_maximum_trips_whatever_the_ratio(plan_for) -> None:
    snap = _directory(100)
    v = view(_users(range(100), inactive=range(6)))
    outcome = _judge(plan_for, v, snap, GuardSettings(max_deactivation_ratio=1.0, max_deactivations=5))
    assert outcome.tripped and outcome.rule == MASS_DEACTIVATION


def test_a_raised_threshold_lets_it_through(plan_for) -> None:
    snap = _directory(40)
    v = view(_users(range(40), inactive=range(5)))
    assert not _judge(plan_for, v, snap, GuardSettings(max_deactivation_ratio=0.2)).tripped


def test_force_lets_a_tripped_plan_through_and_still_names_the_rule(plan_for) -> None:
    snap = _directory(40)
    v = view(_users(range(40), inactive=range(10)))
    outcome = _judge(plan_for, v, snap, force=True)
    assert (outcome.tripped, outcome.forced, outcome.rule) == (False, True, MASS_DEACTIVATION)
    outcome.raise_if_tripped()


def test_a_tripped_outcome_raises_with_its_rule(plan_for) -> None:
    snap = _directory(40)
    outcome = _judge(plan_for, view(_users(range(40), inactive=range(10))), snap)
    with pytest.raises(GuardTrippedError, match="deactivate 10 of 40") as info:
        outcome.raise_if_tripped()
    assert info.value.rule == MASS_DEACTIVATION


def test_an_empty_read_trips(plan_for) -> None:
    outcome = _judge(plan_for, view([]), _directory(3))
    assert outcome.tripped and outcome.rule == READ_EMPTY
    assert outcome.message.endswith("If this is intended, run again with --force.")


@pytest.mark.parametrize(("read", "tripped"), [(90, False), (89, True), (100, False), (120, False)])
def test_a_shrunk_read_trips(plan_for, read: int, tripped: bool) -> None:
    snap = _directory(100)
    outcome = _judge(plan_for, view(_users(range(read))), snap)
    assert outcome.tripped is tripped
    if tripped:
        assert outcome.rule == READ_SHRANK
        assert outcome.numbers == {
            "users_read": read,
            "last_good_user_count": 100,
            "shrink_ratio": round((100 - read) / 100, 4),
            "max_shrink_ratio": 0.1,
        }


def test_never_on_the_first_sync(plan_for) -> None:
    assert not _judge(plan_for, view([]), snapshot(last_good_user_count=None)).tripped
    assert not _judge(plan_for, view(_users(range(10), inactive=range(10))), snapshot()).tripped


def _group_of(size: int, *, local: int = 0):
    snap = _directory(size, last_good=size)
    group = Group("m1", "g1", DIR, "g1")
    memberships = {GroupMembership("m1", f"a{i}", DIR) for i in range(size)}
    memberships |= {GroupMembership("m1", f"a{i}", LOCAL_SOURCE) for i in range(local)}
    return snapshot(
        snap.accounts.values(), snap.links.values(), [group], memberships, last_good_user_count=size
    )


@pytest.mark.parametrize(
    ("size", "leaving", "local", "tripped"),
    [
        (20, 11, 0, True),  # 55% of a group of 20
        (20, 10, 0, False),  # exactly half is not more than half
        (19, 19, 0, False),  # a group under 20 may empty
        (20, 11, 11, False),  # their local memberships keep them in the group
    ],
)
def test_a_group_losing_more_than_half(plan_for, size: int, leaving: int, local: int, tripped: bool) -> None:
    snap = _group_of(size, local=local)
    v = view(_users(range(size)), {"g1": [f"u{i}" for i in range(leaving, size)]})
    outcome = _judge(plan_for, v, snap, GuardSettings(max_deactivations=10_000, max_deactivation_ratio=1.0))
    assert outcome.tripped is tripped
    if tripped:
        assert outcome.rule == GROUP_EMPTIED
        assert (outcome.numbers["members"], outcome.numbers["removed"]) == (size, leaving)
        assert "guard.group_max_removal_ratio" in outcome.message


def test_deactivations_count_as_leaving_a_group(plan_for) -> None:
    snap = _group_of(20)
    v = view(_users(range(20), inactive=range(11)), {"g1": [f"u{i}" for i in range(20)]})
    settings = GuardSettings(max_deactivation_ratio=1.0, max_deactivations=10_000)
    outcome = _judge(plan_for, v, snap, settings)
    assert outcome.rule == GROUP_EMPTIED and outcome.numbers["removed"] == 11
