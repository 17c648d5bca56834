"""The control plane under ``/_admin``, modelled on moto's ``/moto-api``.

Every route needs ``Authorization: Bearer <admin token>`` and speaks JSON.
Errors are ``{"error": <kind>, "detail": <message>}`` with 400 (bad input),
401 (no or wrong admin token), 404 (unknown id) or 409 (conflict).
``<id>`` is a user's or group's object id (GUID) or its Okta id.
``docs/mock-idp.md`` lists every route with a curl example.
"""

from __future__ import annotations

import hmac
from typing import Any

from flask import Blueprint
from flask import Response
from flask import jsonify
from flask import request

from mock_idp.context import MockIdp
from mock_idp.context import current
from mock_idp.faults import FaultError
from mock_idp.faults import FaultRule
from mock_idp.fixtures import GROUP_SPEC
from mock_idp.fixtures import USER_SPEC
from mock_idp.fixtures import FixtureError
from mock_idp.fixtures import check_fields
from mock_idp.fixtures import load_fixture
from mock_idp.fixtures import read_fixture
from mock_idp.fixtures import user_to_json
from mock_idp.generator import generate
from mock_idp.state import ACTIVE_STATUSES
from mock_idp.state import Directory
from mock_idp.state import Group
from mock_idp.state import StateError
from mock_idp.state import User

blueprint = Blueprint("mock_idp_admin", __name__, url_prefix="/_admin")

_STATUS_OF_KIND = {"not_found": 404, "conflict": 409, "invalid": 400}
_CREATE_ONLY = ("ref", "id", "okta_id", "created")
USER_UPDATE_SPEC = {k: v for k, v in USER_SPEC.items() if k not in _CREATE_ONLY}
USER_CREATE_SPEC = {k: v for k, v in USER_SPEC.items() if k != "ref"}
GROUP_CREATE_SPEC = {k: v for k, v in GROUP_SPEC.items() if k not in ("ref", "members", "groups")}
GROUP_UPDATE_SPEC = {k: GROUP_SPEC[k] for k in ("name", "description", "external_id")}


class AdminError(Exception):
    def __init__(self, status: int, error: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.error, self.detail = status, error, detail


def _error(status: int, error: str, detail: str) -> Response:
    response = jsonify({"error": error, "detail": detail})
    response.status_code = status
    return response


@blueprint.errorhandler(AdminError)
def _admin_error(exc: AdminError) -> Response:
    return _error(exc.status, exc.error, exc.detail)


@blueprint.errorhandler(StateError)
def _state_error(exc: StateError) -> Response:
    return _error(_STATUS_OF_KIND.get(exc.kind, 400), exc.kind, exc.message)


@blueprint.errorhandler(FixtureError)
@blueprint.errorhandler(FaultError)
def _invalid(exc: ValueError) -> Response:
    return _error(400, "invalid", str(exc))


@blueprint.before_request
def _authenticate() -> Response | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    expected = current().admin_token
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected.encode()):
        response = _error(401, "unauthorized", "send Authorization: Bearer <admin token>")
        response.headers["WWW-Authenticate"] = 'Bearer realm="mock-idp admin"'
        return response
    return None


def _body() -> Any:
    if not request.get_data():
        return {}
    data = request.get_json(silent=True)
    if data is None:
        raise AdminError(400, "invalid", "the request body must be JSON")
    return data


def _directory() -> Directory:
    return current().directory


def _find_user(ident: str) -> User:
    directory = _directory()
    found = directory.users.get(ident)
    return found if found is not None else directory.user_by_okta_id(ident)


def _find_group(ident: str) -> Group:
    directory = _directory()
    found = directory.groups.get(ident)
    return found if found is not None else directory.group_by_okta_id(ident)


def user_json(user: User) -> dict[str, Any]:
    out = user_to_json(user)
    out.update(active=user.active, last_updated=user.last_updated.isoformat(), version=user.version)
    return out


def group_json(group: Group) -> dict[str, Any]:
    return {
        "id": group.object_id,
        "okta_id": group.okta_id,
        "name": group.name,
        "description": group.description,
        "external_id": group.external_id,
        "created": group.created.isoformat(),
        "last_updated": group.last_updated.isoformat(),
        "last_membership_updated": group.last_membership_updated.isoformat(),
        "members": list(group.user_ids),
        "groups": list(group.group_ids),
    }


def _created(data: dict[str, Any]) -> Response:
    response = jsonify(data)
    response.status_code = 201
    return response


# ------------------------------------------------------------------ whole directory


