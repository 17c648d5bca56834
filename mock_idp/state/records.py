"""The records the mock directory holds, and the vocabulary they share.  No Flask, no HTTP.

Statuses use Okta's vocabulary, the richest of the three dialects.
``User.active`` is true for the signed-in states (``ACTIVE``,
``PASSWORD_EXPIRED``, ``LOCKED_OUT``, ``RECOVERY``), as docs/contract.md, "Map", defines it.
:class:`mock_idp.state.directory.Directory` creates, indexes and logs them.
"""

from __future__ import annotations

import dataclasses
import string
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timezone
from typing import Any
from typing import Literal

OKTA_STATUSES: tuple[str, ...] = (
    "STAGED",
    "PROVISIONED",
    "ACTIVE",
    "RECOVERY",
    "LOCKED_OUT",
    "PASSWORD_EXPIRED",
    "SUSPENDED",
    "DEPROVISIONED",
)
ACTIVE_STATUSES: frozenset[str] = frozenset({"ACTIVE", "PASSWORD_EXPIRED", "LOCKED_OUT", "RECOVERY"})

Dialect = Literal["okta", "graph", "scim"]
DIALECTS: tuple[Dialect, ...] = ("okta", "graph", "scim")

BASE62 = string.digits + string.ascii_letters  # the alphabet of Okta ids and issued tokens


class StateError(Exception):
    """A request the directory refuses (unknown id, duplicate, bad value, built-in group).

    ``kind`` is one of ``not_found``, ``conflict``, ``invalid``, ``unsupported`` (an edit
    a built-in group does not allow); the dialect renders it in its own error shape.
    """

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def utc_ms(value: datetime) -> datetime:
    """``value`` in UTC, truncated to the millisecond."""
    value = value.astimezone(timezone.utc)
    return value.replace(microsecond=(value.microsecond // 1000) * 1000)


@dataclass
class User:
    """One user.  ``user_name`` is the Okta login and the SCIM ``userName``;
    ``upn`` is the Graph ``userPrincipalName`` (``#EXT#`` form for guests)."""

    object_id: str
    okta_id: str
    user_name: str
    upn: str
    email: str | None
    given_name: str | None
    family_name: str | None
    display_name: str | None
    status: str
    created: datetime
    last_updated: datetime
    status_changed: datetime | None = None
    activated: datetime | None = None
    last_login: datetime | None = None
    password_changed: datetime | None = None
    second_email: str | None = None
    other_mails: list[str] = field(default_factory=list)
    user_type: str = "Member"  # Graph userType: Member or Guest
    external_user_state: str | None = None  # PendingAcceptance / Accepted for invited guests
    creation_type: str | None = None  # Graph creationType: None or "Invitation" for B2B guests
    external_id: str | None = None
    title: str | None = None
    department: str | None = None
    employee_number: str | None = None
    mobile_phone: str | None = None
    password: str | None = None  # set through SCIM writes; never rendered
    formatted_name: str | None = None
    """SCIM ``name.formatted`` as a client wrote it; None: derived from the given and family names."""
    scim_emails: list[dict[str, Any]] | None = None
    """SCIM ``emails`` as a client last wrote them (``type``, ``primary``, ``display``); shown
    while ``email`` and ``other_mails`` still agree with them."""
    active_unassigned: bool = False
    """SCIM ``active`` removed by a client: the user is active and SCIM shows no ``active``,
    until the status next changes."""
    version: int = 1

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES


@dataclass
class Group:
    """One group with its direct members (user and group object ids, in order).

    A ``built_in`` group is Okta's ``Everyone`` (type ``BUILT_IN``): its members are
    always exactly every user of the directory, it holds no nested groups, and it
    cannot be deleted, renamed or have members added or removed by hand
    (:mod:`mock_idp.state.memberships`).
    """

    object_id: str
    okta_id: str
    name: str
    description: str | None
    created: datetime
    last_updated: datetime
    last_membership_updated: datetime
    external_id: str | None = None
    user_ids: dict[str, None] = field(default_factory=dict)
    group_ids: dict[str, None] = field(default_factory=dict)
    member_display: dict[str, str] = field(default_factory=dict)
    """SCIM ``members.display`` a client gave a member when adding it (member id -> display),
    kept while the member stays; members without one show their own name."""
    version: int = 1
    built_in: bool = False
    users_updated: datetime | None = None
    """When the users Okta lists for the group (transitively) last changed, which an edit of a
    nested group below it does too; None: at ``last_membership_updated``."""

    @property
    def okta_membership_updated(self) -> datetime:
        """Okta's ``lastMembershipUpdated``: the later of a direct edit and a change of its users."""
        if self.users_updated is None:
            return self.last_membership_updated
        return max(self.last_membership_updated, self.users_updated)


@dataclass
class OAuthClient:
    """An OAuth client of one dialect.

    ``auth_method`` is ``private_key_jwt`` (``jwks`` holds its public keys) or
    ``client_secret``.  ``scopes`` are the scopes it may be granted.
    ``certificates`` are PEM X.509 certificates registered on an Entra app
    (:mod:`mock_idp.state.certificates`): an assertion naming one by ``x5t`` /
    ``x5t#S256`` authenticates the app whatever its ``auth_method``, as an
    Entra app holds secrets and certificates side by side.
    """

    client_id: str
    dialect: Dialect
    auth_method: Literal["private_key_jwt", "client_secret"]
    scopes: tuple[str, ...]
    client_secret: str | None = None
    jwks: dict[str, Any] | None = None
    name: str = ""
    certificates: tuple[str, ...] = ()


@dataclass
class ApiToken:
    """A static token: an Okta SSWS API token or a SCIM bearer token."""

    token: str
    dialect: Dialect
    scopes: tuple[str, ...] = ()
    name: str = ""


@dataclass
class IssuedToken:
    """An access token handed out by a token endpoint."""

    token: str
    client_id: str
    dialect: Dialect
    scopes: tuple[str, ...]
    expires_at: datetime


@dataclass(frozen=True)
class ChangeEvent:
    """One entry of the change log.

    ``kind`` is ``user``, ``group`` or ``membership``; ``op`` is ``created``,
    ``updated``, ``deleted`` (objects), ``restored``/``purged`` (a user back from,
    or gone for good from, Entra's deleted items) or ``added``/``removed``
    (memberships, where ``object_id`` is the group and ``member_id``/``member_kind``
    the member).
    """

    seq: int
    at: datetime
    kind: Literal["user", "group", "membership"]
    op: Literal["created", "updated", "deleted", "restored", "purged", "added", "removed"]
    object_id: str
    member_id: str | None = None
    member_kind: Literal["user", "group"] | None = None


USER_FIELDS = frozenset(
    f.name
    for f in dataclasses.fields(User)
    if f.name not in {"object_id", "okta_id", "created", "last_updated", "version"}
)
GROUP_FIELDS = frozenset({"name", "description", "external_id"})
