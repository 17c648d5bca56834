"""The control plane under ``/_admin``, modelled on moto's ``/moto-api``.

Every route needs ``Authorization: Bearer <admin token>`` and speaks JSON.
Errors are ``{"error": <kind>, "detail": <message>}`` with 400 (bad input),
401 (no or wrong admin token), 403 (``unsupported``: an edit a built-in group refuses),
404 (unknown id) or 409 (conflict).
``<id>`` is a user's or group's object id (GUID) or its Okta id.
``docs/mock-idp.md`` lists every route with a curl example.  This module holds
the directory-wide routes (reset, fixture, state) and faults; users, groups
and memberships are in :mod:`mock_idp.admin.objects`.
"""

from __future__ import annotations

import hmac
from typing import Any

from flask import Blueprint
from flask import Response
from flask import jsonify
from flask import request

from mock_idp.admin import objects as admin_objects
from mock_idp.admin.wire import AdminError
from mock_idp.admin.wire import created
from mock_idp.admin.wire import error_response
from mock_idp.admin.wire import request_body
from mock_idp.context import MockIdp
from mock_idp.context import current
from mock_idp.faults import FaultError
from mock_idp.faults import FaultRule
from mock_idp.state.directory import Directory
from mock_idp.state.directory import StateError
from mock_idp.state.fixtures import FixtureError
from mock_idp.state.fixtures import check_fields
from mock_idp.state.fixtures import load_fixture
from mock_idp.state.fixtures import read_fixture
from mock_idp.state.generator import generate

blueprint = Blueprint("mock_idp_admin", __name__, url_prefix="/_admin")
blueprint.register_blueprint(admin_objects.blueprint)

_STATUS_OF_KIND = {"not_found": 404, "conflict": 409, "invalid": 400, "unsupported": 403}


@blueprint.errorhandler(AdminError)
def _admin_error(exc: AdminError) -> Response:
    return error_response(exc.status, exc.error, exc.detail)


@blueprint.errorhandler(StateError)
def _state_error(exc: StateError) -> Response:
    return error_response(_STATUS_OF_KIND.get(exc.kind, 400), exc.kind, exc.message)


@blueprint.errorhandler(FixtureError)
@blueprint.errorhandler(FaultError)
def _invalid(exc: ValueError) -> Response:
    return error_response(400, "invalid", str(exc))


@blueprint.before_request
def _authenticate() -> Response | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    expected = current().admin_token
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected.encode()):
        response = error_response(401, "unauthorized", "send Authorization: Bearer <admin token>")
        response.headers["WWW-Authenticate"] = 'Bearer realm="mock-idp admin"'
        return response
    return None


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
    body = request_body()
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
    data = request_body()
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
            "deleted_users": len(directory.deleted_users),
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


# ------------------------------------------------------------------ faults and limits


@blueprint.get("/faults")
def list_faults() -> Response:
    return jsonify({"faults": [rule.to_dict() for rule in current().faults.rules]})


@blueprint.post("/faults")
def add_fault() -> Response:
    """Append one rule, or a list of rules (all checked before any is added)."""
    body = request_body()
    rules = [FaultRule.from_dict(item) for item in (body if isinstance(body, list) else [body])]
    for rule in rules:
        current().faults.add(rule)
    return created({"faults": [rule.to_dict() for rule in current().faults.rules]})


@blueprint.delete("/faults")
def clear_faults() -> Response:
    current().faults.clear()
    return Response(status=204)


@blueprint.put("/rate-limits")
def set_rate_limits() -> Response:
    """``{"okta": 600, "okta:users": 100, "graph": null}``; null drops a limit; windows restart."""
    body = request_body()
    if not isinstance(body, dict):
        raise AdminError(400, "invalid", "the body must be an object of per-minute budgets")
    current().faults.limiter.update(body)
    return jsonify(current().faults.limiter.snapshot())
