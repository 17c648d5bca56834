"""Organizations in one store never see each other: two random histories, interleaved.

Two organizations share one store (one engine: ``Store.for_org``) and collide on purpose: the
same directory id, the same IdP ids and addresses, the same group names (local and managed),
accounts imported with the same account ids, links made and unmade by hand on both sides, and the
conflicts all that gives.  Each organization's history is played at the same time on a store of
its own (in-memory SQLite, holding only that organization).  Every step must answer the same on
both, and everything the shared store holds for an organization must be what its own store holds:
a query that forgot the organization links, counts, bills or reports across organizations, and
shows here.

The shared store is the ``store`` fixture, on each backend, kept across examples: each example
works for two fresh organizations, beside those the examples before it left.

Ids the store makes (uuid accounts and groups) differ between two stores: the dump names an
account by its imported id or its address, a group by its name, directory and IdP group.  Store
revisions and the figures kept with them (planned revision, planned billing) are not compared: a
store holding nothing else counts differently, and what matters is what the runs leave behind.
Besides what the store's readers answer, the dump asks the reads by key and by id of a run that
plans only what changed about every address and account id either organization may hold.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fakes import FakeProvider
from fakes import FullReadOnlyProvider
from fakes import as_sets
from hypothesis import HealthCheck
from hypothesis import event
from hypothesis import example
from hypothesis import given
from hypothesis import note
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context
from hypothesis_profiles import examples
from simulated_days import HIRING_DOMAINS
from simulated_days import build
from simulated_days import crowded_address
from simulated_days import play
from simulated_days import taken_address
from sqlalchemy import select

from connector.emails import address_keys
from connector.errors import ConnectorError
from connector.model import Account
from connector.rules.settings import SyncSettings
from connector.run.sync import sync_directory
from connector.store import Store
from connector.store import tables as t
from connector.store.address_keys import accounts_with_keys
from connector.store.address_keys import identities_with_keys
from connector.store.scoped_reads import accounts_by_id
from connector.store.scoped_reads import links_of_accounts
from connector.store.scoped_reads import memberships_of

D = "fake-dir"  # both organizations' directory
DOMAINS = ("example.com", "partner.org")
GROUP_NAMES = ("Group 0", "Group 1", "Group 2", "Local")  # the IdP's names, and one only the product has
IMPORTED = tuple(f"imp-{n}" for n in range(8))  # account ids both organizations import
_ORGS = itertools.count()
ADDRESSES = tuple(
    address
    for n in range(8)
    for address in (
        f"user{n}@example.com",
        taken_address(n),
        f"user{n}@partner.org",
        f"moved{n}@example.com",
        *(crowded_address(n, domain, variant) for domain in HIRING_DOMAINS for variant in range(3)),
    )
)
"""Every address the histories give an identity or an account (simulated_days), in any spelling."""
KEYS = sorted({key for address in ADDRESSES for key in address_keys(address)})
_UUID = re.compile(r"\b[0-9a-f]{32}\b")

Op = tuple[Any, ...]

# ---------------------------------------------------------------------- the histories

people = st.lists(
    st.tuples(
        st.integers(0, 7), st.sampled_from(["example.com", "EXAMPLE.com", "partner.org"]), st.booleans()
    ),
    max_size=8,
    unique_by=lambda p: p[0],
)
memberships = st.lists(st.tuples(st.integers(0, 2), st.integers(0, 7)), max_size=12)
idp_step = st.tuples(
    st.sampled_from(
        [
            "suspend", "resume", "rename", "email", "take", "same_email", "delete", "vanish", "unlist",
            "join", "leave", "hire", "new_group", "nest", "unnest", "drop_group", "rename_group",
        ]
    ),
    st.integers(0, 7),
    st.integers(0, 3),
)  # fmt: skip
grants = st.lists(st.sampled_from(GROUP_NAMES), max_size=3, unique=True).map(tuple)
# account n, its address (see _imported_address), the group it joins by name (or none)
imported = st.tuples(st.integers(0, 7), st.integers(0, 3), st.sampled_from([None, *GROUP_NAMES]))
# a full read, or what changed (more often: only that plans only what changed); whole, or not
sync = st.tuples(
    st.just("sync"), st.sampled_from([None, None, None, True]), st.sampled_from([False, False, True])
)
op = st.one_of(
    sync,
    sync,  # (as likely as all the others together)
    st.tuples(st.just("day"), st.lists(idp_step, min_size=1, max_size=4).map(tuple)),
    imported.map(lambda i: ("import", *i)),
    st.tuples(st.just("link"), st.integers(0, 7), st.integers(0, 7)),  # identity u<n>, the account picked
    st.tuples(st.just("unlink"), st.integers(0, 7)),
    st.tuples(st.just("grants"), grants),
)
directory = st.fixed_dictionaries(
    {
        "people": people,
        "memberships": memberships,
        "crowded": st.booleans(),
        "incremental": st.sampled_from([True, True, False]),
        "member_diffs": st.booleans(),
        "grants": grants,
        # accounts imported before the first sync: with both organizations' ids in 0-7, most
        # examples give both an account of the same id, each with its own address and groups
        "imported": st.lists(imported, max_size=4, unique_by=lambda i: i[0]),
        # synced once before the history (or not): later syncs then mostly plan only what changed
        "synced": st.sampled_from([True, True, False]),
    }
)
# who verifies each of DOMAINS: organization 0, 1, or neither (a domain is verified by one)
owners = st.tuples(st.integers(0, 2), st.integers(0, 2))
history = st.lists(st.tuples(st.integers(0, 1), op), min_size=1, max_size=16)


def _imported_address(n: int, variant: int) -> str:
    """An address for the imported account n: an IdP user's, another spelling of one, or a partner's."""
    if variant == 3:
        return f"user{n}@partner.org"
    return f"user{n}@example.com" if variant == 0 else taken_address(n if variant == 1 else n + 1)


@dataclasses.dataclass
class Tenant:
    """One organization's side: its part of the shared store, its own store, a directory for each."""

    org: str
    shared: Store
    alone: Store
    idps: tuple[FakeProvider, FakeProvider]  # the same directory twice: for shared, for alone
    settings: SyncSettings

    def sides(self) -> Iterator[tuple[Store, FakeProvider]]:
        yield self.shared, self.idps[0]
        yield self.alone, self.idps[1]


