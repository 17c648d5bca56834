"""A pure, in-memory interpreter of a Plan: (snapshot, plan) -> next snapshot.

It stands in for the store in the rules' tests, and is strict on purpose: a
change that would break a store constraint, or that makes no sense against the
snapshot (removing a membership that is not there, creating an account twice),
fails an assertion, so the planner's output is checked as well as applied.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from connector.model import Account
from connector.model import AccountOrigin
from connector.model import AccountStatus
from connector.model import DirectoryState
from connector.model import Group
from connector.model import GroupMembership
from connector.model import Link
from connector.model import StoreSnapshot
from connector.rules.plan import Action
from connector.rules.plan import Change
from connector.rules.plan import Plan


@dataclasses.dataclass
class _World:
    accounts: dict[str, Account]
    links: dict[tuple[str, str], Link]
    groups: dict[str, Group]
    memberships: set[GroupMembership]


_HANDLERS: dict[Action, Callable[[_World, Change], None]] = {}


def _handles(
    action: Action,
) -> Callable[[Callable[[_World, Change], None]], Callable[[_World, Change], None]]:
    def register(fn: Callable[[_World, Change], None]) -> Callable[[_World, Change], None]:
        _HANDLERS[action] = fn
        return fn

    return register


@_handles(Action.CREATE_GROUP)
def _create_group(w: _World, c) -> None:
    assert c.group_id not in w.groups, f"group {c.group_id} exists"
    w.groups[c.group_id] = Group(c.group_id, c.name, c.directory_id, c.idp_group_id, c.description)


@_handles(Action.ADOPT_GROUP)
def _adopt_group(w: _World, c) -> None:
    group = w.groups[c.group_id]
    assert group.idp_group_id is None and group.directory_id is None, "only a local group is adopted"
    w.groups[c.group_id] = dataclasses.replace(
        group, directory_id=c.directory_id, idp_group_id=c.idp_group_id, adopted=True
    )


@_handles(Action.UPDATE_GROUP)
def _update_group(w: _World, c) -> None:
    group = w.groups[c.group_id]
    assert group.name == c.old_name
    w.groups[c.group_id] = dataclasses.replace(group, name=c.name, description=c.description)


def _add_link(w: _World, directory_id: str, idp_user_id: str, account_id: str) -> None:
    assert (directory_id, idp_user_id) not in w.links, "identity linked twice"
    assert account_id in w.accounts
    for (dir_id, _), link in w.links.items():
        assert not (dir_id == directory_id and link.account_id == account_id), (
            "two identities of one directory"
        )
    w.links[(directory_id, idp_user_id)] = Link(directory_id, idp_user_id, account_id)


@_handles(Action.CREATE_ACCOUNT)
def _create_account(w: _World, c) -> None:
    assert c.account_id not in w.accounts, f"account {c.account_id} exists"
    w.accounts[c.account_id] = Account(
        c.account_id,
        c.email,
        c.display_name,
        AccountStatus.ACTIVE,
        AccountOrigin.SYNC,
        given_name=c.given_name,
        family_name=c.family_name,
    )
    _add_link(w, c.directory_id, c.idp_user_id, c.account_id)


@_handles(Action.LINK)
def _link(w: _World, c) -> None:
    _add_link(w, c.directory_id, c.idp_user_id, c.account_id)


@_handles(Action.UPDATE_ACCOUNT)
def _update_account(w: _World, c) -> None:
    account = w.accounts[c.account_id]
    for name, old in c.old.items():
        assert getattr(account, name) == old, f"stale old value for {name}"
    w.accounts[c.account_id] = dataclasses.replace(account, **dict(c.fields))


@_handles(Action.ACTIVATE)
def _activate(w: _World, c) -> None:
    account = w.accounts[c.account_id]
    assert account.status is AccountStatus.DEACTIVATED, "activating an active account"
    w.accounts[c.account_id] = dataclasses.replace(account, status=AccountStatus.ACTIVE)


@_handles(Action.ADD_MEMBERSHIP)
def _add_membership(w: _World, c) -> None:
    assert c.group_id in w.groups and c.account_id in w.accounts
    membership = GroupMembership(c.group_id, c.account_id, c.source)
    assert membership not in w.memberships, f"duplicate {membership}"
    w.memberships.add(membership)


@_handles(Action.REMOVE_MEMBERSHIP)
def _remove_membership(w: _World, c) -> None:
    membership = GroupMembership(c.group_id, c.account_id, c.source)
    assert membership in w.memberships, f"removing absent {membership}"
    w.memberships.remove(membership)


@_handles(Action.DEACTIVATE)
def _deactivate(w: _World, c) -> None:
    account = w.accounts[c.account_id]
    assert account.status is AccountStatus.ACTIVE, "deactivating a deactivated account"
    w.accounts[c.account_id] = dataclasses.replace(account, status=AccountStatus.DEACTIVATED)
    w.memberships = {
        m for m in w.memberships if not (m.account_id == c.account_id and m.source == c.directory_id)
    }


@_handles(Action.MARK_MISSING)
def _mark_missing(w: _World, c) -> None:
    link = w.links[(c.directory_id, c.idp_user_id)]
    w.links[(c.directory_id, c.idp_user_id)] = dataclasses.replace(
        link, missing_count=c.missing_count, idp_active=c.idp_active
    )


@_handles(Action.MARK_GROUP_MISSING)
def _mark_group_missing(w: _World, c) -> None:
    group = w.groups[c.group_id]
    assert group.directory_id == c.directory_id, "counting another directory's group"
    w.groups[c.group_id] = dataclasses.replace(group, missing_count=c.missing_count)


@_handles(Action.SET_CURSOR)
def _set_cursor(w: _World, c) -> None:
    pass


def apply_in_memory(snapshot: StoreSnapshot, plan: Plan) -> StoreSnapshot:
    """Apply ``plan`` to ``snapshot``; also record the run as a good one for the directory."""
    world = _World(
        dict(snapshot.accounts), dict(snapshot.links), dict(snapshot.groups), set(snapshot.memberships)
    )
    for change in plan.changes:
        _HANDLERS[change.action](world, change)
    before = snapshot.directory or DirectoryState(plan.directory_id)
    directory = dataclasses.replace(
        before,
        synced_before=True,
        last_good_user_count=plan.users_read if plan.full_read else before.last_good_user_count,
    )
    after = StoreSnapshot(world.accounts, world.links, world.groups, frozenset(world.memberships), directory)
    check_invariants(after)
    return after


def check_invariants(snapshot: StoreSnapshot) -> None:
    """The store's constraints: what a database would refuse, as assertions."""
    per_directory: set[tuple[str, str]] = set()
    for (directory_id, idp_user_id), link in snapshot.links.items():
        assert (link.directory_id, link.idp_user_id) == (directory_id, idp_user_id)
        assert link.account_id in snapshot.accounts, "link to a missing account"
        key = (directory_id, link.account_id)
        assert key not in per_directory, f"account {link.account_id} has two identities in {directory_id}"
        per_directory.add(key)
        assert 0 <= link.missing_count
    for m in snapshot.memberships:
        assert m.group_id in snapshot.groups, "membership of a missing group"
        assert m.account_id in snapshot.accounts, "membership of a missing account"
    managed = [
        (g.directory_id, g.idp_group_id) for g in snapshot.groups.values() if g.idp_group_id is not None
    ]
    assert len(managed) == len(set(managed)), "one IdP group managed twice"
