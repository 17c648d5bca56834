"""What the blueprints share: the app's mock state, and the contracts between modules.

``create_app`` stores one :class:`MockIdp` in ``app.extensions["mock_idp"]``;
views reach it through :func:`current`.  No module keeps a global.

Each dialect's views module (``okta.views``, ``graph.views``, ``scim.views``)
exposes ``blueprint`` and a :class:`DialectRenderer` named ``renderer``, through
which the fault engine and the auth layer answer in that dialect's own error shape.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import Protocol

from flask import Response
from flask import current_app

from mock_idp.state.directory import Dialect
from mock_idp.state.directory import Directory


class DialectRenderer(Protocol):
    """How one dialect answers errors and rate limits."""

    dialect: Dialect

    def error(self, status: int, message: str, *, code: str | None = None) -> Response:
        """An error response in the dialect's shape (Okta ``errorCode``/``errorSummary``,
        Graph ``{"error": {"code", "message", "innerError"}}``, SCIM RFC 7644 §3.12).
        ``code`` overrides the dialect's default code for ``status``."""
        ...

    def rate_limited(self, *, limit: int, reset_epoch: int, retry_after: int) -> Response:
        """The dialect's 429: Okta E0000047 with ``X-Rate-Limit-*`` (``Date`` comes from
        the server); Graph ``TooManyRequests`` with an integer ``Retry-After``; SCIM
        ``429`` with ``Retry-After``."""
        ...

    def decorate(self, response: Response, *, limit: int, remaining: int, reset_epoch: int) -> None:
        """Add the headers the dialect puts on *every* answer (Okta: ``X-Rate-Limit-Limit``,
        ``-Remaining``, ``-Reset``, ``X-Okta-Request-Id``); others may do nothing."""
        ...


class AuthFailure(Exception):
    """A request's credentials were refused; the dialect renders it.

    ``status`` is 401 (missing, unknown or expired token) or 403 (scope
    missing); ``code`` is the dialect's own error code, if any.
    """

    def __init__(self, status: int, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


@dataclass
class MockIdp:
    """Everything one running mock holds."""

    directory: Directory
    admin_token: str
    faults: Any = None  # mock_idp.faults.FaultEngine
    settings: dict[str, Any] = field(default_factory=dict)


def current() -> MockIdp:
    """The running app's mock state."""
    return current_app.extensions["mock_idp"]


_GRAPH_TOKEN_PATH = re.compile(r"^/[^/]+/(oauth2/v2\.0/token|v2\.0/\.well-known/openid-configuration)$")


def dialect_for_path(path: str) -> Dialect | None:
    """Which dialect serves ``path``; None for the admin plane and unknown paths.

    Okta lives at the host root (``/api/v1``, ``/oauth2/v1``), Graph under
    ``/v1.0`` with its token endpoint at ``/{tenant}/oauth2/v2.0/token``, SCIM
    under ``/scim``.
    """
    if path.startswith(("/api/v1/", "/oauth2/v1/")):
        return "okta"
    if path.startswith("/scim/"):
        return "scim"
    if path.startswith("/v1.0/") or path == "/v1.0" or _GRAPH_TOKEN_PATH.match(path):
        return "graph"
    return None
