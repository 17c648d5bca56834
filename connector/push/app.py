"""The Flask app: ``/scim/v2/<org>/<directory>/`` for every push directory of the store.

Every request is resolved to one organization's push directory (404 otherwise: an unknown
organization or directory, a pull or disabled one), then authenticated with that directory's
token (401, and nothing learned, otherwise).  Reads answer from the directory's mirror, a few
rows at a time (:class:`~connector.store.push_reads.DirectoryLookup`; the filters clients send
on every look-up by index, :mod:`connector.push.filters`); writes are edits
(:mod:`connector.push.edits`) run through the rules (:mod:`connector.push.changes`).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from flask import Blueprint
from flask import Flask
from flask import Response
from flask import g
from flask import request
from pydantic import ValidationError
from scim2_models import Context
from scim2_models import Group
from scim2_models import SCIMException
from scim2_models import ScimFilter
from werkzeug.exceptions import HTTPException

from connector.errors import ConnectorError
from connector.push import edits
from connector.push.auth import TokenCheck
from connector.push.auth import bearer_token
from connector.push.auth import push_token_check
from connector.push.bodies import apply_patch
from connector.push.bodies import read_resource
from connector.push.bodies import scim_error
from connector.push.changes import Edit
from connector.push.changes import run_request
from connector.push.discovery import resource_types
from connector.push.discovery import schemas
from connector.push.discovery import service_provider_config
from connector.push.errors import SCIM_MEDIA_TYPE
from connector.push.errors import ScimError
from connector.push.errors import not_found
from connector.push.events_api import events_api
from connector.push.filters import indexed_match
from connector.push.paging import list_response
from connector.push.paging import page_bounds
from connector.push.paging import page_response
from connector.push.projection import project
from connector.push.resources import ScimUser
from connector.push.resources import group_body
from connector.push.resources import group_model
from connector.push.resources import idp_group
from connector.push.resources import idp_user
from connector.push.resources import member_values
from connector.push.resources import user_body
from connector.push.resources import user_model
from connector.store import Store
from connector.store.push_reads import EVERYTHING
from connector.store.push_reads import DirectoryLookup

MAX_BODY_BYTES = 2 * 1024 * 1024
"""The largest request body, refused with 413 before it is read (a 1,000-member PATCH is ~100 kB)."""

scim = Blueprint("scim", __name__, url_prefix="/scim/v2/<org>/<directory>")


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, mimetype=SCIM_MEDIA_TYPE, headers=headers)


def _error(exc: ScimError) -> Response:
    headers = {"WWW-Authenticate": 'Bearer realm="scim"'} if exc.status == 401 else None
    return _json(exc.body(), exc.status, headers)


def _base() -> str:
    return f"{request.url_root.rstrip('/')}/scim/v2/{g.org}/{g.directory}"  # under a mount too


def _body() -> Any:
    try:
        return json.loads(request.get_data(cache=False) or b"null")
    except ValueError:
        raise ScimError(400, "the body is not JSON", "invalidSyntax") from None


def _params() -> dict[str, Any]:
    """The query's parameters: the URL's, or a ``/.search`` POST's body (RFC 7644 §3.4.3)."""
    if request.method == "POST" and request.path.endswith("/.search"):
        body = _body()
        if not isinstance(body, dict):
            raise ScimError(400, "a search is a SearchRequest object", "invalidSyntax")
        return {k: ",".join(v) if isinstance(v, list) else str(v) for k, v in body.items() if v is not None}
    return dict(request.args)


@scim.url_value_preprocessor
def _resolve(endpoint: str | None, values: dict[str, Any] | None) -> None:
    assert values is not None
    g.org = values.pop("org")
    g.directory = values.pop("directory")


