"""What each write request does to the directory: a function from a look-up of it to a ChangeSet.

Each edit checks the request against the directory as the mirror holds it (404 for an unknown
id, 409 ``uniqueness`` for a userName or displayName another resource has), reading only the
rows the request names (:class:`~connector.store.push_reads.DirectoryLookup`), and returns the
changes; :mod:`connector.push.changes` runs it under the directory's run lock.  Identity is the
id we assign (a UUID); ``externalId`` is never an id here.
"""

from __future__ import annotations

from collections.abc import Callable

from connector.model import ChangeSet
from connector.model import IdpGroup
from connector.model import IdpMember
from connector.model import IdpUser
from connector.push.changes import CURSOR
from connector.push.changes import Edit
from connector.push.errors import ScimError
from connector.push.errors import invalid_value
from connector.push.errors import not_found
from connector.store.push_reads import DirectoryLookup
from connector.store.push_reads import Match


def check_user_name(look: DirectoryLookup, user: IdpUser) -> None:
    """409 ``uniqueness`` when another user of the directory has this userName (any case)."""
    for other in look.users(Match("name", user.user_name)):
        if other.idp_user_id != user.idp_user_id:
            raise ScimError(409, f"userName {user.user_name!r} is taken in this directory", "uniqueness")


def write_user(make: Callable[[DirectoryLookup], IdpUser], *, exists: bool) -> Edit:
    """Create (``exists`` False) or replace the user ``make`` builds from the directory."""

    def edit(look: DirectoryLookup) -> ChangeSet:
        user = make(look)
        if exists and look.user(user.idp_user_id) is None:
            raise not_found(f"User {user.idp_user_id}")
        check_user_name(look, user)
        return ChangeSet(cursor=CURSOR, users=(user,))

    return edit


def delete_user(user_id: str) -> Edit:
    """The user gone from the directory: its account is deactivated, never deleted."""

    def edit(look: DirectoryLookup) -> ChangeSet:
        if look.user(user_id) is None:
            raise not_found(f"User {user_id}")
        return ChangeSet(cursor=CURSOR, removed_user_ids=(user_id,))

    return edit


def write_group(
    make: Callable[[DirectoryLookup], tuple[IdpGroup, tuple[IdpMember, ...]]], *, exists: bool
) -> Edit:
    """Create or replace a group with its whole direct member list, every member known."""

    def edit(look: DirectoryLookup) -> ChangeSet:
        group, members = make(look)
        gid = group.idp_group_id
        if exists and look.group(gid) is None:
            raise not_found(f"Group {gid}")
        for other in look.groups(Match("name", group.name)):
            if other.idp_group_id != gid:
                raise ScimError(409, f"displayName {group.name!r} is taken in this directory", "uniqueness")
        named = {m.member_id for m in members}
        known = look.user_ids(named) | look.group_ids(named) if named else set()
        unknown = [m.member_id for m in members if m.member_id not in known]
        if unknown:
            raise invalid_value(f"members: no user or group {unknown[0]!r} in this directory")
        return ChangeSet(
            cursor=CURSOR, groups=(group,), members_added=members, groups_with_full_members=(gid,)
        )

    return edit


def delete_group(group_id: str) -> Edit:
    """The group gone: the memberships it gave go; the product group stays."""

    def edit(look: DirectoryLookup) -> ChangeSet:
        if look.group(group_id) is None:
            raise not_found(f"Group {group_id}")
        return ChangeSet(cursor=CURSOR, removed_group_ids=(group_id,))

    return edit
