"""Planning rules (PRODUCT.md, "A sync run" step 4 and "Rules that hold always")."""

from __future__ import annotations

from builders import DIR
from builders import account
from builders import snapshot
from builders import user
from builders import view

from connector.model import LOCAL_SOURCE
from connector.model import AccountStatus
from connector.model import Group
from connector.model import GroupMembership
from connector.model import Link
from connector.rules.plan import Action
from connector.rules.plan import Plan
from connector.rules.planner import make_plan
from connector.rules.settings import SyncSettings

OTHER = "azure-eu"


def kinds(plan: Plan) -> list[str]:
    return [c.action.value for c in plan.changes]


def test_first_sync_creates_groups_accounts_and_memberships(sync) -> None:
    v = view(
        [
            user("u1", "kate@example.com", given_name="Kate", family_name="Smith"),
            user("u2", "pat@partner.io"),
        ],
        {"g1": ["u1", "u2"]},
        names={"g1": "jira-users"},
    )
    plan, after = sync(v, snapshot())
    assert kinds(plan) == [
        "create_group",
        "create_account",
        "create_account",
        "add_membership",
        "add_membership",
    ]
    kate = next(a for a in after.accounts.values() if a.email == "kate@example.com")
    assert kate.display_name == "Kate Smith" and kate.status is AccountStatus.ACTIVE
    assert {(m.account_id, m.source) for m in after.memberships} == {(a, DIR) for a in after.accounts}
    assert all(c.reason for c in plan.changes)


def test_internal_profile_follows_the_idp(sync) -> None:
    acc = account("a1", "KATE@example.com", display_name="K. Smith")
    v = view([user("u1", "Kate@Example.com", display_name="Kate Smith", given_name="Kate")])
    plan, after = sync(v, snapshot([acc], [Link(DIR, "u1", "a1")]))
    (update,) = plan.of(Action.UPDATE_ACCOUNT)
    assert dict(update.fields) == {
        "email": "Kate@example.com",
        "display_name": "Kate Smith",
        "given_name": "Kate",
    }
    assert update.old["display_name"] == "K. Smith"
    assert after.accounts["a1"].email == "Kate@example.com"


def test_external_profile_is_never_changed(sync) -> None:
    acc = account("a1", "pat@partner.io", display_name="Pat")
    v = view([user("u1", "pat.new@partner.io", display_name="Patricia Q")])
    plan, after = sync(v, snapshot([acc], [Link(DIR, "u1", "a1")]))
    assert plan.of(Action.UPDATE_ACCOUNT) == []
    assert after.accounts["a1"] == acc


def test_an_idp_field_left_empty_never_blanks_the_account(plan_for) -> None:
    acc = account("a1", "kate@example.com", display_name="Kate")
    plan = plan_for(view([user("u1", "kate@example.com")]), snapshot([acc], [Link(DIR, "u1", "a1")]))
    assert plan.changes == ()


def test_email_change_onto_another_accounts_address_is_held_back(plan_for) -> None:
    accounts = [account("a1", "kate@example.com"), account("a2", "pat@example.com")]
    plan = plan_for(view([user("u1", "PAT@example.com")]), snapshot(accounts, [Link(DIR, "u1", "a1")]))
    assert plan.of(Action.UPDATE_ACCOUNT) == []
    assert any("another account's" in n for n in plan.notes)


def test_link_keeps_local_groups_and_memberships(sync) -> None:
    acc = account("a1", "kate@example.com")
    local = Group("local-1", "engineering")
    theirs = Group("other-1", "eu-staff", OTHER, "og1")
    memberships = [GroupMembership("local-1", "a1", LOCAL_SOURCE), GroupMembership("other-1", "a1", OTHER)]
    v = view([user("u1", "kate@example.com")], {"g1": ["u1"]})
    plan, after = sync(v, snapshot([acc], [], [local, theirs], memberships))
    assert kinds(plan)[:2] == ["create_group", "link"]
    assert set(memberships) <= after.memberships
    assert plan.of(Action.REMOVE_MEMBERSHIP) == []


def _member_of_three_sources():
    acc = account("a1", "kate@example.com")
    groups = [
        Group("m1", "g1", DIR, "g1"),
        Group("local-1", "eng"),
        Group("other-1", "eu", OTHER, "og1"),
    ]
    memberships = [
        GroupMembership("m1", "a1", DIR),
        GroupMembership("m1", "a1", LOCAL_SOURCE),
        GroupMembership("local-1", "a1", LOCAL_SOURCE),
        GroupMembership("other-1", "a1", OTHER),
    ]
    return acc, groups, memberships


