"""Frozen, provider-neutral records.

Two families live here:

* what a provider reads from an identity provider (``IdpUser``, ``IdpGroup``,
  ``IdpMember``, ``ChangeSet``), and
* what the product store holds (``Account``, ``Link``, ``Group``,
  ``GroupMembership``), as the planner sees them in a ``StoreSnapshot``.

Identity is always ``(directory_id, immutable IdP id)``; emails, logins and
names are mutable attributes (docs/contract.md, "Link").  Every record is immutable
so that mapping, linking and planning can stay pure.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from typing import Any

# --------------------------------------------------------------------------
# What a provider reads
# --------------------------------------------------------------------------


class MemberKind(str, enum.Enum):
    """What a group member is: a user, or a nested group."""

    USER = "user"
    GROUP = "group"


@dataclass(frozen=True, slots=True)
class ReadProblem:
    """Something a read could not take as the IdP's word, reported with the run.

    ``kind`` is ``user`` or ``group`` for a malformed object (skipped; never read as inactive or
    absent; more than 1% of a read's objects malformed stop the run), or ``members`` for a
    group whose member list is not known to be complete (its memberships are left as they are).
    ``object_id`` is the object's (or the group's) id, when it has a readable one.
    """

    kind: str
    object_id: str | None
    reason: str

    MALFORMED_KINDS = ("user", "group")

    @property
    def malformed(self) -> bool:
        return self.kind in self.MALFORMED_KINDS

    def to_dict(self) -> dict[str, str | None]:
        return {"kind": self.kind, "id": self.object_id, "reason": self.reason}


@dataclass(frozen=True)
class ProblemIds:
    """What a read's problems leave unknown: users read malformed (by id), groups whose member
    list is not known (malformed, or not known to be complete), and whether a malformed user
    without a readable id makes every absence uncertain."""

    users: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    absence_uncertain: bool = False

    @classmethod
    def of(cls, problems: Iterable[ReadProblem]) -> ProblemIds:
        problems = list(problems)
        return cls(
            frozenset(p.object_id for p in problems if p.kind == "user" and p.object_id),
            frozenset(p.object_id for p in problems if p.kind in ("group", "members") and p.object_id),
            any(p.kind == "user" and not p.object_id for p in problems),
        )

    def __bool__(self) -> bool:
        return bool(self.users or self.groups or self.absence_uncertain)


@dataclass(frozen=True, slots=True)
class IdpUser:
    """A user as the identity provider has it, in neutral terms.

    ``active`` follows docs/contract.md, "Map": Okta ``ACTIVE``, ``PASSWORD_EXPIRED``,
    ``LOCKED_OUT`` and ``RECOVERY`` are active, every other status is not;
    Graph ``accountEnabled``; SCIM ``active``.  ``raw_status`` keeps the IdP's
    own word (``"SUSPENDED"``, ``"accountEnabled=false"``, ``"active=false"``).
    ``email`` is the primary address as the IdP gives it, not normalised;
    ``other_emails`` holds the rest.  ``is_guest`` is the IdP's own notion of a
    guest (Entra B2B); whether a user is *external* is decided later from the
    organization's verified domains, never here.  ``external_id`` is the client's own id for
    the user where it gives one (SCIM ``externalId``), kept as an attribute and never matched
    against anything; ``enterprise`` is the SCIM enterprise user extension as the client sent
    it, canonical JSON text.
    """

    idp_user_id: str
    user_name: str
    email: str | None
    active: bool
    raw_status: str
    display_name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    other_emails: tuple[str, ...] = ()
    is_guest: bool = False
    updated_at: datetime | None = None
    external_id: str | None = None
    enterprise: str | None = None


@dataclass(frozen=True, slots=True)
class IdpGroup:
    """A group as the identity provider has it (``external_id``: SCIM ``externalId``, an attribute)."""

    idp_group_id: str
    name: str
    description: str | None = None
    updated_at: datetime | None = None
    external_id: str | None = None


@dataclass(frozen=True, slots=True)
class IdpMember:
    """One direct member of a group: a user or a nested group."""

    group_id: str
    member_id: str
    kind: MemberKind = MemberKind.USER


@dataclass(frozen=True, slots=True)
class ChangeSet:
    """What changed in a directory since a cursor.

    ``users`` and ``groups`` are new or changed objects (the whole object);
    ``removed_*`` are ids that are gone from the directory (deleted, or out of
    scope).  Membership changes are direct ones, as the IdP reports them.
    ``groups_with_full_members`` names groups whose *complete* direct member
    list is in ``members_added`` (an IdP that reports a group's members whole
    rather than as a diff); for those, any stored member not listed is gone.
    ``cursor`` is where the next call starts from.
    """

    cursor: str
    users: tuple[IdpUser, ...] = ()
    removed_user_ids: tuple[str, ...] = ()
    groups: tuple[IdpGroup, ...] = ()
    removed_group_ids: tuple[str, ...] = ()
    members_added: tuple[IdpMember, ...] = ()
    members_removed: tuple[IdpMember, ...] = ()
    groups_with_full_members: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        """True when nothing changed."""
        return not (
            self.users
            or self.removed_user_ids
            or self.groups
            or self.removed_group_ids
            or self.members_added
            or self.members_removed
            or self.groups_with_full_members
        )


# --------------------------------------------------------------------------
# What the product store holds
# --------------------------------------------------------------------------


class AccountStatus(str, enum.Enum):
    ACTIVE = "active"
    DEACTIVATED = "deactivated"


class AccountOrigin(str, enum.Enum):
    """Where an account came from."""

    SYNC = "sync"  # created by a sync run
    INVITED = "invited"  # invited by hand before provisioning
    SELF_SIGNUP = "self_signup"
    IMPORTED = "imported"  # loaded with `accounts import`


LOCAL_SOURCE = "local"
"""The membership source of a membership made in the product itself."""


@dataclass(frozen=True, slots=True)
class Account:
    """A product user.  ``account_id`` is the product's own id."""

    account_id: str
    email: str
    display_name: str | None
    status: AccountStatus
    origin: AccountOrigin
    given_name: str | None = None
    family_name: str | None = None


