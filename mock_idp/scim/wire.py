"""What every SCIM view shares: auth, the ``application/scim+json`` answers, RFC 7644
§3.12 errors, and :class:`Kind`, what differs between ``/Users`` and ``/Groups``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from collections.abc import Sequence
from typing import Any

from flask import Response
from flask import request

from mock_idp.auth_check import require_auth
from mock_idp.context import current
from mock_idp.scim.resources import group_version
from mock_idp.scim.resources import project
from mock_idp.scim.resources import render_groups
from mock_idp.scim.resources import render_users
from mock_idp.scim.resources import user_version
from mock_idp.scim.schemas import ERROR
from mock_idp.scim.schemas import GROUPS
from mock_idp.scim.schemas import MAX_RESULTS
from mock_idp.scim.schemas import USERS
from mock_idp.scim.schemas import Resolver
from mock_idp.state.directory import Directory
from mock_idp.state.directory import StateError

MEDIA_TYPE = "application/scim+json"
MAX_COUNT = MAX_RESULTS
# RFC 7644 §3.4.2.4, count: "If unspecified, the maximum number of results is set by
# the service provider."  It is the published filter.maxResults, so an unpaged list holds
# everything up to that, and what ServiceProviderConfig says is what a list does.
DEFAULT_COUNT = MAX_RESULTS
READ_SCOPES = ("scim.read", "scim.write")
WRITE_SCOPES = ("scim.write",)


class ScimError(Exception):
    """Raised by views; rendered per RFC 7644 §3.12."""

    def __init__(self, status: int, detail: str, scim_type: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.scim_type = scim_type


def scim_json(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A compact JSON answer typed ``application/scim+json`` (RFC 7644 §3.1)."""
    response = Response(json.dumps(body, separators=(",", ":")), status=status, mimetype=MEDIA_TYPE)
    response.headers.update(headers or {})
    return response


class ScimRenderer:
    """RFC 7644 §3.12 errors; a 429 with ``Retry-After``."""

    dialect = "scim"

    def error(self, status: int, message: str, *, code: str | None = None) -> Response:
        body: dict[str, Any] = {"schemas": [ERROR], "status": str(status)}
        if code:
            body["scimType"] = code
        body["detail"] = message
        return scim_json(body, status)

    def rate_limited(self, *, limit: int, reset_epoch: int, retry_after: int) -> Response:
        response = self.error(429, f"Too many requests; retry after {int(retry_after)} seconds.")
        response.headers["Retry-After"] = str(int(retry_after))
        return response

    def decorate(self, response: Response, *, limit: int, remaining: int, reset_epoch: int) -> None:
        """SCIM defines no rate-limit headers for ordinary answers."""


renderer = ScimRenderer()


def base_url() -> str:
    """The absolute ``/scim/v2`` root of this request, for ``meta.location`` and discovery."""
    return f"{request.url_root}scim/v2"


def authorize(scopes: tuple[str, ...]) -> Directory:
    """The directory, once the request's SCIM token holds one of ``scopes``."""
    require_auth("scim", scopes)
    return current().directory


def request_body() -> Any:
    """The JSON body, whatever its ``Content-Type``; 400 ``invalidSyntax`` when it is not JSON."""
    body = request.get_json(force=True, silent=True)
    if body is None:
        raise ScimError(400, "the request body is not valid JSON", "invalidSyntax")
    return body


class Kind:
    """What differs between /Users and /Groups."""

    def __init__(
        self,
        name: str,
        resolver: Resolver,
        render_many: Callable[[Directory, Sequence[Any]], list[dict[str, Any]]],
        snapshot: Callable[[Directory], tuple[Any, ...]],
        lookup: Callable[[Directory, str], Any],
        version: Callable[[Any], str],
    ) -> None:
        self.name = name
        self.resolver = resolver
        self.render_many = render_many
        self.snapshot = snapshot
        self.lookup = lookup
        self.version = version

    def render(self, directory: Directory, obj: Any) -> dict[str, Any]:
        return self.render_many(directory, [obj])[0]


USER_KIND = Kind(
    "User",
    USERS,
    lambda d, objs: render_users(d, objs, base_url()),
    lambda d: d.users_snapshot(),
    lambda d, i: d.user(i),
    user_version,
)
GROUP_KIND = Kind(
    "Group",
    GROUPS,
    lambda d, objs: render_groups(d, objs, base_url()),
    lambda d: d.groups_snapshot(),
    lambda d, i: d.group(i),
    group_version,
)


def split_names(raw: str | None) -> list[str] | None:
    """``attributes=a,b`` as a list; None when absent or empty."""
    return [p for p in raw.split(",") if p.strip()] if raw else None


def find_one(kind: Kind, directory: Directory, object_id: str) -> Any:
    """The user or group ``object_id``; a SCIM 404 when there is none."""
    try:
        return kind.lookup(directory, object_id)
    except StateError:
        raise ScimError(404, f"{kind.name} {object_id!r} not found") from None


def resource_response(kind: Kind, directory: Directory, obj: Any, status: int = 200) -> Response:
    """One resource, projected by ``attributes``/``excludedAttributes``, with its ``ETag``
    (and ``Location`` on a 201)."""
    resource = kind.render(directory, obj)
    resource = project(
        resource,
        kind.resolver,
        split_names(request.args.get("attributes")),
        split_names(request.args.get("excludedAttributes")),
    )
    headers = {"ETag": kind.version(obj)}
    if status == 201:
        headers["Location"] = f"{base_url()}/{kind.name}s/{obj.object_id}"
    return scim_json(resource, status, headers)
