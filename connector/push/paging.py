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


def list_response(resources: Sequence[dict[str, Any]], args: Mapping[str, str]) -> dict[str, Any]:
    """One page: ``startIndex`` below 1 is 1, ``count`` below 0 is 0 and above the maximum is it."""
    start = max(_integer(args, "startIndex", 1), 1)
    count = min(max(_integer(args, "count", MAX_COUNT), 0), MAX_COUNT)
    page = list(resources[start - 1 : start - 1 + count])
    return {
        "schemas": [LIST_SCHEMA],
        "totalResults": len(resources),
        "startIndex": start,
        "itemsPerPage": len(page),
        "Resources": page,
    }
