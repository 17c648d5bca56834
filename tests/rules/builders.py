"""Small builders for the rules' tests: IdP users, directory views, store snapshots."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping

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

DIR = "okta-main"


def user(
    idp_user_id: str,
    email: str | None,
    *,
    active: bool = True,
    display_name: str | None = None,
    given_name: str | None = None,
    family_name: str | None = None,
) -> IdpUser:
    return IdpUser(
        idp_user_id=idp_user_id,
        user_name=email or idp_user_id,
        email=email,
        active=active,
        raw_status="ACTIVE" if active else "SUSPENDED",
        display_name=display_name,
        given_name=given_name,
        family_name=family_name,
    )


def view(
    users: Iterable[IdpUser] = (),
    groups: Mapping[str, Iterable[str]] | None = None,
    *,
    names: Mapping[str, str] | None = None,
    directory_id: str = DIR,
    full_read: bool = True,
    removed: Iterable[str] = (),
) -> DirectoryView:
    """``groups`` maps an IdP group id to its direct members; a member id that is a group id is nested."""
    groups = dict(groups or {})
    names = dict(names or {})
    members = {
        gid: tuple(IdpMember(gid, m, MemberKind.GROUP if m in groups else MemberKind.USER) for m in ids)
        for gid, ids in groups.items()
    }
    return DirectoryView(
        directory_id=directory_id,
        users={u.idp_user_id: u for u in users},
        groups={gid: IdpGroup(gid, names.get(gid, gid)) for gid in groups},
        members=members,
        full_read=full_read,
        removed_user_ids=frozenset(removed),
    )


def account(
    account_id: str,
    email: str,
    *,
    active: bool = True,
    display_name: str | None = None,
    origin: AccountOrigin = AccountOrigin.INVITED,
) -> Account:
    status = AccountStatus.ACTIVE if active else AccountStatus.DEACTIVATED
    return Account(account_id, email, display_name, status, origin)


def snapshot(
    accounts: Iterable[Account] = (),
    links: Iterable[Link] = (),
    groups: Iterable[Group] = (),
    memberships: Iterable[GroupMembership] = (),
    *,
    directory_id: str = DIR,
    last_good_user_count: int | None = None,
    synced_before: bool | None = None,
) -> StoreSnapshot:
    links = list(links)
    if synced_before is None:
        synced_before = any(link.directory_id == directory_id for link in links)
    return StoreSnapshot(
        accounts={a.account_id: a for a in accounts},
        links={(link.directory_id, link.idp_user_id): link for link in links},
        groups={g.group_id: g for g in groups},
        memberships=frozenset(memberships),
        directory=DirectoryState(
            directory_id, last_good_user_count=last_good_user_count, synced_before=synced_before
        ),
    )


def sequential_ids(prefix: str = "id") -> Callable[[], str]:
    """A deterministic ``new_id``: id-1, id-2, ..."""
    counter = itertools.count(1)
    return lambda: f"{prefix}-{next(counter)}"
