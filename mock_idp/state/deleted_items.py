"""Entra's deleted items: users deleted softly, then restored or deleted for good.  No Flask, no HTTP.

:class:`DeletedItems` is a part of :class:`mock_idp.state.directory.Directory`.
Deleting a user in Entra ID moves it to the deleted items for 30 days
(GRAPH-DOCS ``resources/directory.md``): it leaves every listing and every
group, frees its ``userPrincipalName`` (Entra renames it to the object id
without dashes followed by the old UPN), and can be restored with the same
object id, properties and direct group memberships.  Deleting it from the
deleted items is permanent.

The change log tells the three apart: a soft delete is ``deleted``, a
restore ``restored`` and a permanent delete ``purged``, each with the user's
object id, so a Graph delta round reports ``@removed`` ``changed``, the
object again, or ``@removed`` ``deleted``.  The other dialects have no
deleted items: for them a soft-deleted user is simply gone.

Groups are not kept here: the mock's groups are security groups, which Entra
deletes permanently (``directory-deleteditems-list.md``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from mock_idp.state.records import ChangeEvent
from mock_idp.state.records import Group
from mock_idp.state.records import StateError
from mock_idp.state.records import User


@dataclass
class DeletedUser:
    """A user in the deleted items: the record as it was, when it left, and its direct groups."""

    user: User
    deleted: datetime
    group_ids: tuple[str, ...] = ()

    @property
    def object_id(self) -> str:
        return self.user.object_id

    @property
    def deleted_upn(self) -> str:
        """The UPN Entra gives a deleted user: its object id without dashes, then the old UPN."""
        return self.user.object_id.replace("-", "") + self.user.upn


class DeletedItems:
    """Soft delete, restore and permanent delete of users, under ``lock``."""

    lock: threading.RLock
    users: dict[str, User]
    groups: dict[str, Group]
    deleted_users: dict[str, DeletedUser]
    changes: list[ChangeEvent]
    _users_by_okta_id: dict[str, str]
    _users_by_name: dict[str, str]
    user: Callable[[str], User]  # the rest come from Directory
    delete_user: Callable[[str], None]
    _add_member: Callable[..., bool]
    _join_built_in: Callable[[str], None]
    now: Callable[[], datetime]
    _log: Callable[..., None]

    def soft_delete_user(self, object_id: str) -> DeletedUser:
        """Move a user to the deleted items: it leaves its groups (each a logged removal) and
        every listing; the change log says ``deleted``."""
        with self.lock:
            user = self.user(object_id)
            group_ids = tuple(g.object_id for g in self.groups.values() if object_id in g.user_ids)
            self.delete_user(object_id)
            item = DeletedUser(user, self.changes[-1].at, group_ids)  # the deletion's entry
            self.deleted_users[object_id] = item
            return item

    def deleted_user(self, ident: str) -> DeletedUser:
        """A user in the deleted items by object id or Okta id; ``StateError`` ``not_found`` if none."""
        with self.lock:
            found = self.deleted_users.get(ident)
            if found is None:
                found = next((d for d in self.deleted_users.values() if d.user.okta_id == ident), None)
            if found is None:
                raise StateError("not_found", f"no deleted user with id {ident!r}")
            return found

    def restore_user(self, object_id: str) -> User:
        """Bring a deleted user back with its object id, properties and the direct groups it was
        in that still exist, and into every built-in group.  Refused (``conflict``) while another
        user holds its user name."""
        with self.lock:
            item = self.deleted_user(object_id)
            user = item.user
            if user.user_name.lower() in self._users_by_name:
                raise StateError(
                    "conflict",
                    f"user_name {user.user_name!r} is taken by another user; the deleted user stays deleted",
                )
            del self.deleted_users[user.object_id]
            at = self.now()
            user.last_updated = at
            user.version += 1
            self.users[user.object_id] = user
            self._users_by_okta_id[user.okta_id] = user.object_id
            self._users_by_name[user.user_name.lower()] = user.object_id
            self._log(at, "user", "restored", user.object_id)
            for group_id in item.group_ids:
                if group_id in self.groups:
                    self._add_member(group_id, user.object_id)
            self._join_built_in(user.object_id)
            return user

    def purge_user(self, object_id: str) -> None:
        """Delete a user in the deleted items for good; the change log says ``purged``."""
        with self.lock:
            item = self.deleted_user(object_id)
            del self.deleted_users[item.object_id]
            self._log(self.now(), "user", "purged", item.object_id)

    def remove_user(self, object_id: str, *, permanent: bool = False) -> None:
        """Delete a user as Entra does (softly), or ``permanent``: softly, then for good."""
        with self.lock:
            self.soft_delete_user(object_id)
            if permanent:
                self.purge_user(object_id)