def _tenant(shared: Store, org: str, setup: dict[str, Any], domains: tuple[str, ...]) -> Tenant:
    idps = []
    for _ in range(2):
        kind = FakeProvider if setup["incremental"] else FullReadOnlyProvider
        idp = kind(D, member_diffs=setup["member_diffs"])
        build(idp, setup["people"], setup["memberships"], [(0, 1)], groups=3, crowded=setup["crowded"])
        idps.append(idp)
    mine = shared.for_org(org)
    tenant = Tenant(
        org,
        mine,
        Store.open("sqlite://", org=org),
        (idps[0], idps[1]),
        SyncSettings(verified_domains=domains, product_grants={"jira-software": setup["grants"]}),
    )
    mine.ensure_organization(org)
    for store, idp in tenant.sides():
        store.set_verified_domains(domains)
        store.set_product_grants(tenant.settings.product_grants)
        for i in setup["imported"]:
            assert _step(tenant, store, idp, ("import", *i)) == "ok"
        if setup["synced"]:
            _step(tenant, store, idp, ("sync", None, False))
    return tenant


def _step(tenant: Tenant, store: Store, idp: FakeProvider, step: Op) -> object:
    """Play one step of the organization's history on one of its sides; what it answered."""
    kind = step[0]
    try:
        if kind == "sync":
            report = sync_directory(idp, store, tenant.settings, force=True, full=step[1], whole=step[2])
            conflicts = sorted((c.idp_user_id, c.kind) for c in report.conflicts)
            planned = {action: n for action, n in report.counts.items() if n}
            if store is tenant.shared and currently_in_test_context():
                event(re.sub(r"\d+", "N", report.read_reason))
            return report.outcome, len(report.failed), conflicts, planned
        if kind == "day":
            for s in step[1]:
                play(idp, *s)
        elif kind == "import":
            _, n, variant, group = step
            store.add_account(
                _imported_address(n, variant),
                f"Imported {n}",
                account_id=IMPORTED[n],
                groups=[group] if group else [],
            )
        elif kind == "link":
            _, n, pick = step
            store.link_by_hand(D, f"u{n}", _pick(store.accounts(), pick))
        elif kind == "unlink":
            store.unlink_by_hand(D, f"u{step[1]}")
        elif kind == "grants":
            store.set_product_grants({"jira-software": step[1]})
        else:
            raise AssertionError(f"no such step: {kind!r}")
    except ConnectorError as refused:
        return type(refused).__name__
    return "ok"


