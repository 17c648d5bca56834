"""Credentials go only to the origin they were configured for (docs/contract.md,
"Credentials bound to their origin").

One rule for next links (:mod:`connector.net.paging`) and redirects (:func:`follow_same_origin`):
the same scheme, host and port (RFC 6454, the default port filled in), or refused.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urljoin
from urllib.parse import urlsplit

import requests

from connector.errors import TerminalError

DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_REDIRECTS = 5
"""Same-origin redirects followed for one request."""


def origin(url: str) -> tuple[str, str, int | None]:
    """``(scheme, host, port)`` of ``url``, the default port filled in."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:  # a port that is not a number: an origin of its own, equal to none
        return scheme, (parts.hostname or "").lower(), -1
    return scheme, (parts.hostname or "").lower(), port if port is not None else DEFAULT_PORTS.get(scheme)


def same_origin(url: str, base_url: str) -> bool:
    """True when ``url`` has the scheme, host and port of ``base_url``."""
    return origin(url) == origin(base_url)


def host_of(url: str) -> str:
    """``host:port`` of ``url`` (never a user or password it may carry)."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{parts.hostname}:{port}" if port else str(parts.hostname)


def follow_same_origin(
    response: requests.Response, get: Callable[[str], requests.Response], directory_id: str | None
) -> requests.Response:
    """``response``, or where its same-origin redirects lead (``get`` fetches each, redirects not
    followed); a redirect to another origin raises :class:`TerminalError` and is not followed."""
    first = response.url
    for _ in range(MAX_REDIRECTS):
        if not response.is_redirect:
            return response
        target = urljoin(response.url, response.headers["Location"])
        if not same_origin(target, first):
            raise TerminalError(
                f"{urlsplit(first).path or '/'} redirected to {host_of(target)}, another origin; not "
                "followed (credentials go only to the origin they were configured for)",
                status=response.status_code,
                directory_id=directory_id,
            )
        response = get(target)
    if response.is_redirect:
        raise TerminalError(
            f"{urlsplit(first).path or '/'} redirected more than {MAX_REDIRECTS} times",
            status=response.status_code,
            directory_id=directory_id,
        )
    return response
