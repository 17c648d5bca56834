"""Users, groups and direct memberships under ``/_admin`` (a blueprint nested in
:mod:`mock_idp.admin.views`, whose admin-token check and error handlers apply here too).
"""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import jsonify
from flask import request

from mock_idp.admin.wire import AdminError
from mock_idp.admin.wire import created
from mock_idp.admin.wire import current_directory
from mock_idp.admin.wire import deleted_user_json
from mock_idp.admin.wire import find_group
from mock_idp.admin.wire import find_user
from mock_idp.admin.wire import group_json
from mock_idp.admin.wire import request_body
from mock_idp.admin.wire import user_json
from mock_idp.state.directory import ACTIVE_STATUSES
from mock_idp.state.fixtures import GROUP_SPEC
from mock_idp.state.fixtures import USER_SPEC
from mock_idp.state.fixtures import add_group_from
from mock_idp.state.fixtures import add_user_from
from mock_idp.state.fixtures import check_fields

blueprint = Blueprint("objects", __name__)

_CREATE_ONLY = ("ref", "id", "okta_id", "created")
USER_UPDATE_SPEC = {k: v for k, v in USER_SPEC.items() if k not in _CREATE_ONLY}
USER_CREATE_SPEC = {k: v for k, v in USER_SPEC.items() if k != "ref"}
GROUP_CREATE_SPEC = {k: v for k, v in GROUP_SPEC.items() if k not in ("ref", "members", "groups")}
GROUP_UPDATE_SPEC = {k: GROUP_SPEC[k] for k in ("name", "description", "external_id")}


@blueprint.get("/users")
def list_users() -> Response:
    """Every user, or the one whose ``user_name`` matches (case-insensitively)."""
    user_name = request.args.get("user_name")
    directory = current_directory()
    if user_name is not None:
        found = directory.user_by_name(user_name)
        users = [found] if found else []
    else:
        users = list(directory.users_snapshot())
    return jsonify({"users": [user_json(u) for u in users]})


@blueprint.post("/users")
def create_user() -> Response:
    fields = check_fields(request_body(), "user", USER_CREATE_SPEC, required=("user_name",))
    return created(user_json(add_user_from(current_directory(), fields)))


@blueprint.get("/users/<ident>")
def get_user(ident: str) -> Response:
    return jsonify(user_json(find_user(ident)))


@blueprint.patch("/users/<ident>")
def update_user(ident: str) -> Response:
    """Change fields (an email change too); ``user_name`` stays unique."""
    fields = check_fields(request_body(), "user", USER_UPDATE_SPEC)
    if not fields:
        raise AdminError(400, "invalid", "nothing to change")
    user = current_directory().update_user(find_user(ident).object_id, **fields)
    return jsonify(user_json(user))


@blueprint.post("/users/<ident>/deactivate")
def deactivate_user(ident: str) -> Response:
    """Move to ``DEPROVISIONED``, or to the inactive ``{"status": ...}`` given."""
    body = check_fields(request_body(), "", {"status": USER_SPEC["status"]})
    status = body.get("status", "DEPROVISIONED")
    if status in ACTIVE_STATUSES:
        raise AdminError(400, "invalid", f"status: {status!r} is an active status; use /activate")
    return jsonify(user_json(current_directory().set_status(find_user(ident).object_id, status)))


@blueprint.post("/users/<ident>/activate")
def activate_user(ident: str) -> Response:
    return jsonify(user_json(current_directory().set_status(find_user(ident).object_id, "ACTIVE")))


@blueprint.delete("/users/<ident>")
def delete_user(ident: str) -> Response:
    """Delete as Entra does: to the deleted items, restorable; ``?permanent=true`` for good."""
    permanent = request.args.get("permanent", "false").lower()
    if permanent not in ("true", "false"):
        raise AdminError(400, "invalid", f"permanent: {permanent!r} is not true or false")
    current_directory().remove_user(find_user(ident).object_id, permanent=permanent == "true")
    return Response(status=204)


@blueprint.get("/deleted-users")
def list_deleted_users() -> Response:
    """The users in the deleted items, oldest deletion first."""
    directory = current_directory()
    with directory.lock:
        items = sorted(directory.deleted_users.values(), key=lambda d: d.deleted)
    return jsonify({"deleted_users": [deleted_user_json(d) for d in items]})


@blueprint.get("/deleted-users/<ident>")
def get_deleted_user(ident: str) -> Response:
    return jsonify(deleted_user_json(current_directory().deleted_user(ident)))


@blueprint.post("/deleted-users/<ident>/restore")
def restore_user(ident: str) -> Response:
    """Back with the same ids and the groups it was in; 409 while its user name is taken."""
    directory = current_directory()
    return jsonify(user_json(directory.restore_user(directory.deleted_user(ident).object_id)))


@blueprint.delete("/deleted-users/<ident>")
def purge_user(ident: str) -> Response:
    directory = current_directory()
    directory.purge_user(directory.deleted_user(ident).object_id)
    return Response(status=204)


@blueprint.get("/groups")
def list_groups() -> Response:
    name = request.args.get("name")
    groups = [
        g for g in current_directory().groups_snapshot() if name is None or g.name.lower() == name.lower()
    ]
    return jsonify({"groups": [group_json(g) for g in groups]})


@blueprint.post("/groups")
def create_group() -> Response:
    fields = check_fields(request_body(), "group", GROUP_CREATE_SPEC, required=("name",))
    return created(group_json(add_group_from(current_directory(), fields)))


@blueprint.get("/groups/<ident>")
def get_group(ident: str) -> Response:
    return jsonify(group_json(find_group(ident)))


@blueprint.patch("/groups/<ident>")
def update_group(ident: str) -> Response:
    fields = check_fields(request_body(), "group", GROUP_UPDATE_SPEC)
    if not fields:
        raise AdminError(400, "invalid", "nothing to change")
    return jsonify(group_json(current_directory().update_group(find_group(ident).object_id, **fields)))


@blueprint.delete("/groups/<ident>")
def delete_group(ident: str) -> Response:
    current_directory().delete_group(find_group(ident).object_id)
    return Response(status=204)


def _member(member_ident: str) -> tuple[str, str]:
    kind = request.args.get("kind", "user")
    if kind == "user":
        return find_user(member_ident).object_id, kind
    if kind == "group":
        return find_group(member_ident).object_id, kind
    raise AdminError(400, "invalid", f"kind: unknown member kind {kind!r}; one of user, group")


@blueprint.post("/groups/<ident>/members/<member_ident>")
def add_member(ident: str, member_ident: str) -> Response:
    """Add a direct member (``?kind=group`` for a nested group): 201, or 200 if already there."""
    group = find_group(ident)
    member_id, kind = _member(member_ident)
    added = current_directory().add_member(group.object_id, member_id, kind=kind)  # type: ignore[arg-type]
    response = jsonify(group_json(group))
    response.status_code = 201 if added else 200
    return response


@blueprint.delete("/groups/<ident>/members/<member_ident>")
def remove_member(ident: str, member_ident: str) -> Response:
    group = find_group(ident)
    member_id, kind = _member(member_ident)
    if not current_directory().remove_member(group.object_id, member_id, kind=kind):  # type: ignore[arg-type]
        raise AdminError(404, "not_found", f"{member_ident!r} is not a direct member of {ident!r}")
    return Response(status=204)