def test_idp_inactive_deactivates_at_once_and_removes_only_this_directorys_memberships(sync) -> None:
    acc, groups, memberships = _member_of_three_sources()
    v = view([user("u1", "kate@example.com", active=False)], {"g1": ["u1"]})
    plan, after = sync(v, snapshot([acc], [Link(DIR, "u1", "a1")], groups, memberships))
    assert kinds(plan) == ["remove_membership", "deactivate", "mark_missing"]
    assert "inactive in the IdP" in plan.of(Action.DEACTIVATE)[0].reason
    assert after.accounts["a1"].status is AccountStatus.DEACTIVATED
    assert after.memberships == frozenset(memberships[1:])
    assert after.links[(DIR, "u1")].idp_active is False


def test_one_miss_does_not_deactivate_two_do(plan_for) -> None:
    from memory_apply import apply_in_memory

    acc, groups, memberships = _member_of_three_sources()
    snap = snapshot(
        [acc, account("a2", "bob@example.com")],
        [Link(DIR, "u1", "a1"), Link(DIR, "u2", "a2")],
        groups,
        memberships,
    )
    v = view([user("u2", "bob@example.com")], {"g1": ["u2"]})
    first = plan_for(v, snap)
    assert [c for c in first.changes if getattr(c, "account_id", None) == "a1"] == []
    (mark,) = first.of(Action.MARK_MISSING)
    assert (mark.idp_user_id, mark.missing_count) == ("u1", 1)
    snap = apply_in_memory(snap, first)
    assert snap.accounts["a1"].status is AccountStatus.ACTIVE
    assert GroupMembership("m1", "a1", DIR) in snap.memberships  # one bad read never deprovisions
    second = plan_for(v, snap)
    assert [c.action.value for c in second.changes] == ["remove_membership", "deactivate", "mark_missing"]
    assert "absent from 2 full reads" in second.of(Action.DEACTIVATE)[0].reason
    snap = apply_in_memory(snap, second)
    assert snap.accounts["a1"].status is AccountStatus.DEACTIVATED
    assert plan_for(v, snap).changes == ()  # the count stops at the threshold: nothing more to do


def test_a_returning_identity_is_reactivated_with_the_same_account(sync) -> None:
    acc = account("a1", "kate@example.com", active=False)
    snap = snapshot([acc], [Link(DIR, "u1", "a1", missing_count=2)], [Group("m1", "g1", DIR, "g1")])
    plan, after = sync(view([user("u1", "kate@example.com")], {"g1": ["u1"]}), snap)
    assert kinds(plan) == ["activate", "add_membership", "mark_missing"]
    assert "back in the directory" in plan.of(Action.ACTIVATE)[0].reason
    assert after.accounts["a1"].status is AccountStatus.ACTIVE and len(after.accounts) == 1
    assert after.links[(DIR, "u1")].missing_count == 0


def test_an_incremental_view_never_counts_absence(plan_for) -> None:
    snap = snapshot([account("a1", "kate@example.com")], [Link(DIR, "u1", "a1")])
    assert plan_for(view([], full_read=False), snap).changes == ()


def test_removed_user_ids_deactivate_at_once(plan_for) -> None:
    snap = snapshot([account("a1", "kate@example.com")], [Link(DIR, "u1", "a1")])
    plan = plan_for(view([], full_read=False, removed=["u1"]), snap)
    assert kinds(plan) == ["deactivate", "mark_missing"]
    assert "deleted in the IdP" in plan.changes[0].reason


def test_an_account_active_through_another_directory_stays_active(sync) -> None:
    acc, groups, memberships = _member_of_three_sources()
    links = [Link(DIR, "u1", "a1"), Link(OTHER, "x1", "a1")]
    v = view([user("u1", "kate@example.com", active=False)], {"g1": ["u1"]})
    plan, after = sync(v, snapshot([acc], links, groups, memberships))
    assert plan.of(Action.DEACTIVATE) == []
    assert after.accounts["a1"].status is AccountStatus.ACTIVE
    assert GroupMembership("m1", "a1", DIR) not in after.memberships
    assert GroupMembership("other-1", "a1", OTHER) in after.memberships


