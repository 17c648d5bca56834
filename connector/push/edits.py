"""What each write request does to the directory: a function from the mirror to a ChangeSet.

Each edit checks the request against the directory as the mirror holds it (404 for an unknown
id, 409 ``uniqueness`` for a userName or displayName another resource has) and returns the
changes; :mod:`connector.push.changes` runs it under the directory's run lock.  Identity is the
id we assign (a UUID); ``externalId`` is never an id here.
"""

from __future__ import annotations

from collections.abc import Callable

from connector.model import ChangeSet
from connector.model import DirectoryView
from connector.model import IdpGroup
from connector.model import IdpMember
from connector.model import IdpUser
from connector.push.changes import CURSOR
from connector.push.errors import ScimError
from connector.push.errors import invalid_value
from connector.push.errors import not_found


def check_user_name(view: DirectoryView, user: IdpUser) -> None:
    """409 ``uniqueness`` when another user of the directory has this userName (any case)."""
    name = user.user_name.casefold()
    for other in view.users.values():
        if other.idp_user_id != user.idp_user_id and other.user_name.casefold() == name:
            raise ScimError(409, f"userName {user.user_name!r} is taken in this directory", "uniqueness")


def write_user(
    make: Callable[[DirectoryView], IdpUser], *, exists: bool
) -> Callable[[DirectoryView], ChangeSet]:
    """Create (``exists`` False) or replace the user ``make`` builds from the directory."""

    def edit(view: DirectoryView) -> ChangeSet:
        user = make(view)
        if exists and user.idp_user_id not in view.users:
            raise not_found(f"User {user.idp_user_id}")
        check_user_name(view, user)
        return ChangeSet(cursor=CURSOR, users=(user,))

    return edit


def delete_user(user_id: str) -> Callable[[DirectoryView], ChangeSet]:
    """The user gone from the directory: its account is deactivated, never deleted."""

    def edit(view: DirectoryView) -> ChangeSet:
        if user_id not in view.users:
            raise not_found(f"User {user_id}")
        return ChangeSet(cursor=CURSOR, removed_user_ids=(user_id,))

    return edit


def write_group(
    make: Callable[[DirectoryView], tuple[IdpGroup, tuple[IdpMember, ...]]], *, exists: bool
) -> Callable[[DirectoryView], ChangeSet]:
    """Create or replace a group with its whole direct member list, every member known."""

    def edit(view: DirectoryView) -> ChangeSet:
        group, members = make(view)
        gid = group.idp_group_id
        if exists and gid not in view.groups:
            raise not_found(f"Group {gid}")
        name = group.name.casefold()
        if any(g.name.casefold() == name for other, g in view.groups.items() if other != gid):
            raise ScimError(409, f"displayName {group.name!r} is taken in this directory", "uniqueness")
        unknown = [
            m.member_id for m in members if m.member_id not in view.users and m.member_id not in view.groups
        ]
        if unknown:
            raise invalid_value(f"members: no user or group {unknown[0]!r} in this directory")
        return ChangeSet(
            cursor=CURSOR, groups=(group,), members_added=members, groups_with_full_members=(gid,)
        )

    return edit


def delete_group(group_id: str) -> Callable[[DirectoryView], ChangeSet]:
    """The group gone: the memberships it gave go; the product group stays."""

    def edit(view: DirectoryView) -> ChangeSet:
        if group_id not in view.groups:
            raise not_found(f"Group {group_id}")
        return ChangeSet(cursor=CURSOR, removed_group_ids=(group_id,))

    return edit
