"""Planning only what changed: a run over a store its last run left as it was.

The changes are the IdP's since the stored cursor, or a full read's differences
from the mirror (:mod:`connector.run.read_differences`, given with :class:`FullRead`:
absence is then counted, not taken as deletion).

An incremental run otherwise lays the IdP's changes over the whole mirror and
plans the whole directory against the whole store (:mod:`connector.run.planning`),
so whatever drifted in the product since is put right.  That costs as much
as a full plan.  When the store is exactly as this directory's last applied
run left it (its revision, :mod:`connector.store.revision`, and the planning
settings match what that run recorded), every identity the changes do not
reach plans nothing, and planning only the reached ones gives the same plan
at a cost proportional to the change (``tests/store/test_scoped.py`` holds the two
plans to each other on random directories and changes).

Reached:

* the users the IdP reports changed or gone, the users whose direct
  membership moved, and every user under a nested group that moved or went;
* for linking, which looks across the organization: when an identity is new,
  changes its email, is not linked and turns active or inactive, or is active,
  not linked and leaves, every identity and account that shares a matching or
  look-alike key with the addresses in play (found by index,
  :mod:`connector.store.address_keys`), to a fixed point;
* every identity of the directory linked to an account in scope.

The view handed to the planner holds those users as the directory has them
now, every group, and every nested-group edge (so flattening is exact for
them); the snapshot holds their links and accounts, every link to those
accounts, every group, and those accounts' memberships.  An identity not
linked that no address in play reaches (a conflict or a skip that stays one)
is left out: it plans nothing.  The mirror's changes are written as rows
(:mod:`connector.rules.scoped_mirror`).  Otherwise :func:`load_scope` raises
:class:`ScopeRefused`, saying why the whole directory must be planned.
"""

from __future__ import annotations

from collections.abc import Collection
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Connection

from connector.emails import address_keys
from connector.model import ChangeSet
from connector.model import DirectoryState
from connector.model import DirectoryView
from connector.model import IdpMember
from connector.model import IdpUser
from connector.model import Link
from connector.model import MemberKind
from connector.model import StoreSnapshot
from connector.rules.guard import GuardFacts
from connector.rules.mirror import MemberKey
from connector.rules.mirror import UserKey
from connector.rules.mirror import groups_after
from connector.rules.mirror import user_of_key
from connector.rules.plan import Change
from connector.rules.scoped_mirror import GROUP
from connector.rules.scoped_mirror import USER
from connector.rules.scoped_mirror import member_changes
from connector.rules.scoped_mirror import nested_under
from connector.rules.scoped_mirror import scoped_mirror_changes
from connector.store import scoped_reads as reads
from connector.store.address_keys import accounts_with_keys
from connector.store.address_keys import fill_mirror_keys
from connector.store.address_keys import identities_with_keys
from connector.store.address_keys import refresh_account_keys
from connector.store.mirror import load_mirror_groups
from connector.store.mirror import load_mirror_users
from connector.store.revision import read_revision
from connector.store.snapshot import load_groups
from connector.store.snapshot import load_held_apart

SETTLED_TOGETHER = 50
"""Groups whose whole lists are compared with their stored lists per read of the store."""

NOT_ON_RECORD = "the store as the last run left it is not on record"
"""Why a run plans the whole directory when its last run recorded no store revision."""


