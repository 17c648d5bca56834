"""The floor: every user, group and membership paged with plain ``requests`` and nothing else.

Each reader asks exactly what the connector's adapter asks (same URLs, page
sizes, ``$select``/``excludedAttributes``), parses the JSON, follows the
dialect's own paging (Okta ``Link: rel="next"``, Graph ``@odata.nextLink``,
SCIM ``startIndex``), and keeps only counts: no mapping, no records, no
retries.  It is the cost of the wire and the mock, which a sync cannot beat.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from typing import Any

import requests

from connector.providers.azure_ad import GROUP_FIELDS
from connector.providers.azure_ad import USER_FIELDS
from connector.providers.okta import ALL_USERS_FILTER

PAGE = {"okta": 200, "azure_ad": 999, "scim": 1000}


@dataclass
class FloorCount:
    """What one floor read saw; ``member_counts`` holds each group's direct member count."""

    users: int = 0
    groups: int = 0
    memberships: int = 0
    requests: int = 0
    token_calls: int = 0
    member_counts: list[int] = field(default_factory=list)

    def minimum_requests(self, dialect: str) -> int:
        """⌈U/page⌉ + ⌈G/page⌉ + Σ⌈members/page⌉ + token calls (an empty list is still one page).

        SCIM does not page a group's ``members`` (RFC 7644 §3.4.2.4 pages
        lists, not attributes): one ``GET /Groups/{id}`` per group.
        """
        page = PAGE[dialect]

        def pages(n: int) -> int:
            return max(1, math.ceil(n / page))

        members = sum(1 if dialect == "scim" else pages(n) for n in self.member_counts)
        return pages(self.users) + pages(self.groups) + members + self.token_calls


class _Session:
    def __init__(self, headers: dict[str, str]) -> None:
        self.session = requests.Session()
        self.session.headers.update(headers)
        self.requests = 0

    def get(self, url: str, params: dict[str, Any] | None = None, **kw: Any) -> requests.Response:
        self.requests += 1
        response = self.session.get(url, params=params, timeout=(10, 120), **kw)
        response.raise_for_status()
        return response


def _okta_pages(http: _Session, url: str, params: dict[str, Any]) -> Iterator[list[Any]]:
    next_url: str | None = url
    query: dict[str, Any] | None = params
    while next_url:
        response = http.get(next_url, query)
        yield response.json()
        next_url, query = response.links.get("next", {}).get("url"), None


def read_okta(url: str, token: str) -> FloorCount:
    http = _Session({"Authorization": f"SSWS {token}", "Accept": "application/json"})
    count = FloorCount()
    for page in _okta_pages(http, f"{url}/api/v1/users", {"limit": 200, "filter": ALL_USERS_FILTER}):
        count.users += len(page)
    group_ids = []
    for page in _okta_pages(http, f"{url}/api/v1/groups", {"limit": 200, "expand": "stats"}):
        group_ids += [g["id"] for g in page]
    for group_id in group_ids:
        n = sum(len(p) for p in _okta_pages(http, f"{url}/api/v1/groups/{group_id}/users", {"limit": 200}))
        count.member_counts.append(n)
    return _finish(count, http, len(group_ids))


def _graph_pages(http: _Session, url: str, params: dict[str, Any]) -> Iterator[list[Any]]:
    next_url: str | None = url
    query: dict[str, Any] | None = {**params, "$count": "true"}
    while next_url:
        data = http.get(next_url, query, headers={"ConsistencyLevel": "eventual"}).json()
        yield data["value"]
        next_url, query = data.get("@odata.nextLink"), None


def read_graph(url: str, tenant: str, client_id: str, secret: str) -> FloorCount:
    token_response = requests.post(
        f"{url}/{tenant}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": secret,
            "scope": "https://graph.microsoft.com/.default",
        },
        timeout=30,
    )
    token_response.raise_for_status()
    http = _Session({"Authorization": f"Bearer {token_response.json()['access_token']}"})
    count = FloorCount(token_calls=1)
    base = f"{url}/v1.0"
    for page in _graph_pages(http, f"{base}/users", {"$select": USER_FIELDS, "$top": 999}):
        count.users += len(page)
    group_ids = []
    for page in _graph_pages(http, f"{base}/groups", {"$select": GROUP_FIELDS, "$top": 999}):
        group_ids += [g["id"] for g in page]
    for group_id in group_ids:
        pages = _graph_pages(http, f"{base}/groups/{group_id}/members", {"$select": "id", "$top": 999})
        count.member_counts.append(sum(len(p) for p in pages))
    http.requests += 1  # the token call
    return _finish(count, http, len(group_ids))


def _scim_pages(http: _Session, url: str, params: dict[str, Any]) -> Iterator[list[Any]]:
    start, total = 1, None
    while total is None or start <= total:
        data = http.get(url, {**params, "startIndex": start, "count": 1000}).json()
        total, resources = data["totalResults"], data.get("Resources", [])
        if not resources:
            return
        start += len(resources)
        yield resources


def read_scim(url: str, token: str) -> FloorCount:
    http = _Session({"Authorization": f"Bearer {token}", "Accept": "application/scim+json"})
    count = FloorCount()
    base = f"{url}/scim/v2"
    for page in _scim_pages(http, f"{base}/Users", {"excludedAttributes": "groups"}):
        count.users += len(page)
    group_ids = []
    for page in _scim_pages(http, f"{base}/Groups", {"excludedAttributes": "members"}):
        group_ids += [g["id"] for g in page]
    for group_id in group_ids:
        count.member_counts.append(len(http.get(f"{base}/Groups/{group_id}").json().get("members") or []))
    return _finish(count, http, len(group_ids))


def _finish(count: FloorCount, http: _Session, groups: int) -> FloorCount:
    count.groups = groups
    count.memberships = sum(count.member_counts)
    count.requests = http.requests
    http.session.close()
    return count


READERS: dict[str, Callable[..., FloorCount]] = {"okta": read_okta, "azure_ad": read_graph, "scim": read_scim}