@scim.before_request
def _authenticate() -> Response | None:
    app_store: Store = scim_state().store
    try:
        store = app_store.for_org(g.org)
        entry = store.directory_entry(g.org, g.directory)
    except ConnectorError:
        entry = None
    if entry is None or entry.mode != "push" or entry.disabled:
        return _error(not_found("directory"))
    token = bearer_token(request.headers.get("Authorization"))
    if token is None or not scim_state().check(store, g.directory, token):
        return _error(ScimError(401, "a valid bearer token of this directory is required"))
    g.store = store
    g.entry = entry
    return None


class PushState:
    """What the app's requests share: the store (its engine) and the token check."""

    def __init__(self, store: Store, check: TokenCheck) -> None:
        self.store = store
        self.check = check


def scim_state() -> PushState:
    from flask import current_app

    state: PushState = current_app.extensions["idp-connector-push"]
    return state


def _look() -> DirectoryLookup:
    return g.store.lookup(g.directory)  # type: ignore[no-any-return]


def _run(edit: Edit) -> None:
    """Check the edit against the mirror, then run it through the rules under the lock."""
    edit(_look())  # refused here, no run is recorded
    report, _ = run_request(g.store, g.entry, edit)
    if report.outcome == "guard_tripped":
        raise ScimError(503, f"held by the guard, nothing applied: {report.guard.message}")


def _if_match(body: dict[str, Any]) -> None:
    wanted = request.headers.get("If-Match")
    if (
        wanted
        and wanted.strip() != "*"
        and body["meta"]["version"] not in {v.strip() for v in wanted.split(",")}
    ):
        raise ScimError(412, "the resource changed: its version is not the one in If-Match")


def _filtered(raw: str, model: type, bodies: list[dict[str, Any]], models: list[Any]) -> list[dict[str, Any]]:
    try:
        bound = ScimFilter[model](raw)  # type: ignore[valid-type]
        return [b for b, m in zip(bodies, models, strict=True) if bound.match(m)]
    except SCIMException as exc:
        error = scim_error(exc)
        raise ScimError(400, error.detail, "invalidFilter") from None
    except ValueError as exc:
        raise ScimError(400, f"filter: {exc}", "invalidFilter") from None


# ------------------------------------------------------------------ discovery


@scim.get("/ServiceProviderConfig")
def get_config() -> Response:
    return _json(service_provider_config(_base()))


@scim.get("/ResourceTypes")
def get_resource_types() -> Response:
    found = resource_types(_base())
    return _json(list_response(found, {"count": str(len(found))}))


@scim.get("/ResourceTypes/<name>")
def get_resource_type(name: str) -> Response:
    for found in resource_types(_base()):
        if found["id"] == name:
            return _json(found)
    raise not_found(f"ResourceType {name}")


@scim.get("/Schemas")
def get_schemas() -> Response:
    found = schemas(_base())
    return _json(list_response(found, {"count": str(len(found))}))


@scim.get("/Schemas/<path:urn>")
def get_schema(urn: str) -> Response:
    for found in schemas(_base()):
        if found["id"] == urn:
            return _json(found)
    raise not_found(f"Schema {urn}")


@scim.post("/.search")
def search_everything() -> Response:
    """A search across resource types at once is not served: search ``/Users`` or ``/Groups``."""
    raise ScimError(501, "search /Users/.search or /Groups/.search: not several resource types at once")


# ------------------------------------------------------------------ users


def _user_location(user_id: str) -> str:
    return f"{_base()}/Users/{user_id}"


def _user_answer(user_id: str, status: int = 200) -> Response:
    user = _look().user(user_id)
    if user is None:
        raise not_found(f"User {user_id}")
    body = user_body(user, _user_location(user_id))
    headers = {"ETag": body["meta"]["version"]}
    if status == 201:
        headers["Location"] = body["meta"]["location"]
    return _json(project(body, request.args), status, headers)


