"""Planning only what changed (connector.store.scope) gives the whole directory's plan.

The property test builds a random directory (nested groups, conflicts, invited
accounts), syncs it, changes it at random, and then plans the same changes
twice on the same store: only the identities they touch, and the whole
directory laid over the mirror.  Whenever the scoped path is taken, both plans
and the guard's verdicts must be equal, and the mirror it writes must be the
directory as the IdP has it.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections.abc import Callable

import pytest
from builders import user
from fakes import FakeProvider
from hypothesis import HealthCheck
from hypothesis import event
from hypothesis import example
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis_profiles import examples
from simulated_days import HIRING_DOMAINS
from simulated_days import build
from simulated_days import live
from simulated_days import vanish

from connector.errors import IncompleteReadError
from connector.model import DirectoryView
from connector.model import MemberKind
from connector.rules.guard import GuardOutcome
from connector.rules.guard import check_guard
from connector.rules.guard import judge
from connector.rules.mirror import overlay
from connector.rules.plan import BOOKKEEPING
from connector.rules.plan import Plan
from connector.rules.planner import make_plan
from connector.rules.settings import GuardSettings
from connector.rules.settings import SyncSettings
from connector.run.planning import read_directory
from connector.run.read_differences import MirrorDigests
from connector.run.read_differences import read_differences
from connector.run.shape import planning_basis
from connector.run.sync import sync_directory
from connector.store import Store
from connector.store.mirror import load_mirror
from connector.store.scope import FullRead
from connector.store.scope import Scope
from connector.store.scope import ScopeRefused
from connector.store.scope import keep_keys_fresh
from connector.store.scope import load_scope

DOMAINS = ("example.com",)
SETTINGS = SyncSettings(
    verified_domains=DOMAINS,
    product_grants={"jira-software": ("Group 0",)},
    guard=GuardSettings(min_deactivations=2, group_min_size=2),
)
D = "fake-dir"


def _counter() -> Callable[[], str]:
    numbers = itertools.count()
    return lambda: f"new-{next(numbers)}"


def _product(plan: Plan) -> list[str]:
    """The plan's changes that matter to the product (and MarkMissing), comparable as text."""
    keep = [c for c in plan.changes if c.action not in BOOKKEEPING or c.action.value == "mark_missing"]
    return sorted(json.dumps(c.to_dict(), sort_keys=True) for c in keep)


def _members(view: DirectoryView) -> dict[str, set[tuple[str, str]]]:
    return {g: {(m.member_id, MemberKind(m.kind).value) for m in ms} for g, ms in view.members.items() if ms}


@dataclasses.dataclass
class _Both:
    scope: Scope | str  # or why none
    scoped: Plan | None
    scoped_guard: GuardOutcome | None
    whole: Plan
    whole_guard: GuardOutcome
    whole_view: DirectoryView


def _both(store: Store, provider: FakeProvider, *, full: bool = False) -> _Both:
    """The scoped plan and the whole-directory plan of the changes since the cursor (``full``: of a
    full read, given as its differences from the mirror), and their guards."""
    state = store.directory_state(D)
    assert state is not None
    full_read: FullRead | None = None
    if full:
        digests = MirrorDigests.load(store, D)
        diff = read_differences(provider, digests, "cursor")
        changes, full_read = diff.changes, FullRead(diff.users_read, SETTINGS.missing_threshold)
    else:
        changes = provider.changes(state.cursor)
    with store.transaction() as conn:
        keep_keys_fresh(conn, D)
    with store.transaction(write=False) as conn:
        scope: Scope | str  # (a refused scope: why)
        try:
            scope = load_scope(conn, state, changes, planning_basis(SETTINGS), full_read)
        except ScopeRefused as refused:
            scope = refused.reason
        scoped = guard = None
        if isinstance(scope, Scope):  # the guard asks the store for group sizes: inside the transaction
            scoped = make_plan(scope.view, scope.snapshot, SETTINGS, new_id=_counter())
            scoped = dataclasses.replace(scoped, users_read=scope.facts.users_read)
            guard = judge(scoped, scope.facts, SETTINGS.guard)
        whole_view = read_directory(provider, D) if full else overlay(load_mirror(conn, D), changes)
    snapshot = store.snapshot(D)
    whole = make_plan(whole_view, snapshot, SETTINGS, new_id=_counter())
    whole_guard = check_guard(whole, snapshot, whole_view, SETTINGS.guard)
    return _Both(scope, scoped, guard, whole, whole_guard, whole_view)


