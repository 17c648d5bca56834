"""``startIndex`` and ``count`` of RFC 7644 §3.4.2.4, and the ListResponse they cut."""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

from connector.push.errors import ScimError

LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
MAX_COUNT = 200
"""The most resources one page holds (ServiceProviderConfig ``filter.maxResults``)."""


def _integer(args: Mapping[str, str], name: str, default: int) -> int:
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ScimError(400, f"{name} must be an integer, not {raw!r}", "invalidValue") from None


def page_bounds(args: Mapping[str, str]) -> tuple[int, int]:
    """``startIndex`` (below 1 is 1) and ``count`` (below 0 is 0, above the maximum is it)."""
    start = max(_integer(args, "startIndex", 1), 1)
    count = min(max(_integer(args, "count", MAX_COUNT), 0), MAX_COUNT)
    return start, count


def page_response(page: Sequence[dict[str, Any]], total: int, start: int) -> dict[str, Any]:
    """The ListResponse of one page of ``total`` resources, the first at ``start``."""
    return {
        "schemas": [LIST_SCHEMA],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": len(page),
        "Resources": list(page),
    }


def list_response(resources: Sequence[dict[str, Any]], args: Mapping[str, str]) -> dict[str, Any]:
    """The page of ``resources`` (all of them, filtered) that ``args`` ask for."""
    start, count = page_bounds(args)
    return page_response(resources[start - 1 : start - 1 + count], len(resources), start)