@dataclass(frozen=True, slots=True)
class Link:
    """(directory_id, idp_user_id) -> account_id.

    ``missing_count`` counts consecutive full reads that did not return the
    identity; ``idp_active`` is the IdP's active flag at the last read.
    """

    directory_id: str
    idp_user_id: str
    account_id: str
    missing_count: int = 0
    idp_active: bool = True


@dataclass(frozen=True, slots=True)
class Group:
    """A product group: local, or managed by a directory (``idp_group_id`` set)."""

    group_id: str
    name: str
    directory_id: str | None = None
    idp_group_id: str | None = None
    description: str | None = None
    adopted: bool = False  # a local group that an IdP group of the same name took over
    missing_count: int = 0  # full reads in a row that missed its IdP group

    @property
    def managed(self) -> bool:
        return self.idp_group_id is not None


@dataclass(frozen=True, slots=True)
class GroupMembership:
    """An account in a group, through one source (``"local"`` or a directory id)."""

    group_id: str
    account_id: str
    source: str


@dataclass(frozen=True, slots=True)
class DirectoryState:
    """Per-directory bookkeeping the planner needs."""

    directory_id: str
    cursor: str | None = None
    last_full_read_at: datetime | None = None
    last_good_user_count: int | None = None  # users read by the last good full run
    synced_before: bool = False
    planned_revision: int | None = None
    """The store revision this directory's last applied run left (None: unknown, or not clean)."""
    planned_settings: str | None = None
    """The digest of the settings that run planned with, beside ``planned_revision``."""
    planned_billing: Mapping[str, Any] | None = None
    """The billing figures (``BillingReport.to_dict``) at ``planned_revision``, when known."""


@dataclass(frozen=True)
class StoreSnapshot:
    """The store as the planner sees it, for one directory run.

    Plain immutable-by-convention collections keyed for fast lookup.  It holds
    every account (linking needs the whole organization), every group, and the
    memberships of the groups this directory manages plus local ones.
    """

    accounts: Mapping[str, Account] = field(default_factory=dict)
    links: Mapping[tuple[str, str], Link] = field(default_factory=dict)
    groups: Mapping[str, Group] = field(default_factory=dict)
    memberships: frozenset[GroupMembership] = frozenset()
    directory: DirectoryState | None = None
    held_apart: frozenset[tuple[str, str]] = frozenset()
    """(identity, account) pairs of this directory an administrator unlinked by hand."""


@dataclass(frozen=True)
class DirectoryView:
    """A whole directory as the planner reads it.

    After a full read it is exactly what the IdP returned.  For an
    incremental run it is the store's mirror of the last read with the
    provider's :class:`ChangeSet` laid over it (``full_read`` False); then
    absence means nothing, and ``removed_user_ids`` are identities the IdP
    itself reported deleted.  ``members`` holds *direct* members by group id;
    flattening nested groups is the planner's job.
    """

    directory_id: str
    users: Mapping[str, IdpUser]
    groups: Mapping[str, IdpGroup]
    members: Mapping[str, tuple[IdpMember, ...]]
    full_read: bool = True
    removed_user_ids: frozenset[str] = frozenset()
    unreadable_user_ids: frozenset[str] = frozenset()
    """Users the read returned malformed: neither present nor absent; their accounts stay as they are."""
    unsettled_group_ids: frozenset[str] = frozenset()
    """Groups whose member list is not known (malformed, or not known to be complete): the
    memberships of these groups, and of the groups above them, stay as they are."""
    absence_uncertain: bool = False
    """A malformed user without a readable id was skipped: it could be anyone, so nobody's
    absence from this read is counted."""

    def with_problems(self, problems: Iterable[ReadProblem]) -> DirectoryView:
        """This view with what a read could not take as the IdP's word (see the fields above)."""
        found = ProblemIds.of(problems)
        if not found:
            return self
        return dataclasses.replace(
            self,
            unreadable_user_ids=self.unreadable_user_ids | found.users,
            unsettled_group_ids=self.unsettled_group_ids | found.groups,
            absence_uncertain=self.absence_uncertain or found.absence_uncertain,
        )
