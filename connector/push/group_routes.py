"""``/Groups``: list, search, read, create, replace, patch and delete pushed groups."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response
from flask import request
from scim2_models import Context
from scim2_models import Group

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
from connector.push.resources import group_body
from connector.push.resources import group_model
from connector.push.resources import idp_group
from connector.push.resources import member_values
from connector.store.push_reads import EVERYTHING
from connector.store.push_reads import DirectoryLookup


def _group_location(group_id: str) -> str:
    return f"{base_url()}/Groups/{group_id}"


def _with_members(params: dict[str, Any] | None = None) -> bool:
    """Whether the answer shows members (reading them all is skipped when it does not)."""
    params = query_params() if params is None else params
    excluded = params.get("excludedAttributes", "")
    wanted = {a.strip().lower() for a in params.get("attributes", "").split(",") if a.strip()}
    listed = "members" not in {a.strip().lower() for a in excluded.split(",")}
    return listed and (not wanted or any(a.split(".")[0].endswith("members") for a in wanted))


def _group_answer(group_id: str, status: int = 200) -> Response:
    look = lookup()
    group = look.group(group_id)
    if group is None:
        raise not_found(f"Group {group_id}")
    members = look.members([group_id])[group_id]
    body = group_body(group, members, _group_location(group_id), with_members=_with_members(request.args))
    headers = {"ETag": group_body(group, members, "")["meta"]["version"]}
    if status == 201:
        headers["Location"] = body["meta"]["location"]
    return json_answer(project(body, request.args), status, headers)


def _group_version(look: DirectoryLookup, group_id: str) -> dict[str, Any]:
    group = look.group(group_id)
    if group is None:
        raise not_found(f"Group {group_id}")
    return group_body(group, look.members([group_id])[group_id], "")


@scim.get("/Groups")
@scim.post("/Groups/.search")
def list_groups() -> Response:
    params = query_params()
    raw = params.get("filter") or ""
    match = indexed_match(raw, "group") if raw else EVERYTHING
    keep = _with_members(params)
    look = lookup()
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
        return json_answer(page_response(bodies, total, start))
    groups = look.groups(EVERYTHING)
    members = look.members([x.idp_group_id for x in groups])
    bodies = [
        group_body(x, members[x.idp_group_id], _group_location(x.idp_group_id), with_members=keep)
        for x in groups
    ]
    found = filtered(raw, Group, bodies, [group_model(x, members[x.idp_group_id]) for x in groups])
    return json_answer(list_response([project(b, params) for b in found], params))


def _neutral_group(look: DirectoryLookup, model: Group, group_id: str) -> Any:
    """The neutral group of ``model``: its members that name groups of the directory are nested."""
    return idp_group(model, group_id, look.group_ids(member_values(model)))


@scim.get("/Groups/<group_id>")
def get_group(group_id: str) -> Response:
    return _group_answer(group_id)


@scim.post("/Groups")
def create_group() -> Response:
    model = read_resource(Group, read_body(), Context.RESOURCE_CREATION_REQUEST)
    group_id = str(uuid.uuid4())
    run_edit(edits.write_group(lambda look: _neutral_group(look, model, group_id), exists=False))
    return _group_answer(group_id, 201)


@scim.put("/Groups/<group_id>")
def replace_group(group_id: str) -> Response:
    check_if_match(_group_version(lookup(), group_id))
    model = read_resource(Group, read_body(), Context.RESOURCE_REPLACEMENT_REQUEST)
    run_edit(edits.write_group(lambda look: _neutral_group(look, model, group_id), exists=True))
    return _group_answer(group_id)


@scim.patch("/Groups/<group_id>")
def patch_group(group_id: str) -> Response:
    body = read_body()
    check_if_match(_group_version(lookup(), group_id))

    def patched(look: DirectoryLookup) -> Any:
        group = look.group(group_id)
        if group is None:
            raise not_found(f"Group {group_id}")
        model = apply_patch(Group, group_model(group, look.members([group_id])[group_id]), body)
        return _neutral_group(look, model, group_id)

    run_edit(edits.write_group(patched, exists=True))
    return _group_answer(group_id)


@scim.delete("/Groups/<group_id>")
def delete_group(group_id: str) -> Response:
    check_if_match(_group_version(lookup(), group_id))
    run_edit(edits.delete_group(group_id))
    return Response(status=204)
