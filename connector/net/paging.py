"""Paging generators that follow the server's own next links, one page in memory.

A sequence that ends early is an error, never a shorter directory
(:class:`~connector.errors.IncompleteReadError`): downstream a short read
would look like people leaving.

* Okta: a bare JSON array per page; the next page is the ``Link`` header with
  ``rel="next"`` (Okta sends ``self`` and ``next`` as separate headers).
* Graph: ``{"value": [...], "@odata.nextLink": ...}``; a delta sequence ends
  with ``@odata.deltaLink`` on its last page.
* SCIM: ``ListResponse`` with 1-based ``startIndex`` and ``totalResults``
  (RFC 7644 §3.4.2.4); a page that comes back empty before ``totalResults``
  is reached, or a total that shrinks mid-read, raises.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from connector.errors import IncompleteReadError
from connector.errors import ShortListError
from connector.net.http import HttpClient
from connector.net.origins import same_origin


def _check_next(http: HttpClient, next_url: str, current: str, base_url: str) -> None:
    if not same_origin(next_url, base_url):
        raise IncompleteReadError(
            "a next link points to another host; refusing to send credentials there",
            directory_id=http.directory_id,
        )
    if next_url == current:
        raise IncompleteReadError(
            "a next link points to the page it came from; the sequence would never end",
            directory_id=http.directory_id,
        )


def okta_pages(http: HttpClient, url: str, params: dict[str, Any], base_url: str) -> Iterator[list[Any]]:
    """Pages of an Okta list, following ``Link: <…>; rel="next"`` until there is none.

    A *full* page without a next link is ambiguous: the end of an exact
    multiple of the page size, or a next link that went missing.  One more
    request from the last ``id`` (Okta's ``after`` cursor is the last id
    returned) settles it; a non-empty answer raises.
    """
    current: str | None = url
    query: dict[str, Any] | None = params
    while current:
        data, response = http.get_json(current, query)
        if not isinstance(data, list):
            raise IncompleteReadError(
                f"Okta answered a list request with {type(data).__name__}, not a JSON array",
                directory_id=http.directory_id,
            )
        yield data
        next_url = response.links.get("next", {}).get("url")
        if next_url:
            _check_next(http, next_url, response.url, base_url)
        elif _full(data, params.get("limit")):
            more, _ = http.get_json(url, {**params, "after": data[-1]["id"]})
            if more:
                raise IncompleteReadError(
                    "an Okta list ended on a full page without a next link, yet more objects follow",
                    directory_id=http.directory_id,
                )
        current, query = next_url, None


def _full(page: list[Any], limit: Any) -> bool:
    try:
        size = int(limit)
    except (TypeError, ValueError):
        return False
    return bool(page) and len(page) >= size and isinstance(page[-1], dict) and bool(page[-1].get("id"))


@dataclass
class GraphPage:
    """One page of a Graph collection; ``delta_link`` is set on a delta sequence's last page."""

    values: list[Any]
    delta_link: str | None = None


def graph_pages(
    http: HttpClient,
    url: str,
    params: dict[str, Any] | None,
    base_url: str,
    *,
    delta: bool = False,
    counted: bool = False,
) -> Iterator[GraphPage]:
    """Pages of a Graph collection, following ``@odata.nextLink`` verbatim.

    With ``delta`` the last page must carry ``@odata.deltaLink``
    (delta-query-overview); a sequence without one raises.  With ``counted``
    the first request asks for ``$count=true`` (an advanced query, so with
    ``ConsistencyLevel: eventual``, user-list.md), and a sequence that ends
    with fewer objects than ``@odata.count`` raises: a missing next link
    cannot otherwise be told from the end.
    """
    current: str | None = url
    query = dict(params or {}) or None
    headers = None
    if counted:
        query = {**(query or {}), "$count": "true"}
        headers = {"ConsistencyLevel": "eventual"}
    expected: int | None = None
    seen = 0
    while current:
        data, response = http.get_json(current, query, headers)
        if not isinstance(data, dict) or not isinstance(data.get("value", None), list):
            raise IncompleteReadError(
                "Graph answered without a 'value' array", directory_id=http.directory_id
            )
        if counted and expected is None and isinstance(data.get("@odata.count"), int):
            expected = data["@odata.count"]
        seen += len(data["value"])
        next_url = data.get("@odata.nextLink")
        delta_link = data.get("@odata.deltaLink")
        if next_url:
            _check_next(http, next_url, response.url, base_url)
        elif delta and not delta_link:
            raise IncompleteReadError(
                "a Graph delta sequence ended without @odata.deltaLink", directory_id=http.directory_id
            )
        elif expected is not None and seen < expected:
            raise ShortListError(
                f"a Graph list ended after {seen} of {expected} objects (@odata.count)",
                directory_id=http.directory_id,
            )
        yield GraphPage(data["value"], None if next_url else delta_link)
        current, query = next_url, None


def scim_pages(http: HttpClient, url: str, params: dict[str, Any], count: int) -> Iterator[list[Any]]:
    """Pages of a SCIM list, by ``startIndex``/``count`` until ``totalResults`` are read."""
    start = 1
    seen = 0
    total: int | None = None
    while True:
        data, _ = http.get_json(url, {**params, "startIndex": start, "count": count})
        if not isinstance(data, dict) or not isinstance(data.get("totalResults"), int):
            raise IncompleteReadError(
                "SCIM answered a list request without an integer totalResults",
                directory_id=http.directory_id,
            )
        page_total = data["totalResults"]
        resources = data.get("Resources", [])
        if not isinstance(resources, list):
            raise IncompleteReadError("SCIM 'Resources' is not an array", directory_id=http.directory_id)
        if total is not None and page_total < total:
            raise IncompleteReadError(
                f"SCIM totalResults shrank from {total} to {page_total} during the read; "
                "index paging may have skipped resources",
                directory_id=http.directory_id,
            )
        total = page_total
        if not resources and seen < total:
            raise IncompleteReadError(
                f"SCIM list ended at {seen} of {total} resources (empty page at startIndex {start})",
                directory_id=http.directory_id,
            )
        yield resources
        seen += len(resources)
        start += len(resources)
        if seen >= total:
            return
