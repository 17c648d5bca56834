"""SCIM 2.0 (RFC 7643 / RFC 7644) over the directory, under ``/scim/v2``.

This module holds the blueprint, its error handlers, discovery and the route
table; reads are in :mod:`mock_idp.scim.reads`, writes in :mod:`mock_idp.scim.writes`
and what they share in :mod:`mock_idp.scim.wire`.

Reads: discovery documents, ``ListResponse`` paging (1-based ``startIndex``,
``count`` capped at 1000, ``count=0`` for totals only), ``filter`` with the
full RFC grammar (:mod:`mock_idp.scim.filter`), ``sortBy``/``sortOrder``,
``attributes``/``excludedAttributes``, ``POST /.search``.  Writes: POST, PUT,
PATCH (:mod:`mock_idp.scim.patch`), DELETE, with ``If-Match`` ETags.  Errors
follow RFC 7644 §3.12 with ``status`` as a string and ``application/scim+json``.

SCIM ``active`` maps onto the directory's Okta statuses: a write that sets
``active: false`` suspends (``SUSPENDED``), ``true`` activates (``ACTIVE``);
a write that leaves ``active`` as it was keeps the status (so a
``DEPROVISIONED`` user stays deprovisioned, and shows ``active: false``).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import request
from werkzeug.exceptions import HTTPException

from mock_idp.auth_check import auth_failure_response
from mock_idp.context import AuthFailure
from mock_idp.scim import reads as scim_reads
from mock_idp.scim import writes as scim_writes
from mock_idp.scim.patch import ScimWriteError
from mock_idp.scim.schemas import LIST_RESPONSE
from mock_idp.scim.schemas import SCHEMAS
from mock_idp.scim.schemas import resource_types
from mock_idp.scim.schemas import schema_documents
from mock_idp.scim.schemas import service_provider_config
from mock_idp.scim.wire import GROUP_KIND
from mock_idp.scim.wire import READ_SCOPES
from mock_idp.scim.wire import USER_KIND
from mock_idp.scim.wire import WRITE_SCOPES
from mock_idp.scim.wire import ScimError
from mock_idp.scim.wire import authorize
from mock_idp.scim.wire import base_url
from mock_idp.scim.wire import renderer
from mock_idp.scim.wire import scim_json
from mock_idp.state.directory import StateError

__all__ = ["ScimError", "blueprint", "renderer"]

blueprint = Blueprint("scim", __name__, url_prefix="/scim/v2")

_STATE_ERRORS = {
    "not_found": (404, None),
    "conflict": (409, "uniqueness"),
    "invalid": (400, "invalidValue"),
    "unsupported": (400, "mutability"),  # a built-in group's members, name or existence (RFC 7644 §3.12)
}


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


# ---------------------------------------------------------------- discovery


@blueprint.get("/ServiceProviderConfig")
def get_service_provider_config() -> Response:
    authorize(READ_SCOPES)
    return scim_json(service_provider_config(base_url()))


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
    authorize(READ_SCOPES)
    return scim_json(_list_of(resource_types(base_url())))


@blueprint.get("/ResourceTypes/<name>")
def get_resource_type(name: str) -> Response:
    authorize(READ_SCOPES)
    found = next((r for r in resource_types(base_url()) if r["id"] == name), None)
    if found is None:
        raise ScimError(404, f"no resource type {name!r}; known: User, Group")
    return scim_json(found)


@blueprint.get("/Schemas")
def list_schemas() -> Response:
    authorize(READ_SCOPES)
    return scim_json(_list_of(schema_documents(base_url())))


@blueprint.get("/Schemas/<urn>")
def get_schema(urn: str) -> Response:
    authorize(READ_SCOPES)
    found = next((s for s in schema_documents(base_url()) if s["id"] == urn), None)
    if found is None:
        raise ScimError(404, f"no schema {urn!r}; known: {', '.join(SCHEMAS)}")
    return scim_json(found)


@blueprint.route("/Me", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def me() -> Response:
    """RFC 7644 §3.11: a provider that does not support ``/Me`` answers 501."""
    authorize(READ_SCOPES)
    raise ScimError(501, "/Me is not supported: the bearer token does not stand for a user")


@blueprint.post("/.search")
def search_everything() -> Response:
    authorize(READ_SCOPES)
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
    authorize(WRITE_SCOPES)
    raise ScimError(501, "bulk operations are not supported (ServiceProviderConfig bulk.supported is false)")


for _kind, _path in ((USER_KIND, "Users"), (GROUP_KIND, "Groups")):
    _k = _kind.name.lower()
    blueprint.add_url_rule(
        f"/{_path}", f"list_{_k}s", lambda kind=_kind: scim_reads.list_view(kind, request.args)
    )
    blueprint.add_url_rule(
        f"/{_path}", f"create_{_k}", lambda kind=_kind: scim_writes.create_view(kind), methods=["POST"]
    )
    blueprint.add_url_rule(
        f"/{_path}/.search",
        f"search_{_k}s",
        lambda kind=_kind: scim_reads.search_view(kind),
        methods=["POST"],
    )
    blueprint.add_url_rule(
        f"/{_path}/<object_id>",
        f"get_{_k}",
        lambda object_id, kind=_kind: scim_reads.get_view(kind, object_id),
    )
    blueprint.add_url_rule(
        f"/{_path}/<object_id>",
        f"put_{_k}",
        lambda object_id, kind=_kind: scim_writes.write_view(kind, object_id, patch=False),
        methods=["PUT"],
    )
    blueprint.add_url_rule(
        f"/{_path}/<object_id>",
        f"patch_{_k}",
        lambda object_id, kind=_kind: scim_writes.write_view(kind, object_id, patch=True),
        methods=["PATCH"],
    )
    blueprint.add_url_rule(
        f"/{_path}/<object_id>",
        f"delete_{_k}",
        lambda object_id, kind=_kind: scim_writes.delete_view(kind, object_id),
        methods=["DELETE"],
    )
