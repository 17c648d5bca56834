"""SCIM 2.0 (RFC 7643 / RFC 7644) over the directory, under ``/scim/v2``.

Reads: discovery documents, ``ListResponse`` paging (1-based ``startIndex``,
``count`` capped at 1000, ``count=0`` for totals only), ``filter`` with the
full RFC grammar (:mod:`mock_idp.scim_filter`), ``sortBy``/``sortOrder``,
``attributes``/``excludedAttributes``, ``POST /.search``.  Writes: POST, PUT,
PATCH (:mod:`mock_idp.scim_patch`), DELETE, with ``If-Match`` ETags.  Errors
follow RFC 7644 §3.12 with ``status`` as a string and ``application/scim+json``.

SCIM ``active`` maps onto the directory's Okta statuses: a write that sets
``active: false`` suspends (``SUSPENDED``), ``true`` activates (``ACTIVE``);
a write that leaves ``active`` as it was keeps the status (so a
``DEPROVISIONED`` user stays deprovisioned, and shows ``active: false``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from collections.abc import Sequence
from typing import Any

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import g
from flask import request
from werkzeug.exceptions import HTTPException

from mock_idp.context import AuthFailure
from mock_idp.context import current
from mock_idp.oauth import auth_failure_response
from mock_idp.oauth import require_auth
from mock_idp.scim_filter import ScimFilterError
from mock_idp.scim_filter import compile_selection
from mock_idp.scim_patch import ScimWriteError
from mock_idp.scim_patch import apply_patch
from mock_idp.scim_patch import group_members
from mock_idp.scim_patch import normalize
from mock_idp.scim_patch import user_fields
from mock_idp.scim_schemas import ERROR
from mock_idp.scim_schemas import GROUPS
from mock_idp.scim_schemas import LIST_RESPONSE
from mock_idp.scim_schemas import SCHEMAS
from mock_idp.scim_schemas import USERS
from mock_idp.scim_schemas import Resolver
from mock_idp.scim_schemas import group_version
from mock_idp.scim_schemas import project
from mock_idp.scim_schemas import render_groups
from mock_idp.scim_schemas import render_users
from mock_idp.scim_schemas import resource_types
from mock_idp.scim_schemas import schema_documents
from mock_idp.scim_schemas import service_provider_config
from mock_idp.scim_schemas import user_version
from mock_idp.state import Directory
from mock_idp.state import StateError

blueprint = Blueprint("scim", __name__, url_prefix="/scim/v2")

MEDIA_TYPE = "application/scim+json"
DEFAULT_COUNT = 100
MAX_COUNT = 1000
READ_SCOPES = ("scim.read", "scim.write")
WRITE_SCOPES = ("scim.write",)
_USER_NAME_EQ = re.compile(r'^\s*userName\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$', re.IGNORECASE)
_STATE_ERRORS = {"not_found": (404, None), "conflict": (409, "uniqueness"), "invalid": (400, "invalidValue")}


class ScimError(Exception):
    """Raised by views; rendered per RFC 7644 §3.12."""

    def __init__(self, status: int, detail: str, scim_type: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.scim_type = scim_type


def _scim_json(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
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
        return _scim_json(body, status)

    def rate_limited(self, *, limit: int, reset_epoch: int, retry_after: int) -> Response:
        response = self.error(429, f"Too many requests; retry after {int(retry_after)} seconds.")
        response.headers["Retry-After"] = str(int(retry_after))
        return response

    def decorate(self, response: Response, *, limit: int, remaining: int, reset_epoch: int) -> None:
        """SCIM defines no rate-limit headers for ordinary answers."""


renderer = ScimRenderer()


@blueprint.errorhandler(ScimError)
def _scim_error(exc: ScimError) -> Response:
    return renderer.error(exc.status, exc.detail, code=exc.scim_type)


@blueprint.errorhandler(ScimWriteError)
def _write_error(exc: ScimWriteError) -> Response:
    return renderer.error(exc.status, exc.message, code=exc.scim_type)


@blueprint.errorhandler(StateError)
def _state_error(exc: StateError) -> Response:
    status, scim_type = _STATE_ERRORS.get(exc.kind, (400, "invalidValue"))
    return renderer.error(status, exc.message, code=scim_type)


@blueprint.errorhandler(AuthFailure)
def _auth_failure(exc: AuthFailure) -> Response:
    return auth_failure_response(exc, renderer)


def _base() -> str:
    return f"{request.url_root}scim/v2"


def _auth(scopes: tuple[str, ...]) -> Directory:
    require_auth("scim", scopes)
    return current().directory


def _body() -> Any:
    body = request.get_json(force=True, silent=True)
    if body is None:
        raise ScimError(400, "the request body is not valid JSON", "invalidSyntax")
    return body


# ---------------------------------------------------------------- discovery


@blueprint.get("/ServiceProviderConfig")
def get_service_provider_config() -> Response:
    _auth(READ_SCOPES)
    return _scim_json(service_provider_config(_base()))


def _list_of(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "schemas": [LIST_RESPONSE],
        "totalResults": len(items),
        "startIndex": 1,
        "itemsPerPage": len(items),
        "Resources": items,
    }


@blueprint.get("/ResourceTypes")
def list_resource_types() -> Response:
    _auth(READ_SCOPES)
    return _scim_json(_list_of(resource_types(_base())))


@blueprint.get("/ResourceTypes/<name>")
def get_resource_type(name: str) -> Response:
    _auth(READ_SCOPES)
    found = next((r for r in resource_types(_base()) if r["id"] == name), None)
    if found is None:
        raise ScimError(404, f"no resource type {name!r}; known: User, Group")
    return _scim_json(found)


@blueprint.get("/Schemas")
def list_schemas() -> Response:
    _auth(READ_SCOPES)
    return _scim_json(_list_of(schema_documents(_base())))


@blueprint.get("/Schemas/<urn>")
def get_schema(urn: str) -> Response:
    _auth(READ_SCOPES)
    found = next((s for s in schema_documents(_base()) if s["id"] == urn), None)
    if found is None:
        raise ScimError(404, f"no schema {urn!r}; known: {', '.join(SCHEMAS)}")
    return _scim_json(found)


@blueprint.route("/Me", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def me() -> Response:
    """RFC 7644 §3.11: a provider that does not support ``/Me`` answers 501."""
    _auth(READ_SCOPES)
    raise ScimError(501, "/Me is not supported: the bearer token does not stand for a user")


@blueprint.post("/.search")
def search_everything() -> Response:
    _auth(READ_SCOPES)
    raise ScimError(
        501, "searching every resource type at once is not supported; POST /Users/.search or /Groups/.search"
    )


@blueprint.route("/<path:unknown>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unknown_endpoint(unknown: str) -> Response:
    """Any other path or method under ``/scim/v2`` answers a SCIM 404 or 405, not an HTML page."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    allowed = []
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        try:
            endpoint, _ = adapter.match(method=method)
        except HTTPException:
            continue
        if endpoint != request.endpoint:
            allowed.append(method)
    if allowed:
        response = renderer.error(405, f"{request.method} is not allowed here; use {', '.join(allowed)}")
        response.headers["Allow"] = ", ".join(allowed)
        return response
    raise ScimError(404, f"no SCIM endpoint /{unknown}; see /ResourceTypes")


