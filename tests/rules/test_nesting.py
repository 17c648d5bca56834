"""Flattening nested groups; cycles reported, never looped on."""

from __future__ import annotations

import dataclasses

from builders import user
from builders import view

from connector.model import IdpMember
from connector.model import MemberKind
from connector.rules.nesting import flatten


def _view(groups):
    users = {m for ms in groups.values() for m in ms if m.startswith("u")}
    return view([user(u, f"{u}@example.com") for u in users], groups)


def test_flat_groups() -> None:
    flat = flatten(_view({"a": ["u1", "u2"], "b": []}))
    assert flat.users == {"a": {"u1", "u2"}, "b": frozenset()}
    assert flat.cycles == ()


def test_members_of_a_child_are_members_of_every_ancestor() -> None:
    flat = flatten(_view({"top": ["u1", "mid"], "mid": ["u2", "leaf"], "leaf": ["u3"], "side": ["leaf"]}))
    assert flat.users["top"] == {"u1", "u2", "u3"}
    assert flat.users["mid"] == {"u2", "u3"}
    assert flat.users["side"] == {"u3"}
    assert flat.groups_by_user()["u3"] == ["leaf", "mid", "side", "top"]


def test_cycles_are_reported_and_share_members() -> None:
    flat = flatten(
        _view({"a": ["u1", "b"], "b": ["u2", "c"], "c": ["u3", "a"], "d": ["a"], "self": ["self", "u4"]})
    )
    assert flat.cycles == (("a", "b", "c"), ("self",))
    assert flat.users["a"] == flat.users["b"] == flat.users["c"] == flat.users["d"] == {"u1", "u2", "u3"}
    assert flat.users["self"] == {"u4"}


def test_unknown_nested_groups_and_users_are_ignored() -> None:
    v = view([user("u1", "u1@example.com")], {"a": ["u1", "ghost-user"]})
    members = {"a": (*v.members["a"], IdpMember("a", "ghost-group", MemberKind.GROUP))}
    flat = flatten(dataclasses.replace(v, members=members))
    assert flat.users["a"] == {"u1"}
    assert flat.unknown_groups == {"ghost-group"}


def test_a_deep_chain_does_not_recurse() -> None:
    depth = 5000
    groups = {f"g{i}": [f"g{i + 1}"] for i in range(depth)}
    groups[f"g{depth}"] = ["u1"]
    flat = flatten(_view(groups))
    assert flat.users["g0"] == {"u1"}
