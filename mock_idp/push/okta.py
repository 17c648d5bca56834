"""Okta's SCIM 2.0 provisioning engine (an OIN-template app: PATCH for active and groups).

Request shapes are Okta's "SCIM 2.0 protocol reference" (developer.okta.com, the SCIM 2.0
guide): a user is looked up with ``filter=userName eq "..."`` (``startIndex=1&count=100``),
then POSTed with ``externalId`` = the Okta user id, a placeholder ``password``, ``locale``
and empty ``groups``; a profile update is ``GET /Users/{id}`` then a ``PUT`` of the whole
object (``id``, ``meta`` and ``groups`` included); deactivation is a path-less
``{"op": "replace", "value": {"active": false}}``; Okta never sends ``DELETE /Users``.
Group Push looks a group up by ``displayName``, POSTs it with ``"members": []`` and sends
members by PATCH, every PATCH opening with ``{"op": "replace", "value": {"id", "displayName"}}``;
a removal is ``members[value eq "..."]``; ``DELETE /Groups/{id}`` is what an unlink with
"Delete the group in the target app" sends.  Headers: ``User-Agent: Okta SCIM Client 1.0.0``,
``Accept``/``Content-Type: application/scim+json``.
"""

from __future__ import annotations

import copy
import secrets
from typing import Any

from mock_idp.push.client import RetryPolicy
from mock_idp.push.dialect import CORE_GROUP
from mock_idp.push.dialect import CORE_USER
from mock_idp.push.dialect import Dialect
from mock_idp.push.dialect import Member
from mock_idp.push.dialect import patch_body
from mock_idp.push.dialect import quoted
from mock_idp.push.source import PushGroup

HEADERS = {
    "User-Agent": "Okta SCIM Client 1.0.0",
    "Accept": "application/scim+json",
    "Content-Type": "application/scim+json; charset=utf-8",
}
RETRY = RetryPolicy(attempts=10, default_wait=300.0, max_wait=30.0)
"""10 attempts; 5 minutes without an integer Retry-After, doubling; capped for a test tool."""

PROFILE = ("userName", "externalId", "givenName", "familyName", "displayName", "email")


class Okta(Dialect):
    """Okta's requests for users and Group Push."""

    name = "okta"

    def attributes(self, user: dict[str, Any]) -> dict[str, Any]:
        return {
            "userName": user["user_name"],
            "externalId": user["okta_id"],
            "givenName": user.get("given_name"),
            "familyName": user.get("family_name"),
            "displayName": user.get("display_name"),
            "email": user.get("email"),
            "active": bool(user.get("active", True)),
        }

    def find_user(self, attrs: dict[str, Any]) -> dict[str, Any] | None:
        params = {"filter": f"userName eq {quoted(attrs['userName'])}", "startIndex": "1", "count": "100"}
        response = self.client.request("GET", "/Users", params=params, accept=(404,))
        if response is None or response.status_code == 404:
            return None
        found = response.json().get("Resources") or []
        return found[0] if found else None

    def create_user(self, attrs: dict[str, Any]) -> str | None:
        body: dict[str, Any] = {
            "schemas": [CORE_USER],
            "userName": attrs["userName"],
            "name": {"givenName": attrs["givenName"], "familyName": attrs["familyName"]},
            "emails": [{"primary": True, "value": attrs["email"], "type": "work"}] if attrs["email"] else [],
            "displayName": attrs["displayName"],
            "locale": "en-US",
            "externalId": attrs["externalId"],
            "groups": [],
            "password": secrets.token_urlsafe(8),  # Okta's placeholder, "not relevant or sensitive"
            "active": True,
        }
        body["name"] = {k: v for k, v in body["name"].items() if v is not None}
        response = self.client.request("POST", "/Users", body=body)
        scim_id = self.created_id(response, "/Users")
        if scim_id and not attrs["active"]:
            self._set_active(scim_id, False)  # assigned, then deactivated
        return scim_id

    def update_user(self, scim_id: str, old: dict[str, Any], new: dict[str, Any]) -> bool:
        ok = True
        if any(old.get(k) != new.get(k) for k in PROFILE):
            ok = self._put_profile(scim_id, new)
        if ok and old.get("active") != new["active"]:
            ok = self._set_active(scim_id, new["active"])
        return ok

    def _put_profile(self, scim_id: str, attrs: dict[str, Any]) -> bool:
        response = self.client.request("GET", f"/Users/{scim_id}")
        if response is None:
            return False
        body = copy.deepcopy(response.json())
        body["userName"] = attrs["userName"]
        body["externalId"] = attrs["externalId"]
        body["displayName"] = attrs["displayName"]
        name = body.setdefault("name", {})
        for key in ("givenName", "familyName"):
            if attrs[key] is None:
                name.pop(key, None)
            else:
                name[key] = attrs[key]
        others = [e for e in body.get("emails") or [] if e.get("type") != "work" and not e.get("primary")]
        work = [{"primary": True, "value": attrs["email"], "type": "work"}] if attrs["email"] else []
        body["emails"] = work + others
        return self.client.request("PUT", f"/Users/{scim_id}", body=body) is not None

    def _set_active(self, scim_id: str, active: bool) -> bool:
        body = patch_body([{"op": "replace", "value": {"active": active}}])
        return self.client.request("PATCH", f"/Users/{scim_id}", body=body) is not None

    def user_left(self, scim_id: str, sent: dict[str, Any], *, soft: bool) -> dict[str, Any] | None:
        if not sent.get("active"):
            return sent  # already deactivated: deleting it in Okta sends nothing
        if not self._set_active(scim_id, False):
            return None
        return {**sent, "active": False}

    def find_group(self, group: PushGroup) -> str | None:
        params = {"filter": f"displayName eq {quoted(group.name)}", "startIndex": "1", "count": "100"}
        response = self.client.request("GET", "/Groups", params=params, accept=(404,))
        if response is None or response.status_code == 404:
            return None
        found = response.json().get("Resources") or []
        return found[0].get("id") if found else None

    def create_group(self, group: PushGroup) -> str | None:
        body = {"schemas": [CORE_GROUP], "displayName": group.name, "members": []}
        return self.created_id(self.client.request("POST", "/Groups", body=body), "/Groups")

    def update_group(
        self, scim_id: str, group: PushGroup, *, renamed: bool, add: list[Member], remove: list[Member]
    ) -> bool:
        head = {"op": "replace", "value": {"id": scim_id, "displayName": group.name}}
        bodies: list[list[dict[str, Any]]] = []
        for batch in self.batches(remove):
            bodies.append(
                [head, *({"op": "remove", "path": f"members[value eq {quoted(m.id)}]"} for m in batch)]
            )
        for batch in self.batches(add):
            value = [{"value": m.id, "display": m.user_name} for m in batch]
            bodies.append([head, {"op": "add", "path": "members", "value": value}])
        if not bodies and renamed:
            bodies.append([head])
        ok = True
        for operations in bodies:
            ok = (
                self.client.request("PATCH", f"/Groups/{scim_id}", body=patch_body(operations)) is not None
                and ok
            )
        return ok