def _pick(accounts: list[Account], pick: int) -> str:
    """An account chosen by its place among those whose address no other account has (by address)."""
    by_email: dict[str, list[str]] = {}
    for account in accounts:
        by_email.setdefault(account.email, []).append(account.account_id)
    unique = sorted((email, ids[0]) for email, ids in by_email.items() if len(ids) == 1)
    return unique[pick % len(unique)][1] if unique else "no-such-account"


# ---------------------------------------------------------------------- what a store holds for one


def _labels(accounts: list[Account]) -> dict[str, str]:
    """Each account's name across stores: its imported id, or ``new:<address>``."""
    return {a.account_id: a.account_id if a.account_id in IMPORTED else f"new:{a.email}" for a in accounts}


def dump(store: Store) -> dict[str, object]:
    """Everything ``store`` holds for its organization, with the ids it made replaced by names."""
    accounts = store.accounts()
    label = _labels(accounts)

    groups = store.groups()
    key = {g.group_id: (g.name, g.directory_id or "", g.idp_group_id or "") for g in groups}

    def name(account_id: str) -> str:
        return label.get(account_id, f"?{account_id}")  # an account the organization does not have

    def relabel(text: str | None) -> str | None:
        """``text`` with the account and group ids in it named."""
        return _UUID.sub(
            lambda m: name(m.group()) if m.group() in label else str(key.get(m.group(), "?")), text or ""
        )

    mine = store.org
    with store.transaction(write=False) as conn:
        k, h, u = t.account_keys.c, t.hand_unlinks.c, t.idp_users.c
        account_keys = sorted(
            (name(r.account_id), r.email, r.match_key, r.loose_key or "")
            for r in conn.execute(select(t.account_keys).where(k.org_id == mine))
        )
        hand_unlinks = sorted(
            (r.directory_id, r.idp_user_id, name(r.account_id))
            for r in conn.execute(select(t.hand_unlinks).where(h.org_id == mine))
        )
        mirror_keys = sorted(
            (r.directory_id, r.idp_user_id, r.match_key or "", r.loose_key or "")
            for r in conn.execute(select(t.idp_users).where(u.org_id == mine))
        )
        # the reads by key and by id of a run that plans only what changed, asked about every
        # address and account id either organization may have
        ids = [*label, *IMPORTED]
        lookups = {
            "accounts_with_keys": sorted(
                (name(i), *keys) for i, keys in accounts_with_keys(conn, KEYS).items()
            ),
            "identities_with_keys": sorted(identities_with_keys(conn, D, KEYS).items()),
            "accounts_by_id": sorted(map(name, accounts_by_id(conn, ids))),
            "links_of_accounts": sorted(
                (d, i, name(k.account_id)) for (d, i), k in links_of_accounts(conn, ids).items()
            ),
            "memberships_of": sorted(
                (key.get(m.group_id, ("?", m.group_id, "")), name(m.account_id), m.source)
                for m in memberships_of(conn, ids)
            ),
        }
    state = store.directory_state(D)
    return {
        "accounts": sorted(
            (
                name(a.account_id),
                a.email,
                a.display_name,
                a.given_name,
                a.family_name,
                a.status.value,
                a.origin.value,
            )
            for a in accounts
        ),
        "imported": {i: (a.email, a.status.value) if (a := store.account(i)) else None for i in IMPORTED},
        "account_keys": account_keys,
        "links": sorted(
            (k.directory_id, k.idp_user_id, name(k.account_id), k.missing_count, k.idp_active)
            for k in store.links()
        ),
        "hand_unlinks": hand_unlinks,
        "groups": sorted((key[g.group_id], g.description, g.adopted, g.missing_count) for g in groups),
        "memberships": sorted(
            (key.get(m.group_id, ("?", m.group_id, "")), name(m.account_id), m.source)
            for m in store.memberships()
        ),
        "conflicts": sorted(
            (
                c.directory_id,
                c.idp_user_id,
                c.kind,
                c.email,
                relabel(c.reason),
                sorted(map(name, c.account_ids)),
            )
            for c in store.open_conflicts()
        ),
        "directory": state and (state.cursor, state.synced_before, state.last_good_user_count),
        "mirror": as_sets(store.mirror(D)),
        "mirror_keys": mirror_keys,
        "runs": sorted((r.directory_id, r.kind, r.dry_run, r.outcome) for r in store.runs(limit=1000)),
        "audit": sorted((a.action, a.directory_id, a.outcome, relabel(a.target)) for a in store.audit()),
        "billing": dataclasses.asdict(store.billing()),
        "billing_of_some": dataclasses.asdict(store.billing(ids)),
        "lookups": lookups,
        "domains": store.verified_domains(),
        "grants": store.product_grants(),
        "counts": store.counts(),
    }


