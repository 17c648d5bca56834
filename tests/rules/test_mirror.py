"""The mirror: overlaying change sets and diffing views.

Writing the diff to the store and loading it back: ``tests/store/test_mirror_handlers.py``.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from datetime import timezone

import pytest
from builders import user
from fakes import FakeProvider
from fakes import as_sets
from fakes import seeded
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis_profiles import examples

from connector.model import ChangeSet
from connector.model import DirectoryView
from connector.model import IdpGroup
from connector.model import IdpMember
from connector.model import MemberKind
from connector.rules.mirror import MirrorIndex
from connector.rules.mirror import mirror_changes
from connector.rules.mirror import overlay
from connector.run.sync import read_directory

D = "fake-dir"


def test_overlay_lays_changes_over_the_mirror() -> None:
    idp = seeded(users=4, groups=2)
    mirror = read_directory(idp, D)
    changes = ChangeSet(
        cursor="c2",
        users=(user(1, display_name="One"), user(9)),
        removed_user_ids=("u2",),
        groups=(IdpGroup("g5", "Five"),),
        removed_group_ids=("g1",),
        members_added=(IdpMember("g5", "u9"), IdpMember("g0", "u3")),
        members_removed=(IdpMember("g0", "u0"),),
    )
    view = overlay(mirror, changes)
    assert not view.full_read and view.removed_user_ids == frozenset({"u2"})
    assert view.users["u1"].display_name == "One" and "u9" in view.users and "u2" not in view.users
    assert set(view.groups) == {"g0", "g5"}
    assert {m.member_id for m in view.members["g0"]} == {"u3"}  # u0 and u2 left, nested g1 is gone
    assert view.members["g5"] == (IdpMember("g5", "u9"),)
    assert "g1" not in view.members
    assert mirror.users["u1"].display_name == "User 1"  # the mirror itself is untouched


def test_overlay_replaces_whole_member_lists() -> None:
    idp = seeded(users=4, groups=2)
    mirror = read_directory(idp, D)
    changes = ChangeSet(
        cursor="c2",
        members_added=(IdpMember("g0", "u1"),),
        members_removed=(IdpMember("g0", "u1"),),  # ignored for a group reported whole
        groups_with_full_members=("g0",),
    )
    assert overlay(mirror, changes).members["g0"] == (IdpMember("g0", "u1"),)


def test_no_changes_no_mirror_changes() -> None:
    view = read_directory(seeded(), D)
    assert mirror_changes(view, view) == []
    again = DirectoryView(
        D, dict(view.users), dict(view.groups), {g: tuple(reversed(m)) for g, m in view.members.items()}
    )
    assert mirror_changes(view, again) == []  # member order does not matter


def test_the_index_tells_every_mirrored_field_apart() -> None:
    stamped = user(2, updated_at=datetime(2024, 5, 1, 12, 30, tzinfo=timezone.utc), other_emails=("a@b.org",))
    idp = seeded(users=5, groups=3)
    idp.put_user(stamped)
    view = read_directory(idp, D)
    index = MirrorIndex.of_view(view)
    assert mirror_changes(index, view) == []
    variants = {
        "user_name": "other",
        "email": "x@y.org",
        "active": False,
        "raw_status": "other",
        "display_name": "Other",
        "given_name": "O",
        "family_name": "T",
        "other_emails": ("b@b.org",),
        "is_guest": True,
        "updated_at": datetime(2024, 5, 2, tzinfo=timezone.utc),
    }
    for name, value in variants.items():
        changed = dataclasses.replace(stamped, **{name: value})
        newer = dataclasses.replace(view, users={**view.users, "u2": changed})
        found = mirror_changes(index, newer)
        assert [(c.action.value, c.idp_user_id) for c in found] == [("mirror_user", "u2")], name
    reordered = {g: tuple(reversed(m)) for g, m in view.members.items()}
    assert mirror_changes(index, dataclasses.replace(view, members=reordered)) == []


# A random day in the IdP: every step is one mutation of the fake directory.
STEPS = st.lists(
    st.tuples(
        st.sampled_from(
            ["rename", "add", "delete", "join", "leave", "nest", "new_group", "drop_group", "suspend"]
        ),
        st.integers(0, 9),
        st.integers(0, 5),
    ),
    max_size=25,
)


def mutate(idp: FakeProvider, step: tuple[str, int, int], fresh: list[int]) -> None:
    """Apply one step; ids are never reused, as an IdP's immutable ids are not."""
    kind, n, g = step
    uid, gid = f"u{n}", f"g{g}"
    if kind == "rename" and uid in idp.users:
        idp.update_user(uid, display_name=f"Name {len(idp.log)}")
    elif kind == "suspend" and uid in idp.users:
        idp.update_user(uid, active=False, raw_status="SUSPENDED")
    elif kind == "add":
        fresh[0] += 1
        idp.put_user(user(100 + fresh[0]))
    elif kind == "delete" and uid in idp.users:
        idp.delete_user(uid)
    elif kind == "join" and uid in idp.users and gid in idp.groups:
        idp.add_member(gid, uid)
    elif kind == "leave" and gid in idp.groups:
        idp.remove_member(gid, uid)
    elif kind == "nest" and gid in idp.groups and f"g{n % 4}" in idp.groups and f"g{n % 4}" != gid:
        idp.add_member(gid, f"g{n % 4}", MemberKind.GROUP)
    elif kind == "new_group" and not any(e[:2] == ("group", gid) for e in idp.log):
        idp.put_group(gid, f"Group {gid}")
    elif kind == "drop_group" and gid in idp.groups:
        idp.delete_group(gid)


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=STEPS, split=st.integers(0, 25), diffs=st.booleans())
def test_mirror_plus_changes_equals_a_fresh_read(
    steps: list[tuple[str, int, int]], split: int, diffs: bool
) -> None:
    idp = seeded(users=8, groups=3, member_diffs=diffs)
    fresh = [0]
    cursor = idp.changes(None).cursor
    mirror = read_directory(idp, D)
    for number, step in enumerate(steps):
        mutate(idp, step, fresh)
        if number == split:  # an incremental run in the middle of the day
            changes = idp.changes(cursor)
            mirror = dataclasses.replace(overlay(mirror, changes), full_read=True)
            cursor = changes.cursor
    view = overlay(mirror, idp.changes(cursor))
    assert as_sets(view) == as_sets(read_directory(idp, D))


@pytest.mark.parametrize("diffs", [True, False])
def test_a_deleted_user_leaves_every_group_in_the_view(diffs: bool) -> None:
    idp = seeded(users=4, groups=2, member_diffs=diffs)
    cursor = idp.changes(None).cursor
    mirror = read_directory(idp, D)
    idp.delete_user("u1")
    view = overlay(mirror, idp.changes(cursor))
    assert all(m.member_id != "u1" for ms in view.members.values() for m in ms)
    assert view.removed_user_ids == frozenset({"u1"})
