"""The proxy and CA-bundle settings of the environment, read once per host for a session."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests


def environment_once_per_host(session: requests.Session) -> None:
    """Read the proxy and CA-bundle variables of the environment once per host, not per request.

    ``requests`` looks them up (``HTTPS_PROXY``, ``NO_PROXY``,
    ``REQUESTS_CA_BUNDLE``...) on every request, about a fifth of a
    millisecond each: a tenth of a 100k-user read.  What it found for a host is
    kept for the session's life.
    """
    merge = session.merge_environment_settings
    found: dict[tuple[Any, ...], dict[str, Any]] = {}

    def merged(url: str, proxies: Any, stream: Any, verify: Any, cert: Any) -> dict[str, Any]:
        if proxies or not session.trust_env:
            return merge(url, proxies, stream, verify, cert)
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc, stream, verify, cert)
        settings = found.get(key)
        if settings is None:
            settings = found[key] = merge(url, proxies, stream, verify, cert)
        return {**settings, "proxies": dict(settings["proxies"])}  # a copy each: requests may change it

    session.merge_environment_settings = merged  # type: ignore[method-assign]