# ---------------------------------------------------------------------- examples


def _directory(users: int, member_diffs: bool = True) -> FakeProvider:
    """``users`` users spread over three groups, g0 nesting g1."""
    provider = FakeProvider(member_diffs=member_diffs)
    for n in range(users):
        provider.put_user(user(n))
    for g in range(3):
        provider.put_group(f"g{g}", f"Group {g}")
    for n in range(users):
        provider.add_member(f"g{n % 3}", f"u{n}")
    provider.add_member("g0", "g1", MemberKind.GROUP)
    return provider


def _synced(member_diffs: bool = True) -> tuple[Store, FakeProvider]:
    provider = _directory(6, member_diffs)
    store = Store.open("sqlite://")
    store.set_verified_domains(DOMAINS)
    store.set_product_grants(SETTINGS.product_grants)
    report = sync_directory(provider, store, SETTINGS)
    assert report.failed == [] and report.full_read
    return store, provider


def test_a_delta_plans_only_the_identities_it_touches() -> None:
    store, provider = _synced()
    with store:
        store.set_verified_domains(DOMAINS)  # as every CLI run does: the same values write nothing
        store.set_product_grants(SETTINGS.product_grants)
        provider.update_user("u1", display_name="Renamed")
        provider.remove_member("g2", "u2")
        report = sync_directory(provider, store, SETTINGS)
        assert "planned only the 2 identities they touch" in report.read_reason
        assert report.counts["update_account"] == 1 and report.counts["remove_membership"] == 1
        assert report.users_read == 6
        with store.transaction(write=False) as conn:
            mirror = load_mirror(conn, D)
        assert mirror.users["u1"].display_name == "Renamed"
        assert ("u2", "user") not in _members(mirror).get("g2", set())
        # nothing else to do: a whole plan now agrees
        again = sync_directory(provider, store, SETTINGS, full=True, whole=True)
        assert not [a for a, n in again.counts.items() if n], again.counts


def test_nesting_a_group_reaches_everyone_under_it() -> None:
    store, provider = _synced()
    with store:
        provider.add_member("g2", "g0", MemberKind.GROUP)  # g0 holds g1: all of them join g2
        both = _both(store, provider)
        assert isinstance(both.scope, Scope) and both.scoped is not None
        assert _product(both.scoped) == _product(both.whole)
        assert sum(1 for c in both.scoped.changes if c.action.value == "add_membership") == 4
        report = sync_directory(provider, store, SETTINGS)
        assert "planned only" in report.read_reason and report.counts["add_membership"] == 4


@pytest.mark.parametrize("gone", ["u0", "g1"])
def test_a_deletion_reported_alone_leaves_every_list(gone: str) -> None:
    store, provider = _synced()
    with store:
        vanish(provider, gone, MemberKind.USER if gone.startswith("u") else MemberKind.GROUP)
        both = _both(store, provider)
        assert both.scoped is not None and _product(both.scoped) == _product(both.whole)
        report = sync_directory(provider, store, SETTINGS, force=True)  # one of six gone: the read shrank
        assert "planned only" in report.read_reason and report.outcome == "applied"
        with store.transaction(write=False) as conn:
            members = _members(load_mirror(conn, D))
        assert members == _members(both.whole_view)
        assert all(gone not in {m for m, _ in listed} for listed in members.values())


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda s: s.add_account("late@example.com"), "something besides this directory's runs wrote"),
        (lambda s: s.set_verified_domains(["example.com", "example.org"]), "something besides"),
    ],
)
def test_a_store_written_by_others_plans_the_whole_directory(change: Callable[..., object], why: str) -> None:
    store, provider = _synced()
    with store:
        change(store)
        provider.update_user("u3", display_name="Also renamed")
        report = sync_directory(provider, store, SETTINGS)
        assert report.read_reason.startswith("changes since the stored cursor; planned whole: ")
        assert why in report.read_reason
        assert report.failed == []
        # and the run after it, with nothing else written, is scoped again
        provider.update_user("u4", display_name="Later")
        assert "planned only" in sync_directory(provider, store, SETTINGS).read_reason


