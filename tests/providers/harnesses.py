"""Fakes of Okta, Graph and SCIM that render the kit's directory in each wire format.

They serve the conformance kit and the adapters' own unit tests.  Paging
gives a next link only while more remains; credentials are checked, so a
request without them is answered 401.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlencode
from urllib.parse import urlsplit

import requests
from joserfc import jwt
from joserfc.jwk import RSAKey

from connector.net.settings import AuthSettings
from connector.net.settings import HttpSettings
from connector.net.settings import Secret
from connector.providers.azure_ad import AzureADProvider
from connector.providers.base import ProviderSettings
from connector.providers.okta import OktaProvider
from connector.providers.scim import ScimProvider
from connector.testing import KitDirectory
from connector.testing import KitUser

Answer = tuple[int, dict[str, str], str]


def _query(request: requests.PreparedRequest) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlsplit(request.url).query).items()}


def _slice(items: list[Any], offset: int, size: int) -> tuple[list[Any], int | None]:
    page = items[offset : offset + size]
    nxt = offset + size if offset + size < len(items) else None
    return page, nxt


class OktaHarness:
    """Okta with an SSWS token; ``jwt_key`` switches to private_key_jwt."""

    base_url = "https://okta.test"
    members_paged = True
    nested_groups = False

    def __init__(self, jwt_key: RSAKey | None = None) -> None:
        self.jwt_key = jwt_key
        self.secret = "ssws-token-0123456789" if jwt_key is None else "never-sent"
        self.access_token = "okta-access-token-abcdef"
        self.assertions: list[dict[str, Any]] = []
        self.pem = jwt_key.as_pem(private=True).decode() if jwt_key is not None else ""
        if jwt_key is not None:
            self.secret = self.pem.splitlines()[2]

    def make_provider(self, http: HttpSettings, page_size: int) -> OktaProvider:
        if self.jwt_key is None:
            auth = AuthSettings("ssws", token=Secret(self.secret))
        else:
            auth = AuthSettings(
                "private_key_jwt", client_id="0oa-client", private_key=Secret(self.pem), key_id="kid-1"
            )
        return OktaProvider(ProviderSettings("okta-1", self.base_url, auth, page_size=page_size, http=http))

    def is_token_request(self, request: requests.PreparedRequest) -> bool:
        return urlsplit(request.url).path == "/oauth2/v1/token"

    def error(self, status: int, code: str, message: str) -> tuple[dict[str, str], str]:
        body = {
            "errorCode": code,
            "errorSummary": message,
            "errorLink": code,
            "errorId": "x",
            "errorCauses": [],
        }
        return {"Content-Type": "application/json"}, json.dumps(body)

    def _token(self, request: requests.PreparedRequest) -> Answer:
        form = {k: v[0] for k, v in parse_qs(request.body).items()}
        token = jwt.decode(form["client_assertion"], self.jwt_key)
        self.assertions.append({"header": token.header, "claims": token.claims, "form": form})
        body = {
            "token_type": "Bearer",
            "expires_in": 3600,
            "access_token": self.access_token,
            "scope": form["scope"],
        }
        return 200, {"Content-Type": "application/json"}, json.dumps(body)

    def serve(self, request: requests.PreparedRequest, directory: KitDirectory) -> Answer:
        if self.is_token_request(request):
            return self._token(request)
        expected = f"SSWS {self.secret}" if self.jwt_key is None else f"Bearer {self.access_token}"
        if request.headers.get("Authorization") != expected:
            return (401, *self.error(401, "E0000011", "Invalid token provided"))
        path = urlsplit(request.url).path
        query = _query(request)
        if path == "/api/v1/users":
            users = [u for u in directory.users if "filter" in query or u.status != "DEPROVISIONED"]
            return self._page(request, [self.user(u) for u in users], query)
        if path == "/api/v1/groups":
            groups = [
                {"id": g.id, "profile": {"name": g.name, "description": g.description}}
                for g in directory.groups
            ]
            return self._page(request, groups, query)
        if path.startswith("/api/v1/groups/") and path.endswith("/users"):
            group_id = path.split("/")[4]
            group = next((g for g in directory.groups if g.id == group_id), None)
            if group is None:
                return (
                    404,
                    *self.error(404, "E0000007", f"Not found: Resource not found: {group_id} (UserGroup)"),
                )
            members = [self.user(u) for u in directory.users if u.id in group.user_ids]
            return self._page(request, members, query)
        return (404, *self.error(404, "E0000022", "The endpoint does not support the provided HTTP method"))

    def _page(self, request: requests.PreparedRequest, items: list[Any], query: dict[str, str]) -> Answer:
        size = int(query.get("limit", 200))
        page, nxt = _slice(items, int(query.get("after", 0)), size)
        base = request.url.split("?")[0]
        link = f'<{request.url}>; rel="self"'
        if nxt is not None:
            rest = {k: v for k, v in query.items() if k != "after"}
            link += f', <{base}?{urlencode({**rest, "after": nxt})}>; rel="next"'
        return 200, {"Content-Type": "application/json", "Link": link}, json.dumps(page)

    @staticmethod
    def group(g: Any, stats: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"id": g.id, "profile": {"name": g.name, "description": g.description}}
        if stats:
            body["_embedded"] = {"stats": {"usersCount": len(g.user_ids)}}
        return body

    @staticmethod
    def user(u: KitUser) -> dict[str, Any]:
        return {
            "id": u.id,
            "status": u.status,
            "lastUpdated": "2024-05-05T18:15:44.000Z",
            "profile": {
                "login": u.user_name,
                "email": u.email,
                "firstName": u.given_name,
                "lastName": u.family_name,
            },
        }


class GraphHarness:
    """Graph with client-secret OAuth against ``/{tenant}/oauth2/v2.0/token`` on the same host."""

    base_url = "https://graph.test/v1.0"
    members_paged = True
    nested_groups = True

    def __init__(self) -> None:
        self.secret = "graph-client-secret-987654"
        self.access_token = "graph-access-token-xyz"
        self.token_forms: list[dict[str, str]] = []

    def make_provider(self, http: HttpSettings, page_size: int) -> AzureADProvider:
        auth = AuthSettings("client_secret", client_id="app-1", client_secret=Secret(self.secret))
        options = {"tenant": "tenant-1", "authority": "https://graph.test"}
        return AzureADProvider(
            ProviderSettings("graph-1", self.base_url, auth, page_size=page_size, http=http, options=options)
        )

    def is_token_request(self, request: requests.PreparedRequest) -> bool:
        return urlsplit(request.url).path == "/tenant-1/oauth2/v2.0/token"

    def error(self, status: int, code: str, message: str) -> tuple[dict[str, str], str]:
        return {"Content-Type": "application/json"}, json.dumps({"error": {"code": code, "message": message}})

    def serve(self, request: requests.PreparedRequest, directory: KitDirectory) -> Answer:
        if self.is_token_request(request):
            form = {k: v[0] for k, v in parse_qs(request.body).items()}
            self.token_forms.append(form)
            if form.get("client_secret") != self.secret:
                return 401, {}, json.dumps({"error": "invalid_client", "error_description": "AADSTS7000215"})
            body = {"token_type": "Bearer", "expires_in": 3599, "access_token": self.access_token}
            return 200, {"Content-Type": "application/json"}, json.dumps(body)
        if request.headers.get("Authorization") != f"Bearer {self.access_token}":
            return (401, *self.error(401, "InvalidAuthenticationToken", "Access token is empty."))
        path = urlsplit(request.url).path.removeprefix("/v1.0")
        query = _query(request)
        if path in ("/users/delta", "/groups/delta"):
            link = f"{self.base_url}{path}?$deltatoken=t1"
            return 200, {}, json.dumps({"value": [], "@odata.deltaLink": link})
        if path == "/users":
            return self._page(request, [self.user(u) for u in directory.users], query)
        if path == "/groups":
            groups = [
                {"id": g.id, "displayName": g.name, "description": g.description} for g in directory.groups
            ]
            return self._page(request, groups, query)
        if path.startswith("/groups/") and path.endswith("/members"):
            group = next((g for g in directory.groups if g.id == path.split("/")[2]), None)
            if group is None:
                return (404, *self.error(404, "Request_ResourceNotFound", "Resource does not exist."))
            members = [{"@odata.type": "#microsoft.graph.user", "id": m} for m in group.user_ids]
            members += [{"@odata.type": "#microsoft.graph.group", "id": m} for m in group.group_ids]
            members.append({"@odata.type": "#microsoft.graph.device", "id": "device-1"})
            return self._page(request, members, query)
        return (404, *self.error(404, "BadRequest", "Unsupported segment"))

    def _page(self, request: requests.PreparedRequest, items: list[Any], query: dict[str, str]) -> Answer:
        page, nxt = _slice(items, int(query.get("$skiptoken", 0)), int(query.get("$top", 100)))
        body: dict[str, Any] = {"@odata.context": "ctx", "value": page}
        if query.get("$count") == "true":
            body["@odata.count"] = len(items)
        if nxt is not None:
            rest = {k: v for k, v in query.items() if k != "$skiptoken"}
            body["@odata.nextLink"] = f"{request.url.split('?')[0]}?{urlencode({**rest, '$skiptoken': nxt})}"
        return 200, {"Content-Type": "application/json"}, json.dumps(body)

    @staticmethod
    def user(u: KitUser) -> dict[str, Any]:
        upn = f"{u.email.replace('@', '_')}#EXT#@contoso.onmicrosoft.com" if u.guest else u.user_name
        hide_mail = u.guest and int(u.id[1:]) % 10 == 0  # the email then comes from the UPN
        return {
            "id": u.id,
            "userPrincipalName": upn if u.guest else u.user_name,
            "mail": None if hide_mail else u.email,
            "otherMails": [],
            "givenName": u.given_name,
            "surname": u.family_name,
            "displayName": f"{u.given_name} {u.family_name}",
            "accountEnabled": u.active,
            "userType": "Guest" if u.guest else "Member",
        }


class ScimHarness:
    """SCIM 2.0 with a static bearer token."""

    base_url = "https://scim.test/scim/v2"
    members_paged = False
    nested_groups = True

    def __init__(self, filter_supported: bool = True) -> None:
        self.secret = "scim-bearer-token-55555"
        self.filter_supported = filter_supported

    def make_provider(self, http: HttpSettings, page_size: int) -> ScimProvider:
        auth = AuthSettings("bearer", token=Secret(self.secret))
        return ScimProvider(ProviderSettings("scim-1", self.base_url, auth, page_size=page_size, http=http))

    def is_token_request(self, request: requests.PreparedRequest) -> bool:
        return False

    def error(self, status: int, code: str, message: str) -> tuple[dict[str, str], str]:
        body = {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "status": str(status),
            "detail": message,
        }
        body["scimType"] = code
        return {"Content-Type": "application/scim+json"}, json.dumps(body)

    def serve(self, request: requests.PreparedRequest, directory: KitDirectory) -> Answer:
        if request.headers.get("Authorization") != f"Bearer {self.secret}":
            return (401, *self.error(401, "invalidToken", "Unauthorized"))
        path = urlsplit(request.url).path.removeprefix("/scim/v2")
        query = _query(request)
        if path == "/ServiceProviderConfig":
            return 200, {}, json.dumps({"filter": {"supported": self.filter_supported, "maxResults": 200}})
        if path == "/Users":
            return self._list([self.user(u) for u in directory.users], query)
        if path == "/Groups":
            with_members = query.get("excludedAttributes") != "members"
            return self._list([self.group(g, with_members) for g in directory.groups], query)
        if path.startswith("/Groups/"):
            group = next((g for g in directory.groups if g.id == path.split("/")[2]), None)
            if group is None:
                return 404, {}, json.dumps({"status": "404", "detail": "Resource not found"})
            return 200, {}, json.dumps(self.group(group, True))
        return 404, {}, json.dumps({"status": "404", "detail": "no such endpoint"})

    def _list(self, items: list[Any], query: dict[str, str]) -> Answer:
        start = max(1, int(query.get("startIndex", 1)))
        page = items[start - 1 : start - 1 + int(query.get("count", 100))]
        body = {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": len(items),
            "startIndex": start,
            "itemsPerPage": len(page),
            "Resources": page,
        }
        return 200, {"Content-Type": "application/scim+json"}, json.dumps(body)

    @staticmethod
    def user(u: KitUser) -> dict[str, Any]:
        emails = [
            {"value": f"alt.{u.email}", "type": "home"},
            {"value": u.email, "type": "work", "primary": True},
        ]
        return {
            "id": u.id,
            "userName": u.user_name,
            "active": u.active,
            "name": {"givenName": u.given_name, "familyName": u.family_name},
            "emails": emails,
            "meta": {"resourceType": "User", "lastModified": "2024-05-05T18:15:44Z"},
        }

    @staticmethod
    def group(g: Any, with_members: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": g.id,
            "displayName": g.name,
            "meta": {"lastModified": "2024-05-05T18:15:44Z"},
        }
        if with_members:
            body["members"] = [{"value": m, "type": "User"} for m in g.user_ids]
            body["members"] += [
                {"value": m, "$ref": f"https://scim.test/scim/v2/Groups/{m}"} for m in g.group_ids
            ]
        return body