@scim.get("/Users")
@scim.post("/Users/.search")
def list_users() -> Response:
    params = _params()
    raw = params.get("filter") or ""
    match = indexed_match(raw, "user") if raw else EVERYTHING
    if match is not None:  # a page read by index
        start, count = page_bounds(params)
        total, users = _look().users_page(match, start - 1, count)
        bodies = [project(user_body(u, _user_location(u.idp_user_id)), params) for u in users]
        return _json(page_response(bodies, total, start))
    users = _look().users(EVERYTHING)
    bodies = [user_body(u, _user_location(u.idp_user_id)) for u in users]
    found = _filtered(raw, ScimUser, bodies, [user_model(u) for u in users])
    return _json(list_response([project(b, params) for b in found], params))


@scim.get("/Users/<user_id>")
def get_user(user_id: str) -> Response:
    return _user_answer(user_id)


@scim.post("/Users")
def create_user() -> Response:
    model = read_resource(ScimUser, _body(), Context.RESOURCE_CREATION_REQUEST)
    user = idp_user(model, str(uuid.uuid4()))
    _run(edits.write_user(lambda view: user, exists=False))
    return _user_answer(user.idp_user_id, 201)


@scim.put("/Users/<user_id>")
def replace_user(user_id: str) -> Response:
    current = _look().user(user_id)
    if current is None:
        raise not_found(f"User {user_id}")
    _if_match(user_body(current, _user_location(user_id)))
    model = read_resource(ScimUser, _body(), Context.RESOURCE_REPLACEMENT_REQUEST)
    user = idp_user(model, user_id)
    _run(edits.write_user(lambda view: user, exists=True))
    return _user_answer(user_id)


@scim.patch("/Users/<user_id>")
def patch_user(user_id: str) -> Response:
    body = _body()
    current = _look().user(user_id)
    if current is None:
        raise not_found(f"User {user_id}")
    _if_match(user_body(current, _user_location(user_id)))

    def patched(look: DirectoryLookup) -> Any:
        now = look.user(user_id)
        if now is None:
            raise not_found(f"User {user_id}")
        return idp_user(apply_patch(ScimUser, user_model(now), body), user_id)

    _run(edits.write_user(patched, exists=True))
    return _user_answer(user_id)


@scim.delete("/Users/<user_id>")
def delete_user(user_id: str) -> Response:
    current = _look().user(user_id)
    if current is None:
        raise not_found(f"User {user_id}")
    _if_match(user_body(current, _user_location(user_id)))
    _run(edits.delete_user(user_id))
    return Response(status=204)


# ------------------------------------------------------------------ groups


def _group_location(group_id: str) -> str:
    return f"{_base()}/Groups/{group_id}"


def _with_members(params: dict[str, Any] | None = None) -> bool:
    """Whether the answer shows members (reading them all is skipped when it does not)."""
    params = _params() if params is None else params
    excluded = params.get("excludedAttributes", "")
    wanted = {a.strip().lower() for a in params.get("attributes", "").split(",") if a.strip()}
    listed = "members" not in {a.strip().lower() for a in excluded.split(",")}
    return listed and (not wanted or any(a.split(".")[0].endswith("members") for a in wanted))


def _group_answer(group_id: str, status: int = 200) -> Response:
    look = _look()
    group = look.group(group_id)
    if group is None:
        raise not_found(f"Group {group_id}")
    members = look.members([group_id])[group_id]
    body = group_body(group, members, _group_location(group_id), with_members=_with_members(request.args))
    headers = {"ETag": group_body(group, members, "")["meta"]["version"]}
    if status == 201:
        headers["Location"] = body["meta"]["location"]
    return _json(project(body, request.args), status, headers)


def _group_version(look: DirectoryLookup, group_id: str) -> dict[str, Any]:
    group = look.group(group_id)
    if group is None:
        raise not_found(f"Group {group_id}")
    return group_body(group, look.members([group_id])[group_id], "")