@pytest.mark.parametrize(
    "change",
    [
        lambda p: p.put_user(user(9)),  # a new identity: an account is made
        lambda p: p.put_user(user(9, email="user1@example.com")),  # shares u1's address: a conflict
        lambda p: p.update_user("u1", email="other@example.com"),  # the account follows
        lambda p: p.update_user("u1", email="user2@example.com"),  # another account's: it stays
        lambda p: (p.put_user(user(9, active=False)), p.update_user("u9", active=True)),
    ],
)
def test_linking_plans_only_the_addresses_in_play(change: Callable[..., object]) -> None:
    store, provider = _synced()
    with store:
        change(provider)
        both = _both(store, provider)
        assert both.scoped is not None, both.scope
        assert _product(both.scoped) == _product(both.whole)
        report = sync_directory(provider, store, SETTINGS)
        assert "planned only" in report.read_reason and report.failed == []


def test_a_new_identity_links_to_the_account_that_waits_for_it() -> None:
    store, provider = _synced()
    with store:
        invited = store.add_account("late@example.com")
        provider.update_user("u1", display_name="Renamed")
        sync_directory(provider, store, SETTINGS)  # a whole plan: the store was written
        provider.put_user(user(9, email="Late@Example.com"))
        both = _both(store, provider)
        assert both.scoped is not None and _product(both.scoped) == _product(both.whole)
        report = sync_directory(provider, store, SETTINGS)
        assert "planned only" in report.read_reason and report.counts["link"] == 1
        assert {k.idp_user_id: k.account_id for k in store.links(D)}["u9"] == invited.account_id


def test_a_conflict_that_a_departure_ends_is_resolved() -> None:
    store, provider = _synced()
    with store:
        provider.put_user(user(7, email="twin@example.com"))
        provider.put_user(user(8, email="twin@example.com"))
        first = sync_directory(provider, store, SETTINGS)
        assert {c.idp_user_id for c in first.conflicts} == {"u7", "u8"}
        provider.delete_user("u8")
        both = _both(store, provider)
        assert both.scoped is not None and _product(both.scoped) == _product(both.whole)
        report = sync_directory(provider, store, SETTINGS)
        assert "planned only" in report.read_reason
        assert report.counts["create_account"] == 1 and report.conflicts == ()


def test_other_settings_plan_the_whole_directory() -> None:
    store, provider = _synced()
    with store:
        provider.update_user("u3", display_name="Renamed")
        other = dataclasses.replace(SETTINGS, missing_threshold=3)
        report = sync_directory(provider, store, other)
        assert "planned whole: the settings or the connector changed" in report.read_reason


def test_a_failed_change_leaves_the_next_run_whole() -> None:
    store, provider = _synced()
    with store:
        with store.transaction() as conn:
            conn.exec_driver_sql("UPDATE directories SET planned_revision = NULL")
        provider.update_user("u3", display_name="Renamed")
        report = sync_directory(provider, store, SETTINGS)
        assert "the store as the last run left it is not on record" in report.read_reason


def test_whole_member_lists_are_written_as_row_differences() -> None:
    store, provider = _synced(member_diffs=False)
    with store:
        provider.remove_member("g0", "u0")
        provider.add_member("g0", "u1")
        both = _both(store, provider)
        assert both.scoped is not None and _product(both.scoped) == _product(both.whole)
        assert [c.action.value for c in both.scoped if c.action.value != "set_cursor"] == [
            "remove_membership"
        ]
        report = sync_directory(provider, store, SETTINGS)
        assert "planned only" in report.read_reason
        assert report.bookkeeping["mirror_member_rows"] == 1 and report.bookkeeping["mirror_members"] == 0
        with store.transaction(write=False) as conn:
            assert _members(load_mirror(conn, D))["g0"] == {("u1", "user"), ("u3", "user"), ("g1", "group")}


# ---------------------------------------------------------------------- the property

