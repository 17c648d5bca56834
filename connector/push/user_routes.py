"""``/Users``: list, search, read, create, replace, patch and delete pushed users."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response
from flask import request
from scim2_models import Context

from connector.push import edits
from connector.push.bodies import apply_patch
from connector.push.bodies import read_resource
from connector.push.errors import not_found
from connector.push.filters import indexed_match
from connector.push.paging import list_response
from connector.push.paging import page_bounds
from connector.push.paging import page_response
from connector.push.projection import project
from connector.push.requests import base_url
from connector.push.requests import check_if_match
from connector.push.requests import filtered
from connector.push.requests import json_answer
from connector.push.requests import lookup
from connector.push.requests import query_params
from connector.push.requests import read_body
from connector.push.requests import run_edit
from connector.push.requests import scim
from connector.push.resources import ScimUser
from connector.push.resources import idp_user
from connector.push.resources import user_body
from connector.push.resources import user_model
from connector.store.push_reads import EVERYTHING
from connector.store.push_reads import DirectoryLookup


def _user_location(user_id: str) -> str:
    return f"{base_url()}/Users/{user_id}"


def _user_answer(user_id: str, status: int = 200) -> Response:
    user = lookup().user(user_id)
    if user is None:
        raise not_found(f"User {user_id}")
    body = user_body(user, _user_location(user_id))
    headers = {"ETag": body["meta"]["version"]}
    if status == 201:
        headers["Location"] = body["meta"]["location"]
    return json_answer(project(body, request.args), status, headers)


@scim.get("/Users")
@scim.post("/Users/.search")
def list_users() -> Response:
    params = query_params()
    raw = params.get("filter") or ""
    match = indexed_match(raw, "user") if raw else EVERYTHING
    if match is not None:  # a page read by index
        start, count = page_bounds(params)
        total, users = lookup().users_page(match, start - 1, count)
        bodies = [project(user_body(u, _user_location(u.idp_user_id)), params) for u in users]
        return json_answer(page_response(bodies, total, start))
    users = lookup().users(EVERYTHING)
    bodies = [user_body(u, _user_location(u.idp_user_id)) for u in users]
    found = filtered(raw, ScimUser, bodies, [user_model(u) for u in users])
    return json_answer(list_response([project(b, params) for b in found], params))


@scim.get("/Users/<user_id>")
def get_user(user_id: str) -> Response:
    return _user_answer(user_id)


@scim.post("/Users")
def create_user() -> Response:
    model = read_resource(ScimUser, read_body(), Context.RESOURCE_CREATION_REQUEST)
    user = idp_user(model, str(uuid.uuid4()))
    run_edit(edits.write_user(lambda view: user, exists=False))
    return _user_answer(user.idp_user_id, 201)


@scim.put("/Users/<user_id>")
def replace_user(user_id: str) -> Response:
    current = lookup().user(user_id)
    if current is None:
        raise not_found(f"User {user_id}")
    check_if_match(user_body(current, _user_location(user_id)))
    model = read_resource(ScimUser, read_body(), Context.RESOURCE_REPLACEMENT_REQUEST)
    user = idp_user(model, user_id)
    run_edit(edits.write_user(lambda view: user, exists=True))
    return _user_answer(user_id)


@scim.patch("/Users/<user_id>")
def patch_user(user_id: str) -> Response:
    body = read_body()
    current = lookup().user(user_id)
    if current is None:
        raise not_found(f"User {user_id}")
    check_if_match(user_body(current, _user_location(user_id)))

    def patched(look: DirectoryLookup) -> Any:
        now = look.user(user_id)
        if now is None:
            raise not_found(f"User {user_id}")
        return idp_user(apply_patch(ScimUser, user_model(now), body), user_id)

    run_edit(edits.write_user(patched, exists=True))
    return _user_answer(user_id)


@scim.delete("/Users/<user_id>")
def delete_user(user_id: str) -> Response:
    current = lookup().user(user_id)
    if current is None:
        raise not_found(f"User {user_id}")
    check_if_match(user_body(current, _user_location(user_id)))
    run_edit(edits.delete_user(user_id))
    return Response(status=204)
