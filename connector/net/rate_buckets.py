"""Rate-limit buckets: which budget a request counts against.

Okta keeps one budget per endpoint family (``/api/v1/users``, ``/api/v1/groups``,
``/api/v1/groups/{id}/users``, ``/api/v1/logs``; idp-wire-protocols §1.8), announced in the
``X-Rate-Limit-*`` headers of each answer, and Graph throttles per resource.  A bucket that
runs low pauses its own requests (:mod:`connector.net.http`), never another's.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_VERSION = re.compile(r"v\d+(\.\d+)?$")


def rate_bucket(url: str) -> str:
    """The request's path with object ids left out: after the API version segment, collections
    and ids alternate, and every id becomes ``*`` (``/api/v1/groups/*/users``)."""
    segments = [s for s in urlsplit(url).path.split("/") if s]
    start = next((i + 1 for i, s in enumerate(segments) if _VERSION.match(s)), 0)
    return "/" + "/".join(
        "*" if i >= start and (i - start) % 2 == 1 else seg for i, seg in enumerate(segments)
    )