class ScopeRefused(Exception):
    """The store is not as the directory's last run left it, so only a whole plan is right.

    ``reason`` says what moved; the run then plans the whole directory
    (:meth:`connector.run.shape.RunShape.planned_whole`)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Scope:
    """What planning the changed identities needs, read from the store in one transaction."""

    view: DirectoryView
    snapshot: StoreSnapshot
    facts: GuardFacts
    mirror: tuple[Change, ...]
    revision: int
    identities: int  # identities planned (the scope's users, the gone ones included)


def _linking_seeds(
    conn: Connection,
    d: str,
    changed: Mapping[str, IdpUser],
    removed_users: Collection[str],
    old: Mapping[str, UserKey],
    links: Mapping[tuple[str, str], Link],
) -> tuple[set[str], set[str]]:
    """The identities whose link decisions may move, and the address keys in play.

    An identity new to the directory, one with a new email (and its account's
    address, which may follow it), one not linked that became active or
    inactive, and an active one not linked that left: each may link, or free
    or take an address another identity or account shares.  A linked identity
    that changed otherwise while its account still has another address (an
    email update refused before, the address being taken) brings both
    addresses in, so that the update is decided against every account that
    holds or looks like the new one, exactly as a whole plan decides it.
    """
    seeds: set[str] = set()
    addresses: set[str] = set()
    readdressed: set[str] = set()  # accounts whose identity here has a new email
    pending: dict[str, str | None] = {}  # accounts whose identity changed, its email as before
    for uid, user in changed.items():
        before = old.get(uid)
        linked = (d, uid) in links
        if before is not None and user.email == before[1] and (linked or bool(user.active) == before[2]):
            if linked:  # its account may still hold another address (an update refused before)
                pending[links[(d, uid)].account_id] = user.email
            continue
        seeds.add(uid)
        addresses.update(address_keys(user.email))
        if before is not None:
            addresses.update(address_keys(before[1]))
        if linked:
            readdressed.add(links[(d, uid)].account_id)
    for uid in removed_users:
        if uid in old and (d, uid) not in links and old[uid][2]:
            seeds.add(uid)
            addresses.update(address_keys(old[uid][1]))
    for account in reads.accounts_by_id(conn, readdressed | pending.keys()).values():
        if account.account_id in readdressed:
            addresses.update(address_keys(account.email))
        elif address_keys(account.email) != address_keys(pending[account.account_id]):
            # an email update still owed: decided against whoever holds the address now
            addresses.update(address_keys(account.email) + address_keys(pending[account.account_id]))
    return seeds, addresses


def _linking_closure(
    conn: Connection, d: str, seeds: set[str], addresses: set[str], changed: Mapping[str, IdpUser]
) -> tuple[set[str], set[str]]:
    """The identities and accounts that share an address key with the seeds, and with those, until
    no new key comes in: linking decides each of them from exactly these (:mod:`connector.rules.linking`)."""
    identities, accounts = set(seeds), set()
    seen: set[str] = set()
    todo = {key for key in addresses if key}
    while todo:
        seen |= todo
        more: set[str] = set()
        for uid, keys in identities_with_keys(conn, d, todo).items():
            if uid not in identities:
                identities.add(uid)
                more.update(keys)
                if uid in changed:
                    more.update(address_keys(changed[uid].email))
        for account_id, keys in accounts_with_keys(conn, todo).items():
            if account_id not in accounts:
                accounts.add(account_id)
                more.update(keys)
        todo = {key for key in more if key} - seen
    return identities, accounts


def keep_keys_fresh(conn: Connection, directory_id: str, *, accounts: bool = True) -> None:
    """Work out the address keys that :func:`load_scope` looks identities and accounts up by,
    where missing or stale (the connector's own caches: no store revision moves).

    The accounts' keys are one pass over the organization's accounts, so a scoped run skips
    them (``accounts`` False): it runs only when nothing wrote to the store since the
    directory's last run, every run's writes keep the keys of the accounts they write, and every
    whole run and saved-plan apply refreshes them all first, so they are fresh then already."""
    if accounts:
        refresh_account_keys(conn)
    fill_mirror_keys(conn, directory_id)


@dataclass(frozen=True)
class FullRead:
    """A full read given as its differences from the mirror (:mod:`connector.run.read_differences`).

    Its change set names every user, group and member list that differs; a
    user or group it lacks is absent from the read, not deleted: a linked
    identity's absence is counted (``missing_threshold`` in a row deactivates),
    and a member list holds exactly what the read listed.
    """

    users_read: int
    missing_threshold: int


def why_whole(conn: Connection, state: DirectoryState, basis: str) -> str | None:
    """Why this run must plan the whole directory, or None when the store is as its last run left it."""
    if state.planned_revision is None:
        return NOT_ON_RECORD
    if state.planned_settings != basis:
        return "the settings or the connector changed since the last run"
    if read_revision(conn) != state.planned_revision:
        return "something besides this directory's runs wrote to the store since its last run"
    return None


def load_scope(
    conn: Connection, state: DirectoryState, changes: ChangeSet, basis: str, full_read: FullRead | None = None
) -> Scope:
    """What planning only the changed identities needs.

    ``changes`` are the IdP's changes since the cursor, or with ``full_read`` a
    full read's differences from the mirror; ``basis`` is the planning basis the
    run was decided with (:func:`connector.run.shape.planning_basis`).  The address
    keys must be fresh (:func:`keep_keys_fresh`, in an earlier transaction).
    Raises :class:`ScopeRefused` when the store is not as the last run left it:
    the whole directory must be planned.
    """
    d = state.directory_id
    refused = why_whole(conn, state, basis)
    if refused is not None:
        raise ScopeRefused(refused)
    revision = state.planned_revision  # (why_whole found the store's to be this)
    assert revision is not None
    product_groups = load_groups(conn)
    if full_read is not None and changes.removed_group_ids:
        gone = set(changes.removed_group_ids)
        counted = [g for g in product_groups.values() if g.directory_id == d and g.idp_group_id in gone]
        if any(g.missing_count + 1 < full_read.missing_threshold for g in counted):
            # the missing rule keeps such a group and its memberships, counted by a whole plan
            raise ScopeRefused("a managed group is absent from the full read")

    changed = {u.idp_user_id: u for u in changes.users}
    removed_users = set(changes.removed_user_ids) - changed.keys()
    old: dict[str, UserKey] = load_mirror_users(conn, d, changed.keys() | removed_users)
    links = reads.links_of_identities(conn, d, changed.keys() | removed_users)
    seeds, addresses = _linking_seeds(conn, d, changed, removed_users, old, links)
    new_users = changed.keys() - old.keys()

    old_groups = load_mirror_groups(conn, d)
    groups, removed_groups = groups_after(old_groups, changes)
    members = member_changes(changes, removed_users, removed_groups, lists_complete=full_read is not None)

    # a list read whole becomes its differences from the stored one, a few groups at a time: the
    # stored lists of every group at once would be the largest thing the run holds
    whole = sorted(members.whole)
    for start in range(0, len(whole), SETTLED_TOGETHER):
        part = whole[start : start + SETTLED_TOGETHER]
        stored: dict[str, set[MemberKey]] = {g: set() for g in part}
        for group_id, member_id, kind in reads.mirror_members_of_groups(conn, d, part):
            stored[group_id].add((member_id, kind))
        for group_id in part:
            members.settle(group_id, stored.pop(group_id))
    children_before: dict[str, set[str]] = {}
    for parent, child in reads.mirror_group_edges(conn, d):
        children_before.setdefault(parent, set()).add(child)
    parents = children_before.keys() | members.added.keys() | members.dropped.keys()
    children: dict[str, set[str]] = {}
    for parent in parents:
        before = [(c, GROUP) for c in children_before.get(parent, ())]
        after = {mid for mid, kind in members.after(parent, before) if kind == GROUP}
        if after:
            children[parent] = after

    # the users in scope: changed or gone, moved in a list, or under a group that moved or went
    scope = set(changed) | removed_users
    for group_id in members.added.keys() | members.dropped.keys():
        keys = members.added.get(group_id, set()) | members.dropped.get(group_id, set())
        scope |= {mid for mid, kind in keys if kind == USER}
    moved = set(removed_groups)
    for parent in parents:
        moved |= children_before.get(parent, set()) ^ children.get(parent, set())
    if moved:
        both = {p: children_before.get(p, set()) | children.get(p, set()) for p in parents}
        under = nested_under(moved, both)
        scope |= {mid for _, mid, _ in reads.mirror_members_of_groups(conn, d, under, users_only=True)}
        scope |= {mid for g in under for mid, kind in members.added.get(g, ()) if kind == USER}

    recount: set[str] = set()  # a full read counts the absence of every linked identity it lacks
    if full_read is not None:
        recount = set(reads.links_absent_from_mirror(conn, d, full_read.missing_threshold)) - removed_users
        scope |= recount

    # linking: every identity and account an address in play could match, and their links
    linking, candidates = _linking_closure(conn, d, seeds, addresses, changed)
    scope |= linking
    links.update(reads.links_of_identities(conn, d, scope - {uid for _, uid in links}))
    account_ids = {link.account_id for key, link in links.items() if key[1] in scope} | candidates
    all_links = reads.links_of_accounts(conn, account_ids)
    scope |= {uid for dir_id, uid in all_links if dir_id == d}  # an account's identity here plans with it
    links.update((key, link) for key, link in all_links.items() if key[0] == d)
    old.update(load_mirror_users(conn, d, scope - old.keys()))
    users: dict[str, IdpUser] = {}
    for uid in sorted(scope - removed_users):
        # an identity not linked that no address in play can reach (a conflict or a skip whose
        # email and status stay) stays one, and moves no other identity's link: it plans nothing
        if (d, uid) not in links and uid not in linking:
            continue
        if uid in changed:
            users[uid] = changed[uid]
        elif uid in old:
            users[uid] = user_of_key(uid, old[uid])

    rows_before = list(reads.mirror_rows_of_members(conn, d, scope))
    direct: dict[str, set[MemberKey]] = {}
    for group_id, member_id, kind in rows_before:
        if kind == USER and member_id in users:
            direct.setdefault(group_id, set()).add((member_id, kind))
    view_members: dict[str, tuple[IdpMember, ...]] = {}
    for group_id in groups:
        before = direct.get(group_id, set())
        now = {k for k in members.after(group_id, before) if k[1] == USER and k[0] in users}
        listed = [IdpMember(group_id, mid, MemberKind.USER) for mid, _ in sorted(now)]
        listed += [IdpMember(group_id, c, MemberKind.GROUP) for c in sorted(children.get(group_id, ()))]
        if listed:
            view_members[group_id] = tuple(listed)
    deleted = frozenset(removed_users) if full_read is None else frozenset()  # else only absent
    view = DirectoryView(
        d, users, groups, view_members, full_read=full_read is not None, removed_user_ids=deleted
    )

    managed = {g.group_id for g in product_groups.values() if g.directory_id == d}
    snapshot = StoreSnapshot(
        accounts=reads.accounts_by_id(conn, account_ids),
        links=all_links,  # every scope identity's link here is one of these accounts' links
        groups=product_groups,
        memberships=frozenset(reads.memberships_of_accounts(conn, d, account_ids, managed)),
        directory=state,
        held_apart=load_held_apart(conn, d),
    )
    facts = GuardFacts(
        linked=reads.links_count(conn, d),
        users_read=(
            full_read.users_read
            if full_read is not None
            else reads.mirror_user_count(conn, d) - len(removed_users & old.keys()) + len(new_users)
        ),
        last_good_user_count=state.last_good_user_count,
        memberships=snapshot.memberships,
        group_sizes=lambda group_ids: reads.group_sizes(conn, d, group_ids, managed),
        group_names={g.group_id: g.name for g in product_groups.values()},
    )
    mirror = scoped_mirror_changes(
        d,
        changed,
        removed_users,
        old,
        old_groups,
        changes.groups,
        members,
        rows_before,
        children_before,
    )
    identities = len(users) + len(removed_users) + len(recount - users.keys())
    return Scope(view, snapshot, facts, tuple(mirror), revision, identities)
