"""Small builders for the tests: IdP users, directory views, store snapshots."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from typing import Any

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
_UNSET: Any = object()  # no email given: the default one


def user(
    who: int | str,
    email: str | None = _UNSET,
    *,
    domain: str = "example.com",
    active: bool = True,
    **fields: Any,
) -> IdpUser:
    """An IdP user; ``raw_status`` is ``ACTIVE`` or ``SUSPENDED`` as ``active`` says.

    A number gives the numbered user of the engine tests: ``user(7)`` is ``u7``, with user name and
    email ``user7@<domain>``, display name ``User 7``, given name ``User`` and family name ``7``.
    A string is the id itself, and the user has only what is given:
    ``user("u-pat", "pat@partner.io")`` has that email as its user name (its id, without an email)
    and no names.  Any field is given by keyword (``email`` also in second place) and wins: a
    numbered user's user name stays ``user<n>@<domain>`` whatever its email.
    """
    if isinstance(who, int):
        address = f"user{who}@{domain}"
        made: dict[str, Any] = {
            "idp_user_id": f"u{who}",
            "user_name": address,
            "email": address,
            "display_name": f"User {who}",
            "given_name": "User",
            "family_name": str(who),
        }
        if email is not _UNSET:
            made["email"] = email
    else:
        email = None if email is _UNSET else email
        made = {"idp_user_id": who, "user_name": email or who, "email": email}
    status = {"active": active, "raw_status": "ACTIVE" if active else "SUSPENDED"}
    return IdpUser(**{**made, **status, **fields})


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
