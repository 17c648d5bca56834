"""Okta list paging: ``limit``/``after`` cursors, ``Link`` headers, ``filter``/``search`` parsing.

The ``after`` cursor is the ``id`` of the last object returned; lists are in
``id`` order, so a cursor stays valid while the directory changes.  ``Link``
headers come ``rel="self"`` first and ``rel="next"`` second, as two headers
(okta SDK 3.4.6 keeps only the last one).  When a fault sets
``flask.g.truncate_page``, the next link is left out and the listing ends early.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote
from urllib.parse import urlencode

from flask import Response
from flask import g
from flask import request

from mock_idp.okta.filter import FilterError
from mock_idp.okta.filter import compile_expression
from mock_idp.okta.objects import user_json
from mock_idp.okta.wire import BadRequest
from mock_idp.okta.wire import dumps
from mock_idp.state.directory import Directory
from mock_idp.state.directory import User


@dataclass(frozen=True)
class Listing:
    """Records in ``id`` order, with their ids for the cursor's binary search."""

    items: tuple[Any, ...]
    ids: tuple[str, ...]

    @classmethod
    def of(cls, records: Any) -> Listing:
        ordered = tuple(sorted(records, key=lambda record: record.okta_id))
        return cls(ordered, tuple(record.okta_id for record in ordered))


def page_limit(bounds: tuple[int, int]) -> int:
    """``limit`` from the query, ``bounds`` being (default, maximum); 400 when not a positive integer."""
    default, maximum = bounds
    raw = request.args.get("limit")
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"limit: {raw!r} is not an integer") from None
    if value < 1:
        raise BadRequest(f"limit: must be at least 1, got {value}")
    return min(value, maximum)


def predicate(kind: str, fields: Callable[[str], Any], *, ignore_case: bool) -> Callable[[Any], bool]:
    """The compiled ``filter`` or ``search`` (``kind``) of this request; 400 when it does not parse."""
    try:
        return compile_expression(request.args[kind], fields, ignore_case=ignore_case)
    except FilterError as exc:
        raise BadRequest(f"{kind}: {exc}") from None


def list_expression() -> tuple[str, str] | None:
    """``("filter"|"search", text)`` for this request, or None for a plain list."""
    given = [kind for kind in ("filter", "search") if request.args.get(kind)]
    if len(given) > 1:
        raise BadRequest("search: use either filter or search, not both")
    return (given[0], request.args[given[0]]) if given else None


def filtered_page(
    directory: Directory,
    cache_key: str,
    snapshot: Callable[[], tuple[Any, ...]],
    limit_bounds: tuple[int, int],
    render: Callable[[Any], str],
    *,
    plain: Callable[[Any], bool],
    filter_field: Callable[[str], Any],
    search_fields: Callable[[], Callable[[str], Any]],
) -> Response:
    """One page of the objects the request's ``filter`` (case-sensitive) or ``search``
    (case-insensitive) selects, or ``plain`` keeps without either; each selection is
    built once per directory version under ``(cache_key, expression)``.  ``search_fields``
    makes the search's field lookup, only when a search is given."""
    limit = page_limit(limit_bounds)
    expression = list_expression()
    if expression is None:
        keep = plain
    elif expression[0] == "filter":
        keep = predicate("filter", filter_field, ignore_case=False)
    else:
        keep = predicate("search", search_fields(), ignore_case=True)
    listing = directory.cached(
        (cache_key, expression), lambda: Listing.of(obj for obj in snapshot() if keep(obj))
    )
    return page(listing, limit, render)


def page(listing: Listing, limit: int, render: Callable[[Any], str], *, pageable: bool = True) -> Response:
    """One page from ``after`` on, with ``Link`` headers: ``self`` then (if more) ``next``.
    ``render`` gives each item's JSON text."""
    after = request.args.get("after") if pageable else None
    if after is not None and not (len(after) == 20 and after.isascii() and after.isalnum()):
        # a cursor this list never gave (an Okta id): refused, never read as the end of the list
        raise BadRequest(f"after: {after[:40]!r} is not a cursor from this list's Link header")
    start = bisect_right(listing.ids, after) if after else 0
    chunk = listing.items[start : start + limit]
    response = Response("[" + ",".join(render(item) for item in chunk) + "]", mimetype="application/json")
    base = request.host_url.rstrip("/") + request.path
    query = request.query_string.decode("latin-1")
    response.headers.add("Link", f'<{base}{"?" + query if query else ""}>; rel="self"')
    if pageable and chunk and start + limit < len(listing.items) and not g.get("truncate_page"):
        params = {k: request.args[k] for k in ("filter", "search", "expand") if request.args.get(k)}
        params.update(after=chunk[-1].okta_id, limit=str(limit))
        query = urlencode(params, quote_via=quote)  # %20, as Okta encodes spaces in its links
        response.headers.add("Link", f'<{base}?{query}>; rel="next"')
    return response


def user_renderer(directory: Directory) -> Callable[[User], str]:
    """A user's list JSON, memoised per user until the directory next changes, so
    paging 100k users re-encodes nothing it has sent before."""
    host = request.host_url
    memo: dict[str, str] = directory.cached(("okta.user_json", host), dict)

    def render(user: User) -> str:
        text = memo.get(user.object_id)
        if text is None:
            text = memo[user.object_id] = dumps(user_json(user, directory, host))
        return text

    return render


def prefix_match(query: str, *values: str | None) -> bool:
    """``q``: does any of ``values`` start with ``query``, ignoring case?"""
    query = query.lower()
    return any(value is not None and value.lower().startswith(query) for value in values)