def _like(old: Directory, seed: int | None = None) -> Directory:
    """An empty directory with the old one's tenant and clock."""
    return Directory(
        seed=old.seed if seed is None else seed,
        tenant_id=old.tenant_id,
        tenant_domain=old.tenant_domain,
        clock=old._clock,  # a test clock must survive a reset
    )


def _fresh_directory(old: Directory, seed: int | None = None) -> Directory:
    """An empty directory with the old one's tenant and credentials (clients stay valid)."""
    new = _like(old, seed)
    for client in old.clients.values():
        new.add_client(client)
    for token in old.api_tokens.values():
        new.add_api_token(token)
    return new


@blueprint.post("/reset")
def reset() -> Response:
    """Empty the directory (credentials stay); ``{"users": N, "groups": M, "seed": S}`` regenerates."""
    body = _body()
    spec = {"users": _count, "groups": _count, "seed": _count}
    options = check_fields(body, "", spec)
    mock = current()
    fresh = _fresh_directory(mock.directory, options.get("seed"))
    if options.get("users") or options.get("groups"):
        generate(options.get("users", 0), options.get("groups", 0), seed=fresh.seed, directory=fresh)
    mock.directory = fresh
    return jsonify(_state_json(mock))


def _count(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise FixtureError(path, "must be a whole number, 0 or more")
    return value


@blueprint.post("/fixture")
def fixture() -> Response:
    """Load a fixture: ``?mode=replace`` (default) swaps the directory, ``merge`` adds to it."""
    mode = request.args.get("mode", "replace")
    mock = current()
    data = _body()
    if mode == "merge":
        load_fixture(data, mock.directory)
    elif mode == "replace":
        old = mock.directory
        data = read_fixture(data)
        # without a tenant of its own, the fixture keeps the running tenant (clients know its id)
        base = None
        if "tenant" not in data:
            base = _like(old)
        loaded = load_fixture(data, base)
        if not loaded.clients and not loaded.api_tokens:
            for client in old.clients.values():
                loaded.add_client(client)
            for token in old.api_tokens.values():
                loaded.add_api_token(token)
        mock.directory = loaded
    else:
        raise AdminError(400, "invalid", f"mode: unknown mode {mode!r}; one of replace, merge")
    return jsonify(_state_json(mock))


def _state_json(mock: MockIdp) -> dict[str, Any]:
    directory = mock.directory
    with directory.lock:
        memberships = sum(len(g.user_ids) + len(g.group_ids) for g in directory.groups.values())
        return {
            "tenant": {"id": directory.tenant_id, "domain": directory.tenant_domain, "seed": directory.seed},
            "users": len(directory.users),
            "groups": len(directory.groups),
            "memberships": memberships,
            "clients": len(directory.clients),
            "api_tokens": len(directory.api_tokens),
            "last_seq": directory.last_seq,
            "version": directory.version,
            "faults": [rule.to_dict() for rule in mock.faults.rules],
            "rate_limits": mock.faults.limiter.snapshot(),
            "base_url": mock.settings.get("base_url"),
        }


@blueprint.get("/state")
def state() -> Response:
    return jsonify(_state_json(current()))


# ------------------------------------------------------------------ users


@blueprint.get("/users")
def list_users() -> Response:
    """Every user, or the one whose ``user_name`` matches (case-insensitively)."""
    user_name = request.args.get("user_name")
    directory = _directory()
    if user_name is not None:
        found = directory.user_by_name(user_name)
        users = [found] if found else []
    else:
        users = list(directory.users_snapshot())
    return jsonify({"users": [user_json(u) for u in users]})


@blueprint.post("/users")
def create_user() -> Response:
    fields = check_fields(_body(), "user", USER_CREATE_SPEC, required=("user_name",))
    user = _directory().add_user(
        fields.pop("user_name"),
        email=fields.pop("email", None),
        object_id=fields.pop("id", None),
        okta_id=fields.pop("okta_id", None),
        created=fields.pop("created", None),
        **fields,
    )
    return _created(user_json(user))


@blueprint.get("/users/<ident>")
def get_user(ident: str) -> Response:
    return jsonify(user_json(_find_user(ident)))


@blueprint.patch("/users/<ident>")
def update_user(ident: str) -> Response:
    """Change fields (an email change too); ``user_name`` stays unique."""
    fields = check_fields(_body(), "user", USER_UPDATE_SPEC)
    if not fields:
        raise AdminError(400, "invalid", "nothing to change")
    user = _directory().update_user(_find_user(ident).object_id, **fields)
    return jsonify(user_json(user))


@blueprint.post("/users/<ident>/deactivate")
def deactivate_user(ident: str) -> Response:
    """Move to ``DEPROVISIONED``, or to the inactive ``{"status": ...}`` given."""
    body = check_fields(_body(), "", {"status": USER_SPEC["status"]})
    status = body.get("status", "DEPROVISIONED")
    if status in ACTIVE_STATUSES:
        raise AdminError(400, "invalid", f"status: {status!r} is an active status; use /activate")
    return jsonify(user_json(_directory().set_status(_find_user(ident).object_id, status)))


@blueprint.post("/users/<ident>/activate")
def activate_user(ident: str) -> Response:
    return jsonify(user_json(_directory().set_status(_find_user(ident).object_id, "ACTIVE")))


@blueprint.delete("/users/<ident>")
def delete_user(ident: str) -> Response:
    _directory().delete_user(_find_user(ident).object_id)
    return Response(status=204)


# ------------------------------------------------------------------ groups


@blueprint.get("/groups")
def list_groups() -> Response:
    name = request.args.get("name")
    groups = [g for g in _directory().groups_snapshot() if name is None or g.name.lower() == name.lower()]
    return jsonify({"groups": [group_json(g) for g in groups]})


@blueprint.post("/groups")
def create_group() -> Response:
    fields = check_fields(_body(), "group", GROUP_CREATE_SPEC, required=("name",))
    group = _directory().add_group(
        fields["name"],
        description=fields.get("description"),
        object_id=fields.get("id"),
        okta_id=fields.get("okta_id"),
        external_id=fields.get("external_id"),
        created=fields.get("created"),
    )
    return _created(group_json(group))


@blueprint.get("/groups/<ident>")
def get_group(ident: str) -> Response:
    return jsonify(group_json(_find_group(ident)))


@blueprint.patch("/groups/<ident>")
def update_group(ident: str) -> Response:
    fields = check_fields(_body(), "group", GROUP_UPDATE_SPEC)
    if not fields:
        raise AdminError(400, "invalid", "nothing to change")
    return jsonify(group_json(_directory().update_group(_find_group(ident).object_id, **fields)))


@blueprint.delete("/groups/<ident>")
def delete_group(ident: str) -> Response:
    _directory().delete_group(_find_group(ident).object_id)
    return Response(status=204)


def _member(member_ident: str) -> tuple[str, str]:
    kind = request.args.get("kind", "user")
    if kind == "user":
        return _find_user(member_ident).object_id, kind
    if kind == "group":
        return _find_group(member_ident).object_id, kind
    raise AdminError(400, "invalid", f"kind: unknown member kind {kind!r}; one of user, group")


@blueprint.post("/groups/<ident>/members/<member_ident>")
def add_member(ident: str, member_ident: str) -> Response:
    """Add a direct member (``?kind=group`` for a nested group): 201, or 200 if already there."""
    group = _find_group(ident)
    member_id, kind = _member(member_ident)
    added = _directory().add_member(group.object_id, member_id, kind=kind)  # type: ignore[arg-type]
    response = jsonify(group_json(group))
    response.status_code = 201 if added else 200
    return response


@blueprint.delete("/groups/<ident>/members/<member_ident>")
def remove_member(ident: str, member_ident: str) -> Response:
    group = _find_group(ident)
    member_id, kind = _member(member_ident)
    if not _directory().remove_member(group.object_id, member_id, kind=kind):  # type: ignore[arg-type]
        raise AdminError(404, "not_found", f"{member_ident!r} is not a direct member of {ident!r}")
    return Response(status=204)


# ------------------------------------------------------------------ faults and limits


@blueprint.get("/faults")
def list_faults() -> Response:
    return jsonify({"faults": [rule.to_dict() for rule in current().faults.rules]})


@blueprint.post("/faults")
def add_fault() -> Response:
    """Append one rule, or a list of rules (all checked before any is added)."""
    body = _body()
    rules = [FaultRule.from_dict(item) for item in (body if isinstance(body, list) else [body])]
    for rule in rules:
        current().faults.add(rule)
    return _created({"faults": [rule.to_dict() for rule in current().faults.rules]})


@blueprint.delete("/faults")
def clear_faults() -> Response:
    current().faults.clear()
    return Response(status=204)


@blueprint.put("/rate-limits")
def set_rate_limits() -> Response:
    """``{"okta": 600, "okta:users": 100, "graph": null}``; null drops a limit; windows restart."""
    body = _body()
    if not isinstance(body, dict):
        raise AdminError(400, "invalid", "the body must be an object of per-minute budgets")
    current().faults.limiter.update(body)
    return jsonify(current().faults.limiter.snapshot())