def test_a_local_group_of_the_same_name_is_adopted_with_its_members(sync) -> None:
    local = Group("local-1", "jira-users", description="old")
    keep = GroupMembership("local-1", "a0", LOCAL_SOURCE)
    v = view([user("u1", "kate@example.com")], {"g1": ["u1"]}, names={"g1": "jira-users"})
    plan, after = sync(v, snapshot([account("a0", "old@example.com")], [], [local], [keep]))
    assert kinds(plan)[0] == "adopt_group"
    adopted = after.groups["local-1"]
    assert (adopted.idp_group_id, adopted.directory_id, adopted.adopted) == ("g1", DIR, True)
    assert keep in after.memberships
    assert any("adopted" in n for n in plan.notes)


def test_a_group_of_another_directory_is_never_adopted(sync) -> None:
    theirs = Group("other-1", "jira-users", OTHER, "og1")
    v = view([], {"g1": []}, names={"g1": "jira-users"})
    plan, _ = sync(v, snapshot([], [], [theirs]))
    assert kinds(plan) == ["create_group"]


def test_a_renamed_idp_group_renames_the_managed_group(sync) -> None:
    snap = snapshot([], [], [Group("m1", "old name", DIR, "g1")])
    plan, after = sync(view([], {"g1": []}, names={"g1": "new name"}), snap)
    (update,) = plan.of(Action.UPDATE_GROUP)
    assert (update.old_name, update.name) == ("old name", "new name")
    assert after.groups["m1"].name == "new name"


def test_nested_groups_flatten_and_a_cycle_is_reported(sync) -> None:
    users = [user(f"u{i}", f"user{i}@example.com") for i in range(1, 4)]
    v = view(users, {"parent": ["u1", "child"], "child": ["u2", "grandchild"], "grandchild": ["u3", "child"]})
    plan, after = sync(v, snapshot())
    by_group = {}
    for m in after.memberships:
        by_group.setdefault(after.groups[m.group_id].idp_group_id, set()).add(
            after.accounts[m.account_id].email
        )
    assert by_group["parent"] == {"user1@example.com", "user2@example.com", "user3@example.com"}
    assert by_group["child"] == by_group["grandchild"] == {"user2@example.com", "user3@example.com"}
    assert any("cycle (child, grandchild)" in n for n in plan.notes)


def test_membership_removed_when_the_user_leaves_the_idp_group(sync) -> None:
    acc, groups, memberships = _member_of_three_sources()
    plan, after = sync(
        view([user("u1", "kate@example.com")], {"g1": []}),
        snapshot([acc], [Link(DIR, "u1", "a1")], groups, memberships),
    )
    assert kinds(plan) == ["remove_membership"]
    assert after.memberships == frozenset(memberships[1:])


def test_a_manually_deactivated_linked_account_follows_the_idp(sync) -> None:
    snap = snapshot([account("a1", "kate@example.com", active=False)], [Link(DIR, "u1", "a1")])
    plan, _ = sync(view([user("u1", "kate@example.com")]), snap)
    assert kinds(plan) == ["activate"]


def test_conflicts_and_skips_plan_nothing(plan_for) -> None:
    v = view(
        [
            user("u1", "kate@example.com"),
            user("u2", "kate@example.com"),
            user("u3", "x@example.com", active=False),
        ]
    )
    plan = plan_for(v, snapshot())
    assert plan.changes == ()
    assert {c.idp_user_id for c in plan.conflicts} == {"u1", "u2"}
    assert [s[0] for s in plan.skipped] == ["u3"]


def test_the_plan_is_deterministic_and_survives_json(plan_for) -> None:
    v = view(
        [user("u1", "kate@example.com", display_name="Kate"), user("u2", "pat@partner.io")],
        {"g1": ["u1", "u2"]},
    )
    snap = snapshot([account("a1", "KATE@example.com")])
    plan = plan_for(v, snap)
    assert plan == plan_for(v, snap)
    assert Plan.from_json(plan.to_json()) == plan
    assert plan.users_read == 2 and plan.full_read is True


def test_only_the_managing_directory_changes_an_internal_profile() -> None:
    """A directory that does not manage example.com leaves its accounts' profiles alone."""
    acct = account("a1", "kate@example.com")
    v = view([user("u1", "kate@example.com", display_name="Kate Renamed")])
    snap = snapshot([acct], [Link(DIR, "u1", "a1")])
    managing = SyncSettings(verified_domains=("example.com",))
    other = SyncSettings(verified_domains=("example.com",), managed_domains=())
    assert [c.action.value for c in make_plan(v, snap, managing).changes] == ["update_account"]
    assert make_plan(v, snap, other).changes == ()
