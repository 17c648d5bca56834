"""SCIM reads (RFC 7644 §3.4): ``ListResponse`` paging, filters, sorting, projection,
``POST /.search``, and a single resource with ``If-None-Match``.

``startIndex`` is 1-based, ``count`` is capped at ``filter.maxResults`` (1000), a
list without ``count`` holds that many, and ``count=0`` gives totals only.
Filtered and sorted lists are memoised with ``Directory.cached``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Response
from flask import g
from flask import request

from mock_idp.scim.filter import ScimFilterError
from mock_idp.scim.filter import compile_selection
from mock_idp.scim.resources import project
from mock_idp.scim.schemas import LIST_RESPONSE
from mock_idp.scim.wire import DEFAULT_COUNT
from mock_idp.scim.wire import MAX_COUNT
from mock_idp.scim.wire import READ_SCOPES
from mock_idp.scim.wire import USER_KIND
from mock_idp.scim.wire import Kind
from mock_idp.scim.wire import ScimError
from mock_idp.scim.wire import authorize
from mock_idp.scim.wire import find_one
from mock_idp.scim.wire import request_body
from mock_idp.scim.wire import resource_response
from mock_idp.scim.wire import scim_json
from mock_idp.scim.wire import split_names
from mock_idp.state.directory import Directory

_USER_NAME_EQ = re.compile(r'^\s*userName\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$', re.IGNORECASE)


def _int_param(raw: Any, name: str, default: int) -> int:
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise ScimError(400, f"{name} must be an integer, got {raw!r}", "invalidValue") from None


def matching(
    directory: Directory, kind: Kind, filter_text: str | None, sort_by: str | None, descending: bool
) -> tuple[Any, ...]:
    """The objects ``filter`` selects, sorted by ``sortBy``; memoised until the directory changes."""
    if filter_text is None and sort_by is None:
        return kind.snapshot(directory)
    if kind is USER_KIND and sort_by is None and filter_text is not None:
        match = _USER_NAME_EQ.match(filter_text)
        if match is not None:  # the provisioning clients' lookup, without rendering everyone
            user = directory.user_by_name(json.loads(f'"{match.group(1)}"'))
            return (user,) if user is not None else ()
    try:
        choose = compile_selection(filter_text, sort_by, descending, kind.resolver)
    except ScimFilterError as exc:
        raise ScimError(400, exc.message, exc.scim_type) from None

    def build() -> tuple[Any, ...]:
        objects = kind.snapshot(directory)
        return choose(objects, kind.render_many(directory, objects))

    return directory.cached(("scim", kind.name, filter_text, sort_by, descending), build)


def list_view(kind: Kind, params: Any) -> Response:
    """A ``ListResponse`` page; ``params`` are the query string or a ``SearchRequest`` body."""
    directory = authorize(READ_SCOPES)
    start = max(1, _int_param(params.get("startIndex"), "startIndex", 1))
    count = min(MAX_COUNT, max(0, _int_param(params.get("count"), "count", DEFAULT_COUNT)))
    order = (params.get("sortOrder") or "ascending").lower()
    if order not in ("ascending", "descending"):
        raise ScimError(400, f"sortOrder must be ascending or descending, got {order!r}", "invalidValue")
    items = matching(
        directory, kind, params.get("filter") or None, params.get("sortBy") or None, order == "descending"
    )
    window = items[start - 1 : start - 1 + count]
    shown = window[: len(window) // 2] if g.get("truncate_page") and len(window) > 1 else window
    attributes = params.get("attributes")
    excluded = params.get("excludedAttributes")
    attributes = attributes if isinstance(attributes, list) else split_names(attributes)
    excluded = excluded if isinstance(excluded, list) else split_names(excluded)
    resources = kind.render_many(directory, shown)
    body = {
        "schemas": [LIST_RESPONSE],
        "totalResults": len(items),
        "startIndex": start,
        "itemsPerPage": len(window),
        "Resources": [project(r, kind.resolver, attributes, excluded) for r in resources],
    }
    return scim_json(body)


def get_view(kind: Kind, object_id: str) -> Response:
    """One resource; 304 when ``If-None-Match`` names its version."""
    directory = authorize(READ_SCOPES)
    obj = find_one(kind, directory, object_id)
    if request.headers.get("If-None-Match") == kind.version(obj):
        return Response(status=304, headers={"ETag": kind.version(obj)})
    return resource_response(kind, directory, obj)


def search_view(kind: Kind) -> Response:
    """RFC 7644 §3.4.3: the query in a ``SearchRequest`` body."""
    body = request_body()
    if not isinstance(body, dict):
        raise ScimError(400, "a SearchRequest must be a JSON object", "invalidSyntax")
    return list_view(kind, body)
