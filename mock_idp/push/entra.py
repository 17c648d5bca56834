"""Microsoft Entra ID's provisioning service, speaking to a non-gallery SCIM app.

Request shapes are Microsoft's "Tutorial: Develop and plan provisioning for a SCIM endpoint"
and "Known issues and resolutions with SCIM 2.0 protocol compliance" (learn.microsoft.com,
entra/identity/app-provisioning).  Default mapping: ``userPrincipalName`` -> ``userName``
(the matching attribute), the object id -> ``externalId``, ``mail`` ->
``emails[type eq "work"].value``, ``jobTitle``, ``mobile``, ``department`` and
``employeeId`` -> ``employeeNumber``; null attributes are skipped.  A user is looked up with
``filter=userName eq "..."`` (or ``externalId``), then POSTed; an update is one PATCH of
one op per attribute, ``Replace``/``Add``/``Remove`` capitalised, ``active`` as the string
``"False"``; a soft delete disables, a hard delete sends ``DELETE /Users/{id}``.  Groups are
read with ``excludedAttributes=members``, created without members, and members are added
and removed in batches, a removal being ``{"op": "Remove", "path": "members", "value": [...]}``.

``compliant=True`` is the ``aadOptscim062020`` flag: lower-case ops, boolean ``active``,
one path-less ``replace`` whose value keys are dotted paths (filtered paths stay separate
ops), and ``members[value eq "..."]`` removals.
"""

from __future__ import annotations

from typing import Any

from mock_idp.push.client import RetryPolicy
from mock_idp.push.client import ScimClient
from mock_idp.push.dialect import CORE_GROUP
from mock_idp.push.dialect import CORE_USER
from mock_idp.push.dialect import ENTERPRISE
from mock_idp.push.dialect import PATHS
from mock_idp.push.dialect import Dialect
from mock_idp.push.dialect import Member
from mock_idp.push.dialect import patch_body
from mock_idp.push.dialect import quoted
from mock_idp.push.source import PushGroup

ADSCIM_GROUP = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
HEADERS = {"Accept": "application/scim+json", "Content-Type": "application/scim+json"}
RETRY = RetryPolicy(attempts=3, default_wait=30.0, max_wait=30.0)
"""Entra documents no 429 handling; Retry-After is honoured, and what still fails is retried
in the next cycle (the next ``mock-idp push``), as Entra retries failed objects later."""

MATCH_ATTRIBUTES = ("userName", "externalId")


