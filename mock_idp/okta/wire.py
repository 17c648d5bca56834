"""Okta's wire shapes: compact JSON, the error body, rate-limit headers, request ids.

Errors are ``{errorCode, errorSummary, errorLink, errorId, errorCauses}``
(OKTA-SPEC ``Error``); every answer carries ``X-Rate-Limit-*``,
``X-Okta-Request-Id`` and ``Date`` (wire protocols §1.8).
"""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import Sequence
from typing import Any

from flask import Response
from werkzeug.http import http_date

_DEFAULT_CODES = {
    400: ("E0000001", "Api validation failed"),
    401: ("E0000011", "Invalid token provided"),
    403: ("E0000006", "You do not have permission to perform the requested action"),
    404: ("E0000007", "Not found"),
    405: ("E0000022", "The endpoint does not support the provided HTTP method"),
    429: ("E0000047", "API call exceeded rate limit due to too many requests."),
    500: ("E0000009", "Internal Server Error"),
    503: ("E0000010", "Service is temporarily unavailable"),
}
_ID_ALPHABET = string.ascii_letters + string.digits


def dumps(body: Any) -> str:
    """Compact JSON, as Okta sends it."""
    return json.dumps(body, separators=(",", ":"))


def json_response(body: Any, status: int = 200) -> Response:
    """A compact ``application/json`` answer."""
    return Response(dumps(body), status=status, mimetype="application/json")


def request_id() -> str:
    """A fresh 27-character id for ``X-Okta-Request-Id`` and ``errorId``."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(27))


class OktaRenderer:
    """Okta's error body ``{errorCode, errorSummary, errorLink, errorId, errorCauses}``
    (OKTA-SPEC ``Error``)."""

    dialect = "okta"

    def error(
        self, status: int, message: str, *, code: str | None = None, causes: Sequence[str] = ()
    ) -> Response:
        """``message`` is the ``errorSummary``; ``code`` defaults by status (E0000001, E0000011,
        E0000006, E0000007, E0000047…); ``causes`` become ``errorCauses``."""
        default_code, _ = _DEFAULT_CODES.get(status, ("E0000009", ""))
        code = code or default_code
        body = {
            "errorCode": code,
            "errorSummary": message,
            "errorLink": code,
            "errorId": "oae" + request_id()[:22],
            "errorCauses": [{"errorSummary": cause} for cause in causes],
        }
        return json_response(body, status)

    def rate_limited(self, *, limit: int, reset_epoch: int, retry_after: int) -> Response:
        """429 E0000047 with ``X-Rate-Limit-*`` (remaining 0) and ``Date``: the SDK needs both
        ``Date`` and ``X-Rate-Limit-Reset`` to compute its wait (wire protocols §1.8)."""
        response = self.error(429, _DEFAULT_CODES[429][1], code="E0000047")
        self.decorate(response, limit=limit, remaining=0, reset_epoch=reset_epoch)
        return response

    def decorate(self, response: Response, *, limit: int, remaining: int, reset_epoch: int) -> None:
        """Rate-limit headers (overwritten), plus ``X-Okta-Request-Id`` and ``Date`` when absent."""
        response.headers["X-Rate-Limit-Limit"] = str(limit)
        response.headers["X-Rate-Limit-Remaining"] = str(remaining)
        response.headers["X-Rate-Limit-Reset"] = str(reset_epoch)
        response.headers.setdefault("X-Okta-Request-Id", request_id())
        response.headers.setdefault("Date", http_date())


renderer = OktaRenderer()


def not_found(object_id: str, kind: str) -> Response:
    """404 E0000007 naming the missing resource, as Okta words it."""
    return renderer.error(404, f"Not found: Resource not found: {object_id} ({kind})", code="E0000007")


def invalid(detail: str) -> Response:
    """400 E0000001 with ``detail`` (``field: problem``) as its one ``errorCause``."""
    field = detail.split(":", 1)[0]
    return renderer.error(400, f"Api validation failed: {field}", code="E0000001", causes=[detail])


class BadRequest(Exception):
    """A query parameter Okta refuses; the blueprint answers it with :func:`invalid`."""
