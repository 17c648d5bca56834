"""How a directory user and group look in Microsoft Graph v1.0.

Property names and types follow the CSDL entity types ``user`` and ``group``
(GRAPH-CSDL); the default sets (no ``$select``) follow ``user-list.md``: the
properties marked "Returned only on ``$select``" (``accountEnabled``,
``userType``, ``otherMails``, ``externalUserState``, ``creationType``,
``createdDateTime``, ``identities``, ``employeeId``, ``department``…) appear
only when selected.  Guests render as Entra has them (protocols file §2.7):
``#EXT#`` UPN, ``mailNickname`` = the UPN's local part, real address in
``mail``, ``identities`` issued by the tenant until the invitation is redeemed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from mock_idp.state.directory import Directory
from mock_idp.state.directory import Group
from mock_idp.state.directory import User

Prop = Callable[[Any, Directory], Any]


def graph_time(value: datetime | None) -> str | None:
    """``2014-01-01T00:00:00Z``: Graph's DateTimeOffset, without milliseconds."""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


def _identities(user: User, directory: Directory) -> list[dict[str, Any]]:
    if user.creation_type == "Invitation" and user.external_user_state == "Accepted":
        return [{"signInType": "federated", "issuer": "ExternalAzureAD", "issuerAssignedId": None}]
    return [
        {"signInType": "userPrincipalName", "issuer": directory.tenant_domain, "issuerAssignedId": user.upn}
    ]


def _none(obj: Any, directory: Directory) -> None:
    return None


def _empty(obj: Any, directory: Directory) -> list[Any]:
    return []


USER_PROPERTIES: dict[str, Prop] = {
    "businessPhones": _empty,
    "displayName": lambda u, d: u.display_name,
    "givenName": lambda u, d: u.given_name,
    "id": lambda u, d: u.object_id,
    "jobTitle": lambda u, d: u.title,
    "mail": lambda u, d: u.email,
    "mobilePhone": lambda u, d: u.mobile_phone,
    "officeLocation": _none,
    "preferredLanguage": _none,
    "surname": lambda u, d: u.family_name,
    "userPrincipalName": lambda u, d: u.upn,
    "accountEnabled": lambda u, d: u.active,
    "otherMails": lambda u, d: list(u.other_mails),
    "userType": lambda u, d: u.user_type,
    "externalUserState": lambda u, d: u.external_user_state,
    "externalUserStateChangeDateTime": lambda u, d: (
        graph_time(u.status_changed) if u.external_user_state else None
    ),
    "creationType": lambda u, d: u.creation_type,
    "createdDateTime": lambda u, d: graph_time(u.created),
    "identities": _identities,
    "employeeId": lambda u, d: u.employee_number,
    "department": lambda u, d: u.department,
    "mailNickname": lambda u, d: u.upn.split("@")[0],
    "proxyAddresses": lambda u, d: [f"SMTP:{u.email}"] if u.email else [],
    "deletedDateTime": _none,
    "onPremisesSyncEnabled": _none,
    "onPremisesImmutableId": lambda u, d: u.external_id,
    "lastPasswordChangeDateTime": lambda u, d: graph_time(u.password_changed),
    "companyName": _none,
    "city": _none,
    "country": _none,
    "usageLocation": _none,
    "employeeType": _none,
}
USER_DEFAULT: tuple[str, ...] = (
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
)


def _sid(group: Group, directory: Directory) -> str:
    """Entra's ``securityIdentifier``: ``S-1-12-1-`` and the GUID as four little-endian integers."""
    raw = uuid.UUID(group.object_id).bytes_le
    parts = [int.from_bytes(raw[i : i + 4], "little") for i in range(0, 16, 4)]
    return "S-1-12-1-" + "-".join(str(p) for p in parts)


GROUP_PROPERTIES: dict[str, Prop] = {
    "id": lambda x, d: x.object_id,
    "deletedDateTime": _none,
    "classification": _none,
    "createdDateTime": lambda x, d: graph_time(x.created),
    "creationOptions": _empty,
    "description": lambda x, d: x.description,
    "displayName": lambda x, d: x.name,
    "expirationDateTime": _none,
    "groupTypes": _empty,
    "isAssignableToRole": _none,
    "mail": _none,
    "mailEnabled": lambda x, d: False,
    "mailNickname": lambda x, d: "".join(c for c in x.name if c.isalnum()) or x.object_id[:8],
    "membershipRule": _none,
    "membershipRuleProcessingState": _none,
    "onPremisesDomainName": _none,
    "onPremisesLastSyncDateTime": _none,
    "onPremisesSamAccountName": _none,
    "onPremisesSecurityIdentifier": _none,
    "onPremisesSyncEnabled": _none,
    "preferredDataLocation": _none,
    "preferredLanguage": _none,
    "proxyAddresses": _empty,
    "renewedDateTime": lambda x, d: graph_time(x.created),
    "resourceBehaviorOptions": _empty,
    "resourceProvisioningOptions": _empty,
    "securityEnabled": lambda x, d: True,
    "securityIdentifier": _sid,
    "theme": _none,
    "visibility": _none,
    "onPremisesProvisioningErrors": _empty,
    "serviceProvisioningErrors": _empty,
}
GROUP_DEFAULT: tuple[str, ...] = tuple(GROUP_PROPERTIES)

# ``$filter`` getters take the object only (odata_filter.Getter).
USER_FILTERS: dict[str, Callable[[Any], Any]] = {
    "id": lambda u: u.object_id,
    "userPrincipalName": lambda u: u.upn,
    "mail": lambda u: u.email,
    "displayName": lambda u: u.display_name,
    "givenName": lambda u: u.given_name,
    "surname": lambda u: u.family_name,
    "accountEnabled": lambda u: u.active,
    "userType": lambda u: u.user_type,
    "employeeId": lambda u: u.employee_number,
    "externalUserState": lambda u: u.external_user_state,
    "creationType": lambda u: u.creation_type,
}
GROUP_FILTERS: dict[str, Callable[[Any], Any]] = {
    "id": lambda x: x.object_id,
    "displayName": lambda x: x.name,
    "mail": lambda x: None,
    "mailNickname": lambda x: GROUP_PROPERTIES["mailNickname"](x, None),  # type: ignore[arg-type]
    "securityEnabled": lambda x: True,
    "mailEnabled": lambda x: False,
}


def render(
    directory: Directory, obj: Any, properties: dict[str, Prop], names: tuple[str, ...]
) -> dict[str, Any]:
    """The Graph JSON of ``obj`` with the properties ``names`` (in that order)."""
    return {name: properties[name](obj, directory) for name in names}
