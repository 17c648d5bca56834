"""SCIM errors as RFC 7644 §3.12 has them: a status, a ``scimType`` and a detail."""

from __future__ import annotations

from typing import Any

SCIM_MEDIA_TYPE = "application/scim+json"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


class ScimError(Exception):
    """A request the service refuses; rendered by :meth:`body` with ``status`` as a string."""

    def __init__(
        self, status: int, detail: str, scim_type: str | None = None, *, retry_after: int | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.scim_type = scim_type
        self.retry_after = retry_after  # seconds, sent as Retry-After (a 503 the client should retry)

    def body(self) -> dict[str, Any]:
        """The Error message (``status`` a string, as RFC 7644 §3.12 writes it)."""
        body: dict[str, Any] = {"schemas": [ERROR_SCHEMA], "status": str(self.status), "detail": self.detail}
        if self.scim_type:
            body["scimType"] = self.scim_type
        return body


def not_found(what: str) -> ScimError:
    return ScimError(404, f"{what} not found")


def invalid_value(detail: str) -> ScimError:
    return ScimError(400, detail, "invalidValue")
