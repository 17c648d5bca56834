"""What every vendor dialect provides, and the flat attribute map they share.

A dialect maps a mock user to a flat map of SCIM attributes (``userName``,
``givenName``, ``email``, ``active``, ...: the keys of :data:`PATHS`), finds, creates and
updates users and groups in the vendor's request shapes, and says what happens to a user
that left the directory.  :mod:`mock_idp.push.cycle` decides *when* each is called.
"""

from __future__ import annotations

from abc import ABC
from abc import abstractmethod
from dataclasses import dataclass
from typing import Any

import requests

from mock_idp.push.client import Failure
from mock_idp.push.client import ScimClient
from mock_idp.push.source import PushGroup

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

PATHS: dict[str, str] = {
    "userName": "userName",
    "externalId": "externalId",
    "displayName": "displayName",
    "givenName": "name.givenName",
    "familyName": "name.familyName",
    "formatted": "name.formatted",
    "email": 'emails[type eq "work"].value',
    "title": "title",
    "mobile": 'phoneNumbers[type eq "mobile"].value',
    "department": f"{ENTERPRISE}:department",
    "employeeNumber": f"{ENTERPRISE}:employeeNumber",
    "active": "active",
}
"""Each flat attribute's SCIM attribute path (RFC 7644 §3.5.2), as Entra's PATCH names it."""


def _work_value(items: Any, kind: str) -> Any:
    for item in items or ():
        if isinstance(item, dict) and item.get("type") == kind:
            return item.get("value")
    return None


def flat_from_scim(resource: dict[str, Any]) -> dict[str, Any]:
    """A service's User resource as the flat map (for a user found, not created)."""
    name = resource.get("name") or {}
    enterprise = resource.get(ENTERPRISE) or {}
    return {
        "userName": resource.get("userName"),
        "externalId": resource.get("externalId"),
        "displayName": resource.get("displayName"),
        "givenName": name.get("givenName"),
        "familyName": name.get("familyName"),
        "formatted": name.get("formatted"),
        "email": _work_value(resource.get("emails"), "work"),
        "title": resource.get("title"),
        "mobile": _work_value(resource.get("phoneNumbers"), "mobile"),
        "department": enterprise.get("department"),
        "employeeNumber": enterprise.get("employeeNumber"),
        "active": resource.get("active", True),
    }


def patch_body(operations: list[dict[str, Any]]) -> dict[str, Any]:
    """A PatchOp request (RFC 7644 §3.5.2)."""
    return {"schemas": [PATCH_OP], "Operations": operations}


def quoted(value: str) -> str:
    """A SCIM filter string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class Member:
    """A group member as pushed: the user's SCIM id and its userName."""

    id: str
    user_name: str


class Dialect(ABC):
    """One vendor's provisioning engine, speaking through ``client``."""

    name: str
    members_per_patch: int = 100

    def __init__(self, client: ScimClient) -> None:
        self.client = client

    @abstractmethod
    def attributes(self, user: dict[str, Any]) -> dict[str, Any]:
        """The flat attribute map the vendor's default mapping sends for a mock user."""

    @abstractmethod
    def find_user(self, attrs: dict[str, Any]) -> dict[str, Any] | None:
        """The service's user matching ``attrs`` (the vendor's matching filter), or None."""

    @abstractmethod
    def create_user(self, attrs: dict[str, Any]) -> str | None:
        """POST the user; its SCIM id, or None if it failed."""

    @abstractmethod
    def update_user(self, scim_id: str, old: dict[str, Any], new: dict[str, Any]) -> bool:
        """Bring the service's user from ``old`` to ``new``; False if it failed."""

    @abstractmethod
    def user_left(self, scim_id: str, sent: dict[str, Any], *, soft: bool) -> dict[str, Any] | None:
        """A pushed user left the directory (``soft``: to Entra's deleted items).

        The attributes now on the service (the link is kept), ``{}`` when the user was
        deleted there (the link is dropped), or None when the request failed."""

    @abstractmethod
    def find_group(self, group: PushGroup) -> str | None:
        """The SCIM id of the service's group with this displayName, or None."""

    @abstractmethod
    def create_group(self, group: PushGroup) -> str | None:
        """POST the group (no members yet); its SCIM id, or None."""

    @abstractmethod
    def update_group(
        self, scim_id: str, group: PushGroup, *, renamed: bool, add: list[Member], remove: list[Member]
    ) -> bool:
        """Rename and/or add and remove members; False if a request failed."""

    def created_id(self, response: requests.Response | None, path: str) -> str | None:
        """The ``id`` a POST answered; an answer without one is reported as a failure."""
        if response is None:
            return None
        try:
            data = response.json()
        except ValueError:
            data = None
        scim_id = data.get("id") if isinstance(data, dict) else None
        if isinstance(scim_id, str) and scim_id:
            return scim_id
        failure = Failure("POST", path, response.status_code, "created, but the answer has no id")
        self.client.report.failures.append(failure)
        return None

    def delete_group(self, scim_id: str) -> bool:
        """``DELETE /Groups/{id}``."""
        return self.client.request("DELETE", f"/Groups/{scim_id}", accept=(404,)) is not None

    def batches(self, members: list[Member]) -> list[list[Member]]:
        """``members`` cut into PATCH-sized batches."""
        size = self.members_per_patch
        return [members[i : i + size] for i in range(0, len(members), size)]
