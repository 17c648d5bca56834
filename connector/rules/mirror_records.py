"""The mirror's change records: what a plan writes to the mirror of the directory's last read.

Bookkeeping changes (:data:`connector.rules.plan.BOOKKEEPING`): they record what
was read rather than change the product, ride in the plan's last
transaction with the cursor, and are written by
:mod:`connector.store.handlers.mirror`.  :mod:`connector.rules.plan` imports this
module, so every plan can read them back (``Change.from_dict``).
"""

from __future__ import annotations

from dataclasses import dataclass

from connector.rules.plan import Action
from connector.rules.plan import Change


@dataclass(frozen=True, slots=True)
class MirrorUser(Change):
    """Record a user of the last read in the directory's mirror (``removed``: drop it).

    The mirror (:mod:`connector.rules.mirror`) is what an incremental run lays the
    IdP's changes over; it is written with the cursor, never ahead of it.
    ``updated_at`` is ISO 8601 text.
    """

    action = Action.MIRROR_USER
    directory_id: str = ""
    idp_user_id: str = ""
    removed: bool = False
    user_name: str = ""
    email: str | None = None
    active: bool = True
    raw_status: str = ""
    display_name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    other_emails: tuple[str, ...] = ()
    is_guest: bool = False
    updated_at: str | None = None
    external_id: str | None = None
    enterprise: str | None = None


@dataclass(frozen=True, slots=True)
class MirrorGroup(Change):
    """Record a group of the last read in the mirror (``removed``: drop it and its member list)."""

    action = Action.MIRROR_GROUP
    directory_id: str = ""
    idp_group_id: str = ""
    removed: bool = False
    name: str = ""
    description: str | None = None
    updated_at: str | None = None
    external_id: str | None = None


@dataclass(frozen=True, slots=True)
class MirrorMembers(Change):
    """Record a group's complete list of direct members in the mirror."""

    action = Action.MIRROR_MEMBERS
    directory_id: str = ""
    group_id: str = ""
    user_ids: tuple[str, ...] = ()
    group_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MirrorMemberRows(Change):
    """Add and drop single rows of a group's direct members in the mirror.

    What a run that planned only the changed identities writes: the changes the
    IdP reported, without the rest of the group's list (:mod:`connector.store.scope`).
    """

    action = Action.MIRROR_MEMBER_ROWS
    directory_id: str = ""
    group_id: str = ""
    added_users: tuple[str, ...] = ()
    added_groups: tuple[str, ...] = ()
    removed_users: tuple[str, ...] = ()
    removed_groups: tuple[str, ...] = ()