@scim.get("/Groups")
@scim.post("/Groups/.search")
def list_groups() -> Response:
    params = _params()
    raw = params.get("filter") or ""
    match = indexed_match(raw, "group") if raw else EVERYTHING
    keep = _with_members(params)
    look = _look()
    if match is not None:  # a page read by index
        start, count = page_bounds(params)
        total, groups = look.groups_page(match, start - 1, count)
        members = look.members([x.idp_group_id for x in groups])
        bodies = [
            project(
                group_body(x, members[x.idp_group_id], _group_location(x.idp_group_id), with_members=keep),
                params,
            )
            for x in groups
        ]
        return _json(page_response(bodies, total, start))
    groups = look.groups(EVERYTHING)
    members = look.members([x.idp_group_id for x in groups])
    bodies = [
        group_body(x, members[x.idp_group_id], _group_location(x.idp_group_id), with_members=keep)
        for x in groups
    ]
    found = _filtered(raw, Group, bodies, [group_model(x, members[x.idp_group_id]) for x in groups])
    return _json(list_response([project(b, params) for b in found], params))


def _neutral_group(look: DirectoryLookup, model: Group, group_id: str) -> Any:
    """The neutral group of ``model``: its members that name groups of the directory are nested."""
    return idp_group(model, group_id, look.group_ids(member_values(model)))


@scim.get("/Groups/<group_id>")
def get_group(group_id: str) -> Response:
    return _group_answer(group_id)


@scim.post("/Groups")
def create_group() -> Response:
    model = read_resource(Group, _body(), Context.RESOURCE_CREATION_REQUEST)
    group_id = str(uuid.uuid4())
    _run(edits.write_group(lambda look: _neutral_group(look, model, group_id), exists=False))
    return _group_answer(group_id, 201)


@scim.put("/Groups/<group_id>")
def replace_group(group_id: str) -> Response:
    _if_match(_group_version(_look(), group_id))
    model = read_resource(Group, _body(), Context.RESOURCE_REPLACEMENT_REQUEST)
    _run(edits.write_group(lambda look: _neutral_group(look, model, group_id), exists=True))
    return _group_answer(group_id)


@scim.patch("/Groups/<group_id>")
def patch_group(group_id: str) -> Response:
    body = _body()
    _if_match(_group_version(_look(), group_id))

    def patched(look: DirectoryLookup) -> Any:
        group = look.group(group_id)
        if group is None:
            raise not_found(f"Group {group_id}")
        model = apply_patch(Group, group_model(group, look.members([group_id])[group_id]), body)
        return _neutral_group(look, model, group_id)

    _run(edits.write_group(patched, exists=True))
    return _group_answer(group_id)


@scim.delete("/Groups/<group_id>")
def delete_group(group_id: str) -> Response:
    _if_match(_group_version(_look(), group_id))
    _run(edits.delete_group(group_id))
    return Response(status=204)


# ------------------------------------------------------------------ the app


def create_app(
    store: str | Store, *, token_check: TokenCheck | None = None, max_body_bytes: int = MAX_BODY_BYTES
) -> Flask:
    """The push service over ``store`` (a URL, opened and migrated here, or an open Store).

    ``token_check`` decides whether a bearer token opens a directory (default:
    :func:`~connector.push.auth.push_token_check`, the tokens
    ``idp-connector directories token`` issues).  Bodies above ``max_body_bytes`` are
    refused with 413 before they are read.
    """
    opened = Store.open(store, register=False) if isinstance(store, str) else store
    app = Flask("connector.push")
    app.config["MAX_CONTENT_LENGTH"] = max_body_bytes
    app.extensions["idp-connector-push"] = PushState(opened, token_check or push_token_check)
    app.register_blueprint(scim)
    app.register_blueprint(events_api)  # GET /events (connector.push.events_api)

    @app.errorhandler(ScimError)
    def _scim_error(exc: ScimError) -> Response:
        return _error(exc)

    @app.errorhandler(ValidationError)
    def _invalid(exc: ValidationError) -> Response:
        return _error(scim_error(exc))

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        status = exc.code or 500
        detail = (
            "the body is larger than this service takes" if status == 413 else exc.description or exc.name
        )
        return _error(ScimError(status, str(detail)))

    return app
