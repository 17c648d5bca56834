"""Property tests: random directories against random stores.

* plan, apply in memory, plan again from the same read: nothing left to do;
* repeated full reads converge (absence is counted to the threshold, then stops);
* applying never breaks a store constraint (``memory_apply.check_invariants``);
* billing never counts an external account, nor one account twice;
* every plan survives its JSON round trip.
"""

from __future__ import annotations

import dataclasses

from builders import DIR
from builders import sequential_ids
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis_profiles import examples
from memory_apply import apply_in_memory
from memory_apply import check_invariants

from connector.model import LOCAL_SOURCE
from connector.model import Account
from connector.model import AccountOrigin
from connector.model import AccountStatus
from connector.model import DirectoryState
from connector.model import DirectoryView
from connector.model import Group
from connector.model import GroupMembership
from connector.model import IdpGroup
from connector.model import IdpMember
from connector.model import IdpUser
from connector.model import Link
from connector.model import MemberKind
from connector.model import StoreSnapshot
from connector.rules.billing import billing
from connector.rules.mapping import account_is_internal
from connector.rules.plan import Plan
from connector.rules.planner import make_plan
from connector.rules.settings import SyncSettings

OTHER = "azure-eu"
RULES = SyncSettings(
    verified_domains=("example.com",), product_grants={"jira": ("eng", "g1"), "wiki": ("all",)}
)
LOCALS = ("kate", "Kate", "KATE", "pat", "fıle", "file", "bob", "\u00e9lodie", "\u00c9LODIE", "x")
EMAILS = st.one_of(
    st.builds(
        lambda local, domain: f"{local}@{domain}",
        st.sampled_from(LOCALS),
        st.sampled_from(("example.com", "partner.io")),
    ),
    st.sampled_from((None, "not-an-email")),
)
USER_IDS = [f"u{i}" for i in range(8)]
GROUP_IDS = [f"g{i}" for i in range(4)]
NAMES = st.sampled_from(("eng", "all", "g1", "ops", "sales"))
quick = settings(max_examples=examples(100), deadline=None, database=None)


@st.composite
def worlds(draw) -> tuple[DirectoryView, StoreSnapshot]:
    users = {}
    for idp_user_id in draw(st.lists(st.sampled_from(USER_IDS), unique=True, max_size=8)):
        email = draw(EMAILS)
        users[idp_user_id] = IdpUser(
            idp_user_id,
            email or idp_user_id,
            email,
            draw(st.booleans()),
            "status",
            display_name=draw(st.sampled_from((None, "Kate", "Pat"))),
            given_name=draw(st.sampled_from((None, "K"))),
        )
    group_ids = draw(st.lists(st.sampled_from(GROUP_IDS), unique=True, max_size=4))
    groups = {gid: IdpGroup(gid, draw(NAMES)) for gid in group_ids}
    members = {}
    for gid in group_ids:
        picks = draw(st.lists(st.sampled_from(USER_IDS + GROUP_IDS), unique=True, max_size=6))
        members[gid] = tuple(
            IdpMember(gid, m, MemberKind.GROUP if m.startswith("g") else MemberKind.USER) for m in picks
        )
    full_read = draw(st.booleans())

    accounts = {}
    for i in range(draw(st.integers(0, 6))):
        email = draw(EMAILS) or f"acc{i}@example.com"
        status = draw(st.sampled_from(AccountStatus))
        accounts[f"a{i}"] = Account(
            f"a{i}", email, draw(st.sampled_from((None, "Kate"))), status, AccountOrigin.INVITED
        )
    links = {}
    account_ids = sorted(accounts)
    for directory_id in (DIR, OTHER):
        linked = draw(st.lists(st.sampled_from(account_ids), unique=True)) if account_ids else []
        idp_ids = draw(
            st.lists(st.sampled_from(USER_IDS), unique=True, min_size=len(linked), max_size=len(linked))
        )
        for account_id, idp_user_id in zip(linked, idp_ids, strict=True):
            links[(directory_id, idp_user_id)] = Link(
                directory_id, idp_user_id, account_id, draw(st.integers(0, 2)), draw(st.booleans())
            )
    store_groups = {}
    for i, name in enumerate(draw(st.lists(NAMES, max_size=3))):
        store_groups[f"local{i}"] = Group(f"local{i}", name)
    for gid in draw(st.lists(st.sampled_from(GROUP_IDS), unique=True, max_size=3)):
        store_groups[f"m-{gid}"] = Group(f"m-{gid}", draw(NAMES), DIR, gid)
    store_groups["o1"] = Group("o1", "eng", OTHER, "og1")
    memberships = set()
    if account_ids:
        for _ in range(draw(st.integers(0, 10))):
            memberships.add(
                GroupMembership(
                    draw(st.sampled_from(sorted(store_groups))),
                    draw(st.sampled_from(account_ids)),
                    draw(st.sampled_from((LOCAL_SOURCE, DIR, OTHER))),
                )
            )
    linked_here = [i for (d, i) in links if d == DIR and i not in users]
    removed = (
        frozenset(draw(st.lists(st.sampled_from(linked_here), unique=True)))
        if linked_here and not full_read
        else frozenset()
    )
    view = DirectoryView(DIR, users, groups, members, full_read=full_read, removed_user_ids=removed)
    directory = DirectoryState(
        DIR, last_good_user_count=draw(st.sampled_from((None, 0, 3, 8))), synced_before=True
    )
    snapshot = StoreSnapshot(accounts, links, store_groups, frozenset(memberships), directory)
    check_invariants(snapshot)
    return view, snapshot


