"""SCIM writes (RFC 7644 §3.3, §3.5, §3.6): POST, PUT, PATCH and DELETE, honouring ``If-Match``.

SCIM ``active`` maps onto the directory's Okta statuses: a write that sets
``active: false`` suspends (``SUSPENDED``), ``true`` activates (``ACTIVE``);
a write that leaves ``active`` as it was keeps the status (so a
``DEPROVISIONED`` user stays deprovisioned, and shows ``active: false``).
A PATCH that removes ``active`` unassigns it (:func:`mock_idp.scim.patch.user_fields`).
"""

from __future__ import annotations

from typing import Any

from flask import Response
from flask import request

from mock_idp.scim.patch import apply_patch
from mock_idp.scim.patch import group_members
from mock_idp.scim.patch import normalize
from mock_idp.scim.patch import user_fields
from mock_idp.scim.wire import USER_KIND
from mock_idp.scim.wire import WRITE_SCOPES
from mock_idp.scim.wire import Kind
from mock_idp.scim.wire import ScimError
from mock_idp.scim.wire import authorize
from mock_idp.scim.wire import find_one
from mock_idp.scim.wire import request_body
from mock_idp.scim.wire import resource_response


def _check_version(kind: Kind, obj: Any) -> None:
    """RFC 7644 §3.14: a write with ``If-Match`` applies only to that version."""
    wanted = request.headers.get("If-Match")
    if wanted and wanted.strip() != "*" and kind.version(obj) not in [v.strip() for v in wanted.split(",")]:
        raise ScimError(412, f"the {kind.name} has changed: its version is now {kind.version(obj)}")


def create_view(kind: Kind) -> Response:
    """POST: a new user or group from a full resource; 201 with ``Location``."""
    directory = authorize(WRITE_SCOPES)
    doc = normalize(request_body(), kind.resolver)
    with directory.lock:
        if kind is USER_KIND:
            fields = user_fields(doc, None)
            obj = directory.add_user(fields.pop("user_name"), email=fields.pop("email"), **fields)
        else:
            name, external_id, users, groups, displays = group_members(doc, directory, None)
            obj = directory.add_group(name, external_id=external_id)
            directory.set_members(obj.object_id, users, groups, displays)
    return resource_response(kind, directory, obj, 201)


def write_view(kind: Kind, object_id: str, patch: bool) -> Response:
    """PUT (the whole resource) or PATCH (RFC 7644 §3.5.2 operations), under ``If-Match``."""
    directory = authorize(WRITE_SCOPES)
    body = request_body()
    with directory.lock:
        obj = find_one(kind, directory, object_id)
        _check_version(kind, obj)
        if patch:
            doc = apply_patch(kind.render(directory, obj), body, kind.resolver)
            if kind is USER_KIND:
                doc.setdefault("active", None)  # a patched resource with no 'active' has it unassigned
        else:
            doc = normalize(body, kind.resolver)
        if kind is USER_KIND:
            fields = user_fields(doc, obj)
            changed = {k: v for k, v in fields.items() if getattr(obj, k) != v}
            if changed:
                directory.update_user(obj.object_id, **changed)
        else:
            name, external_id, users, groups, displays = group_members(doc, directory, obj)
            changed = {
                k: v for k, v in (("name", name), ("external_id", external_id)) if getattr(obj, k) != v
            }
            if changed:
                directory.update_group(obj.object_id, **changed)
            directory.set_members(obj.object_id, users, groups, displays)
    return resource_response(kind, directory, obj)


def delete_view(kind: Kind, object_id: str) -> Response:
    """DELETE, under ``If-Match``; 204."""
    directory = authorize(WRITE_SCOPES)
    with directory.lock:
        obj = find_one(kind, directory, object_id)
        _check_version(kind, obj)
        if kind is USER_KIND:
            directory.delete_user(obj.object_id)
        else:
            directory.delete_group(obj.object_id)
    return Response(status=204)