class Entra(Dialect):
    """Entra's requests, with or without ``aadOptscim062020``."""

    name = "entra"

    def __init__(self, client: ScimClient, *, compliant: bool = False, match: str = "userName") -> None:
        super().__init__(client)
        if match not in MATCH_ATTRIBUTES:
            raise ValueError(f"match: one of {', '.join(MATCH_ATTRIBUTES)}")
        self.compliant = compliant
        self.match = match

    def _op(self, name: str) -> str:
        return name.lower() if self.compliant else name

    def _bool(self, value: bool) -> bool | str:
        return value if self.compliant else str(value)

    def attributes(self, user: dict[str, Any]) -> dict[str, Any]:
        given, family = user.get("given_name"), user.get("family_name")
        return {
            "userName": user.get("upn") or user["user_name"],
            "externalId": user["id"],
            "displayName": user.get("display_name"),
            "givenName": given,
            "familyName": family,
            "formatted": " ".join(p for p in (given, family) if p) or None,
            "email": user.get("email"),
            "title": user.get("title"),
            "mobile": user.get("mobile_phone"),
            "department": user.get("department"),
            "employeeNumber": user.get("employee_number"),
            "active": bool(user.get("active", True)),
        }

    def find_user(self, attrs: dict[str, Any]) -> dict[str, Any] | None:
        params = {"filter": f"{self.match} eq {quoted(attrs[self.match])}"}
        response = self.client.request("GET", "/Users", params=params)
        if response is None:
            return None
        found = response.json().get("Resources") or []
        return found[0] if found else None

    def create_user(self, attrs: dict[str, Any]) -> str | None:
        body: dict[str, Any] = {
            "schemas": [CORE_USER, ENTERPRISE],
            "externalId": attrs["externalId"],
            "userName": attrs["userName"],
            "active": attrs["active"],
            "displayName": attrs["displayName"],
            "title": attrs["title"],
            "emails": [{"primary": True, "type": "work", "value": attrs["email"]}]
            if attrs["email"]
            else None,
            "phoneNumbers": [{"type": "mobile", "value": attrs["mobile"]}] if attrs["mobile"] else None,
            "meta": {"resourceType": "User"},
            "name": {k: attrs[k] for k in ("formatted", "familyName", "givenName") if attrs[k]} or None,
            ENTERPRISE: {k: attrs[k] for k in ("department", "employeeNumber") if attrs[k]} or None,
            "roles": [],
        }
        body = {k: v for k, v in body.items() if v is not None}  # Entra skips null attributes
        return self.created_id(self.client.request("POST", "/Users", body=body), "/Users")

    def user_operations(self, old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
        """The PATCH operations taking the service's user from ``old`` to ``new``."""
        operations: list[dict[str, Any]] = []
        merged: dict[str, Any] = {}
        for key, path in PATHS.items():
            before, after = old.get(key), new.get(key)
            if key == "active" or before == after:
                continue
            if after is None:
                operations.append({"op": self._op("Remove"), "path": path})
            elif self.compliant and "[" not in path and before is not None:
                merged[path] = after
            else:
                operations.append(
                    {"op": self._op("Add" if before is None else "Replace"), "path": path, "value": after}
                )
        if merged:
            operations.insert(0, {"op": "replace", "value": merged})
        if old.get("active") != new["active"]:
            operations.append(
                {"op": self._op("Replace"), "path": "active", "value": self._bool(new["active"])}
            )
        return operations

    def update_user(self, scim_id: str, old: dict[str, Any], new: dict[str, Any]) -> bool:
        operations = self.user_operations(old, new)
        if not operations:
            return True
        return self.client.request("PATCH", f"/Users/{scim_id}", body=patch_body(operations)) is not None

    def user_left(self, scim_id: str, sent: dict[str, Any], *, soft: bool) -> dict[str, Any] | None:
        if soft:
            if not sent.get("active"):
                return sent
            new = {**sent, "active": False}
            return new if self.update_user(scim_id, sent, new) else None
        if self.client.request("DELETE", f"/Users/{scim_id}", accept=(404,)) is None:
            return None
        return {}

    def find_group(self, group: PushGroup) -> str | None:
        params = {"excludedAttributes": "members", "filter": f"displayName eq {quoted(group.name)}"}
        response = self.client.request("GET", "/Groups", params=params)
        if response is None:
            return None
        found = response.json().get("Resources") or []
        return found[0].get("id") if found else None

    def create_group(self, group: PushGroup) -> str | None:
        body = {
            "schemas": [CORE_GROUP, ADSCIM_GROUP],
            "externalId": group.object_id,
            "displayName": group.name,
            "meta": {"resourceType": "Group"},
        }
        return self.created_id(self.client.request("POST", "/Groups", body=body), "/Groups")

    def update_group(
        self, scim_id: str, group: PushGroup, *, renamed: bool, add: list[Member], remove: list[Member]
    ) -> bool:
        bodies: list[list[dict[str, Any]]] = []
        if renamed:
            bodies.append([{"op": self._op("Replace"), "path": "displayName", "value": group.name}])
        for batch in self.batches(add):
            value = [{"$ref": None, "value": m.id} for m in batch]
            bodies.append([{"op": self._op("Add"), "path": "members", "value": value}])
        for batch in self.batches(remove):
            if self.compliant:
                bodies.append([{"op": "remove", "path": f"members[value eq {quoted(m.id)}]"} for m in batch])
            else:
                bodies.append(
                    [{"op": "Remove", "path": "members", "value": [{"value": m.id} for m in batch]}]
                )
        ok = True
        for operations in bodies:
            ok = (
                self.client.request("PATCH", f"/Groups/{scim_id}", body=patch_body(operations)) is not None
                and ok
            )
        return ok