# ---------------------------------------------------------------------- the property

_TWINS: dict[str, Any] = {
    "people": [(1, "example.com", True), (2, "example.com", True)],
    "memberships": [(0, 1), (1, 2)],
    "crowded": False,
    "incremental": True,
    "member_diffs": True,
    "grants": ("Group 0",),
    "imported": [(1, 0, None)],
    "synced": True,
}
"""A directory both organizations have, with the same account imported before the first sync."""


@pytest.mark.slow  # about ten seconds a backend locally, a minute or more under the CI profile
@settings(
    max_examples=examples(60),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(setups=st.tuples(directory, directory), verifiers=owners, steps=history)
@example(  # the second unlinks u1 from imp-1 by hand; the first, not synced yet, links them by email
    setups=({**_TWINS, "synced": False}, _TWINS),
    verifiers=(0, 2),
    steps=[(1, ("unlink", 1)), (0, ("sync", None, False))],
)
@example(  # both import imp-1 and link u1 to it; the second suspends u1, the first then plans only u1
    setups=(_TWINS, _TWINS),
    verifiers=(0, 2),
    steps=[
        (1, ("day", (("suspend", 1, 0),))),
        (1, ("sync", None, False)),
        (0, ("sync", None, False)),
        (0, ("day", (("rename", 1, 0),))),
        (0, ("sync", None, False)),
    ],
)
def test_each_organization_holds_what_it_would_hold_alone(
    store: Store,
    setups: tuple[dict[str, Any], dict[str, Any]],
    verifiers: tuple[int, int],
    steps: list[tuple[int, Op]],
) -> None:
    number = next(_ORGS)
    orgs = (f"org-{number}-a", f"org-{number}-b")
    domains = [tuple(d for d, owner in zip(DOMAINS, verifiers, strict=True) if owner == i) for i in (0, 1)]
    tenants = [
        _tenant(store, org, setup, domains[i])
        for i, (org, setup) in enumerate(zip(orgs, setups, strict=True))
    ]
    try:
        for i, step in steps:
            tenant = tenants[i]
            shared, alone = (_step(tenant, side, idp, step) for side, idp in tenant.sides())
            note(f"{tenant.org} {step}: {shared}")
            assert shared == alone, f"{tenant.org} {step}: {shared} in the shared store, {alone} alone"
        for tenant in tenants:
            shared, alone = dump(tenant.shared), dump(tenant.alone)
            for part in alone:
                assert shared[part] == alone[part], f"{tenant.org}: {part} differs from its own store's"
    finally:
        for tenant in tenants:
            tenant.alone.close()
            tenant.shared.set_verified_domains(())  # the next example's organizations verify them


@pytest.mark.parametrize("incremental", [True, False])
def test_the_same_history_in_two_organizations_is_two_organizations(store: Store, incremental: bool) -> None:
    """One example by hand: the same directory, imports and hand links in both, and each sees only its own."""
    setup = {
        "people": [(n, "example.com", True) for n in range(4)],
        "memberships": [(n % 3, n) for n in range(4)],
        "crowded": False,
        "incremental": incremental,
        "member_diffs": True,
        "grants": ("Group 0",),
        "imported": [],
        "synced": False,
    }
    number = next(_ORGS)
    tenants = [
        _tenant(store, f"org-{number}-{side}", setup, domains)
        for side, domains in (("a", DOMAINS[:1]), ("b", ()))
    ]
    try:
        history: list[Op] = [
            ("import", 1, 0, "Group 1"),
            ("sync", None, False),
            ("unlink", 1),
            ("link", 1, 1),
        ]
        for step in history:
            for tenant in tenants:
                for side, idp in tenant.sides():
                    _step(tenant, side, idp, step)
        for tenant in tenants:
            assert dump(tenant.shared) == dump(tenant.alone)
            assert len(tenant.shared.accounts()) == 4
        assert {a.account_id for a in tenants[0].shared.accounts()} & {
            a.account_id for a in tenants[1].shared.accounts()
        } == {"imp-1"}
        billed = [tenant.shared.billing().billable for tenant in tenants]
        # u0, u3 and (through Group 1, nested in Group 0) imp-1, at the domain only the first verifies
        assert billed == [3, 0]
    finally:
        for tenant in tenants:
            tenant.alone.close()
            tenant.shared.set_verified_domains(())