@blueprint.post("/Bulk")
def bulk() -> Response:
    _auth(WRITE_SCOPES)
    raise ScimError(501, "bulk operations are not supported (ServiceProviderConfig bulk.supported is false)")


# ---------------------------------------------------------------- rendering and lookup


class _Kind:
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


USER_KIND = _Kind(
    "User",
    USERS,
    lambda d, objs: render_users(d, objs, _base()),
    lambda d: d.users_snapshot(),
    lambda d, i: d.user(i),
    user_version,
)
GROUP_KIND = _Kind(
    "Group",
    GROUPS,
    lambda d, objs: render_groups(d, objs, _base()),
    lambda d: d.groups_snapshot(),
    lambda d, i: d.group(i),
    group_version,
)


def _split(raw: str | None) -> list[str] | None:
    return [p for p in raw.split(",") if p.strip()] if raw else None


def _int(raw: Any, name: str, default: int) -> int:
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise ScimError(400, f"{name} must be an integer, got {raw!r}", "invalidValue") from None


def _matching(
    directory: Directory, kind: _Kind, filter_text: str | None, sort_by: str | None, descending: bool
) -> tuple[Any, ...]:
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


def _list(kind: _Kind, params: Any) -> Response:
    directory = _auth(READ_SCOPES)
    start = max(1, _int(params.get("startIndex"), "startIndex", 1))
    count = min(MAX_COUNT, max(0, _int(params.get("count"), "count", DEFAULT_COUNT)))
    order = (params.get("sortOrder") or "ascending").lower()
    if order not in ("ascending", "descending"):
        raise ScimError(400, f"sortOrder must be ascending or descending, got {order!r}", "invalidValue")
    items = _matching(
        directory, kind, params.get("filter") or None, params.get("sortBy") or None, order == "descending"
    )
    window = items[start - 1 : start - 1 + count]
    shown = window[: len(window) // 2] if g.get("truncate_page") and len(window) > 1 else window
    attributes = params.get("attributes")
    excluded = params.get("excludedAttributes")
    attributes = attributes if isinstance(attributes, list) else _split(attributes)
    excluded = excluded if isinstance(excluded, list) else _split(excluded)
    resources = kind.render_many(directory, shown)
    body = {
        "schemas": [LIST_RESPONSE],
        "totalResults": len(items),
        "startIndex": start,
        "itemsPerPage": len(window),
        "Resources": [project(r, kind.resolver, attributes, excluded) for r in resources],
    }
    return _scim_json(body)


# ---------------------------------------------------------------- routes


def _one(kind: _Kind, directory: Directory, object_id: str) -> Any:
    try:
        return kind.lookup(directory, object_id)
    except StateError:
        raise ScimError(404, f"{kind.name} {object_id!r} not found") from None


def _check_version(kind: _Kind, obj: Any) -> None:
    """RFC 7644 §3.14: a write with ``If-Match`` applies only to that version."""
    wanted = request.headers.get("If-Match")
    if wanted and wanted.strip() != "*" and kind.version(obj) not in [v.strip() for v in wanted.split(",")]:
        raise ScimError(412, f"the {kind.name} has changed: its version is now {kind.version(obj)}")


def _resource_response(kind: _Kind, directory: Directory, obj: Any, status: int = 200) -> Response:
    resource = kind.render(directory, obj)
    resource = project(
        resource,
        kind.resolver,
        _split(request.args.get("attributes")),
        _split(request.args.get("excludedAttributes")),
    )
    headers = {"ETag": kind.version(obj)}
    if status == 201:
        headers["Location"] = f"{_base()}/{kind.name}s/{obj.object_id}"
    return _scim_json(resource, status, headers)


def _get(kind: _Kind, object_id: str) -> Response:
    directory = _auth(READ_SCOPES)
    obj = _one(kind, directory, object_id)
    if request.headers.get("If-None-Match") == kind.version(obj):
        return Response(status=304, headers={"ETag": kind.version(obj)})
    return _resource_response(kind, directory, obj)


def _create(kind: _Kind) -> Response:
    directory = _auth(WRITE_SCOPES)
    doc = normalize(_body(), kind.resolver)
    with directory.lock:
        if kind is USER_KIND:
            fields = user_fields(doc, None)
            obj = directory.add_user(fields.pop("user_name"), email=fields.pop("email"), **fields)
        else:
            name, external_id, users, groups = group_members(doc, directory)
            obj = directory.add_group(name, external_id=external_id)
            directory.set_members(obj.object_id, users, groups)
    return _resource_response(kind, directory, obj, 201)


def _write(kind: _Kind, object_id: str, patch: bool) -> Response:
    directory = _auth(WRITE_SCOPES)
    body = _body()
    with directory.lock:
        obj = _one(kind, directory, object_id)
        _check_version(kind, obj)
        if patch:
            doc = apply_patch(kind.render(directory, obj), body, kind.resolver)
        else:
            doc = normalize(body, kind.resolver)
        if kind is USER_KIND:
            fields = user_fields(doc, obj)
            changed = {k: v for k, v in fields.items() if getattr(obj, k) != v}
            if changed:
                directory.update_user(obj.object_id, **changed)
        else:
            name, external_id, users, groups = group_members(doc, directory)
            changed = {
                k: v for k, v in (("name", name), ("external_id", external_id)) if getattr(obj, k) != v
            }
            if changed:
                directory.update_group(obj.object_id, **changed)
            directory.set_members(obj.object_id, users, groups)
    return _resource_response(kind, directory, obj)


def _delete(kind: _Kind, object_id: str) -> Response:
    directory = _auth(WRITE_SCOPES)
    with directory.lock:
        obj = _one(kind, directory, object_id)
        _check_version(kind, obj)
        if kind is USER_KIND:
            directory.delete_user(obj.object_id)
        else:
            directory.delete_group(obj.object_id)
    return Response(status=204)


def _search(kind: _Kind) -> Response:
    """RFC 7644 §3.4.3: the query in a ``SearchRequest`` body."""
    body = _body()
    if not isinstance(body, dict):
        raise ScimError(400, "a SearchRequest must be a JSON object", "invalidSyntax")
    return _list(kind, body)


for _kind, _path in ((USER_KIND, "Users"), (GROUP_KIND, "Groups")):
    _k = _kind.name.lower()
    blueprint.add_url_rule(f"/{_path}", f"list_{_k}s", lambda kind=_kind: _list(kind, request.args))
    blueprint.add_url_rule(f"/{_path}", f"create_{_k}", lambda kind=_kind: _create(kind), methods=["POST"])
    blueprint.add_url_rule(
        f"/{_path}/.search", f"search_{_k}s", lambda kind=_kind: _search(kind), methods=["POST"]
    )
    blueprint.add_url_rule(
        f"/{_path}/<object_id>", f"get_{_k}", lambda object_id, kind=_kind: _get(kind, object_id)
    )
    blueprint.add_url_rule(
        f"/{_path}/<object_id>",
        f"put_{_k}",
        lambda object_id, kind=_kind: _write(kind, object_id, patch=False),
        methods=["PUT"],
    )
    blueprint.add_url_rule(
        f"/{_path}/<object_id>",
        f"patch_{_k}",
        lambda object_id, kind=_kind: _write(kind, object_id, patch=True),
        methods=["PATCH"],
    )
    blueprint.add_url_rule(
        f"/{_path}/<object_id>",
        f"delete_{_k}",
        lambda object_id, kind=_kind: _delete(kind, object_id),
        methods=["DELETE"],
    )