EMAIL_DOMAINS = HIRING_DOMAINS  # hires are at these too
people = st.lists(
    st.tuples(st.integers(0, 9), st.sampled_from(EMAIL_DOMAINS), st.booleans()),
    min_size=1,
    max_size=10,
    unique_by=lambda p: p[0],
)
invited = st.lists(st.tuples(st.integers(0, 12), st.sampled_from(EMAIL_DOMAINS)), max_size=5)
direct = st.lists(st.tuples(st.integers(0, 4), st.integers(0, 9)), max_size=25)
nested = st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), max_size=4)
step = st.one_of(
    st.tuples(
        st.sampled_from(
            [
                "suspend",
                "resume",
                "rename",
                "delete",
                "vanish",
                "unlist",
                "email",
                "take",
                "same_email",
                "hire",
            ]
        ),
        st.integers(0, 12),
        st.integers(0, 4),
    ),
    st.tuples(
        st.sampled_from(
            ["join", "leave", "nest", "unnest", "drop_group", "vanish_group", "rename_group", "new_group"]
        ),
        st.integers(0, 12),
        st.integers(0, 5),
    ),
)


def test_billing_after_a_scoped_run_is_the_whole_count() -> None:
    store, provider = _synced()
    with store:
        assert store.billing().per_product == {"jira-software": 4}  # u0, u3 and, through g1, u1, u4
        provider.update_user("u0", active=False, raw_status="SUSPENDED")
        provider.add_member("g0", "u2")
        report = sync_directory(provider, store, SETTINGS)
        assert "planned only" in report.read_reason
        assert report.billing_before.per_product == {"jira-software": 4}
        assert report.billing_after.per_product == {"jira-software": 4}  # u0 out, u2 in
        assert report.billing_after == store.billing()
        assert report.billing_after.active_accounts == 5


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    who=people,
    hand=invited,
    members=direct,
    edges=nested,
    days=st.lists(st.tuples(st.lists(step, max_size=6), st.booleans()), min_size=1, max_size=4),
    member_diffs=st.booleans(),
)
@example(  # a rename onto a taken address, refused; then another change to that identity
    who=[(1, "example.com", True)],
    hand=[(0, "example.com")],
    members=[],
    edges=[],
    days=[([("take", 1, 0)], False), ([("rename", 1, 0)], False)],
    member_diffs=True,
)
@example(  # the same onto a look-alike of the address (taken_address(2) has a Cyrillic "е")
    who=[(1, "example.com", True)],
    hand=[(2, "example.com")],
    members=[],
    edges=[],
    days=[([("take", 1, 2)], True), ([("rename", 1, 2)], False)],
    member_diffs=False,
)
def test_a_scoped_plan_is_the_whole_plan(
    who: list, hand: list, members: list, edges: list, days: list, member_diffs: bool
) -> None:
    """Each day's changes are read as a delta, or (the day's flag) by a full read compared with the
    mirror; either way the scoped plan is the whole plan."""
    provider = FakeProvider(member_diffs=member_diffs)
    build(provider, who, members, edges, groups=5, crowded=True)
    with Store.open("sqlite://") as store:
        store.set_verified_domains(DOMAINS)
        store.set_product_grants(SETTINGS.product_grants)
        for n, domain in hand:
            try:
                store.add_account(f"user{n}@{domain}")
            except Exception:  # the same address twice: one account is enough here
                pass
        first = sync_directory(provider, store, SETTINGS, force=True)
        assert first.failed == []
        for steps, full in days:
            live(provider, steps)
            both = _both(store, provider, full=full)
            whole_view = both.whole_view
            kind = "full read" if full else "delta"
            event(
                f"{kind} scoped" if both.scoped is not None else f"{kind} whole: {str(both.scope).split()[0]}"
            )
            if both.scoped is not None:
                assert both.scoped_guard is not None
                assert _product(both.scoped) == _product(both.whole)
                got, want = both.scoped_guard, both.whole_guard
                assert (got.tripped, got.rule, dict(got.numbers)) == (
                    want.tripped,
                    want.rule,
                    dict(want.numbers),
                )
            reported = len(provider.problems)
            try:
                report = sync_directory(provider, store, SETTINGS, force=True, full=full or None)
            except IncompleteReadError:  # a malformed user in so small a read: over 1%, a fault
                assert len(provider.problems) > reported
                continue
            assert report.failed == []
            assert ("planned only" in report.read_reason) == (both.scoped is not None), report.read_reason
            assert report.billing_after == store.billing()  # brought up to date from the scope's accounts
            with store.transaction(write=False) as conn:
                mirror = load_mirror(conn, D)
            assert mirror.users == whole_view.users
            # the mirror holds the directory as read, and the groups the missing rule keeps: managed
            # groups one full read has missed, and no more than that (their member lists as before)
            kept = {
                g.idp_group_id
                for g in store.groups()
                if g.directory_id == D and 0 < g.missing_count < SETTINGS.missing_threshold
            }
            assert set(mirror.groups) - set(whole_view.groups) <= kept
            assert {
                gid: g for gid, g in mirror.groups.items() if gid in whole_view.groups
            } == whole_view.groups
            assert {g: m for g, m in _members(mirror).items() if g not in kept} == {
                g: m for g, m in _members(whole_view).items() if g not in kept
            }
        # level-based all along: a whole plan of the directory now plans nothing
        provider.malformed.clear()
        final = sync_directory(provider, store, SETTINGS, force=True, full=True, whole=True)
        assert not {a for a, n in final.counts.items() if n} - {"deactivate", "remove_membership"}