def _plan(view: DirectoryView, snapshot: StoreSnapshot) -> Plan:
    return make_plan(view, snapshot, RULES, new_id=sequential_ids("n"))


def _incremental(view: DirectoryView) -> DirectoryView:
    return dataclasses.replace(view, full_read=False, removed_user_ids=frozenset())


@quick
@given(worlds())
def test_sync_then_plan_again_is_empty(world) -> None:
    view, snapshot = world
    first = _plan(view, snapshot)
    after = apply_in_memory(snapshot, first)  # checks the invariants
    again = make_plan(_incremental(view), after, RULES, new_id=sequential_ids("m"))
    if any("email" in getattr(c, "fields", {}) for c in first.changes):
        # An account's address changed, which can free an email that two
        # accounts shared: the conflict it caused resolves on the next run.
        after = apply_in_memory(after, again)
        again = make_plan(_incremental(view), after, RULES, new_id=sequential_ids("k"))
    assert again.changes == ()


@quick
@given(worlds())
def test_repeated_full_reads_converge(world) -> None:
    view, snapshot = world
    view = dataclasses.replace(view, full_read=True, removed_user_ids=frozenset())
    for _ in range(RULES.missing_threshold + 2):
        plan = _plan(view, snapshot)
        if not plan.changes:
            break
        snapshot = apply_in_memory(snapshot, plan)
    else:
        raise AssertionError(f"no fixpoint: {plan.changes}")
    for (directory_id, idp_user_id), link in snapshot.links.items():
        if directory_id == DIR and idp_user_id not in view.users:
            assert link.missing_count == RULES.missing_threshold


@quick
@given(worlds())
def test_billing_never_counts_an_external_or_a_duplicate(world) -> None:
    view, snapshot = world
    after = apply_in_memory(snapshot, _plan(view, snapshot))
    report = billing(
        after.accounts, after.groups, after.memberships, RULES.product_grants, RULES.verified_domains
    )
    domains = frozenset(RULES.verified_domains)
    granted = {g.group_id for g in after.groups.values() if g.name in ("eng", "g1", "all")}
    expected = {
        m.account_id
        for m in after.memberships
        if m.group_id in granted
        and after.accounts[m.account_id].status is AccountStatus.ACTIVE
        and account_is_internal(after.accounts[m.account_id], domains)
    }
    assert report.billable == len(expected)
    assert all(count <= report.billable for count in report.per_product.values())
    assert report.billable + report.external_with_access <= report.active_accounts


@quick
@given(worlds())
def test_every_plan_survives_json(world) -> None:
    view, snapshot = world
    plan = _plan(view, snapshot)
    assert Plan.from_json(plan.to_json()) == plan