def test_a_scoped_run_starts_from_the_billing_figures_the_last_run_kept() -> None:
    store, provider = _synced()
    with store:
        state = store.directory_state(D)
        assert state is not None and state.planned_billing == store.billing().to_dict()
        provider.update_user("u1", display_name="Renamed")
        report = sync_directory(provider, store, SETTINGS)
        assert "planned only" in report.read_reason
        assert report.billing_before == report.billing_after == store.billing()
        # a write by the product: the figures kept no longer hold, and nobody keeps new ones
        store.add_account("late@example.com", groups=["Group 0"])
        assert not store.keep_billing(D, store.billing())
        provider.update_user("u2", display_name="Renamed")
        report = sync_directory(provider, store, SETTINGS)
        assert "planned whole" in report.read_reason
        assert report.billing_before == report.billing_after == store.billing()
        assert report.billing_after.active_accounts == 7


def test_scoped_runs_on_each_backend(store: Store) -> None:
    """The scoped path's reads (array parameters on PostgreSQL, IN lists on SQLite) and its
    kept billing figures, on a file store and on the real PostgreSQL server."""
    provider = _directory(8)
    store.set_verified_domains(DOMAINS)
    store.set_product_grants(SETTINGS.product_grants)
    sync_directory(provider, store, SETTINGS)
    provider.update_user("u1", active=False, raw_status="SUSPENDED")
    provider.put_user(user(9, email="user2@example.com"))  # u2's address: a conflict
    provider.add_member("g2", "g0", MemberKind.GROUP)
    both = _both(store, provider)
    assert both.scoped is not None and _product(both.scoped) == _product(both.whole)
    report = sync_directory(provider, store, SETTINGS, force=True)
    assert "planned only" in report.read_reason and report.failed == []
    assert [c.idp_user_id for c in report.conflicts] == ["u9"]
    assert report.billing_after == store.billing()
    again = sync_directory(provider, store, SETTINGS, full=True, whole=True)
    assert not [a for a, n in again.counts.items() if n], again.counts


@pytest.mark.parametrize(
    "taken",
    [
        "boss@example.com",  # exactly
        "BOSS@Example.com",  # the same address, as matching compares it
        "bоss@example.com",  # a look-alike: Cyrillic "о"
    ],
)
def test_an_email_update_refused_once_stays_refused_on_any_later_change(taken: str) -> None:
    """Found by a hostile test: a linked identity renamed onto an account's address is refused;
    a later change to it (a given name) made the scoped plan set the address anyway, two
    accounts with one email.  The update is decided against the whole store every time."""
    store, provider = _synced()
    with store:
        boss = store.add_account("boss@example.com")  # invited by hand, linked to nobody
        provider.update_user("u1", email=taken)
        first = sync_directory(provider, store, SETTINGS)
        assert [c.idp_user_id for c in first.conflicts] == ["u1"]
        assert boss.account_id in first.conflicts[0].account_ids
        provider.update_user("u1", given_name="Changed")
        second = sync_directory(provider, store, SETTINGS)
        assert "planned only" in second.read_reason
        assert [c.idp_user_id for c in second.conflicts] == ["u1"]
        emails = [a.email for a in store.accounts()]
        assert len(emails) == len(set(emails)) and "user1@example.com" in emails
        whole = sync_directory(provider, store, SETTINGS, whole=True)
        assert not whole.counts["update_account"] and [c.idp_user_id for c in whole.conflicts] == ["u1"]
