"""Graph's deleted items and user deletion: the soft delete, the restore and the permanent delete.

Routes (registered on the Graph blueprint by :mod:`mock_idp.graph.views`):

* ``DELETE /users/{id}`` (in :mod:`mock_idp.graph.views`) moves a user there
  (GRAPH-DOCS ``user-delete.md``): 204;
* ``GET /directory/deletedItems/microsoft.graph.user`` (or ``graph.user``) lists them,
  paged like ``/users``, with ``deletedDateTime`` and the UPN Entra gives a deleted
  user; ``…/microsoft.graph.group`` is always empty, since the mock's groups are
  security groups, which Entra deletes permanently; without a cast it is a 400, as
  ``directory-deleteditems-list.md`` says;
* ``GET /directory/deletedItems/{id}`` is one of them, with its ``@odata.type``;
* ``POST /directory/deletedItems/{id}/restore`` brings it back: 200 and the user
  (``directory-deleteditems-restore.md``); a 400 while another user holds its UPN;
* ``DELETE /directory/deletedItems/{id}`` deletes it for good: 204
  (``directory-deleteditems-delete.md``).

Reads take the list permissions of users (``User.Read.All``…); writes take
``User.DeleteRestore.All``, ``User.ReadWrite.All`` or ``Directory.ReadWrite.All``.
An unknown id is a 404 ``Request_ResourceNotFound``.
"""

from __future__ import annotations

from typing import Any

from flask import Response
from flask import request

from mock_idp.graph.objects import GROUP_PROPERTIES
from mock_idp.graph.objects import USER_PROPERTIES
from mock_idp.graph.objects import graph_time
from mock_idp.graph.odata_query import parse_query
from mock_idp.graph.odata_query import parse_select
from mock_idp.graph.wire import GROUP_SCOPES
from mock_idp.graph.wire import USER_SCOPES
from mock_idp.graph.wire import GraphError
from mock_idp.graph.wire import authorize
from mock_idp.graph.wire import context_url
from mock_idp.graph.wire import graph_headers
from mock_idp.graph.wire import json_response
from mock_idp.graph.wire import page
from mock_idp.graph.wire import user_json
from mock_idp.state.deleted_items import DeletedUser
from mock_idp.state.directory import Directory
from mock_idp.state.directory import StateError

WRITE_SCOPES = ("User.DeleteRestore.All", "User.ReadWrite.All", "Directory.ReadWrite.All")
_USER_CASTS = ("microsoft.graph.user", "graph.user")
_GROUP_CASTS = ("microsoft.graph.group", "graph.group")


def _not_found(key: str) -> GraphError:
    return GraphError(
        404,
        f"Resource '{key}' does not exist or one of its queried reference-property objects are not present.",
    )


def _deleted(directory: Directory, key: str) -> DeletedUser:
    found = directory.deleted_users.get(key)
    if found is None:
        raise _not_found(key)
    return found


def deleted_user_json(item: DeletedUser, select: tuple[str, ...] | None) -> dict[str, Any]:
    """A deleted user as Graph shows it: its properties, its ``deletedDateTime`` (selected, or
    added to the default set) and its renamed UPN (``{id without dashes}{old UPN}``)."""
    body = user_json(item.user, select)
    if select is None or "deletedDateTime" in body:
        body["deletedDateTime"] = graph_time(item.deleted)
    if "userPrincipalName" in body:
        body["userPrincipalName"] = item.deleted_upn
    if "mailNickname" in body:
        body["mailNickname"] = item.deleted_upn.split("@")[0]
    return body


def list_deleted(cast: str | None = None) -> Response:
    """``GET /directory/deletedItems/{cast}``: the deleted users, or no groups."""
    if cast in _GROUP_CASTS:
        authorize(GROUP_SCOPES)
        query = parse_query(request.args, request.headers, GROUP_PROPERTIES, "group")
        return page((), query, "directoryObjects/microsoft.graph.group", deleted_user_json)  # type: ignore[arg-type]
    if cast is None:
        authorize(USER_SCOPES)
        raise GraphError(
            400,
            "The OData cast to a type (microsoft.graph.user or microsoft.graph.group) "
            "is required when listing deleted items.",
            "Request_BadRequest",
        )
    directory = authorize(USER_SCOPES)
    if cast not in _USER_CASTS:
        raise GraphError(404, f"The type cast '{cast}' is not supported on deleted items.")
    query = parse_query(request.args, request.headers, USER_PROPERTIES, "user")
    if query.filter is not None or query.orderby is not None:
        raise GraphError(
            400, "Filtering or sorting deleted items is not supported here.", "Request_UnsupportedQuery"
        )
    with directory.lock:
        items = tuple(sorted(directory.deleted_users.values(), key=lambda d: d.deleted))
    return page(items, query, "directoryObjects/microsoft.graph.user", deleted_user_json)


def get_deleted(key: str) -> Response:
    """``GET /directory/deletedItems/{id}``: one deleted user, typed; a cast segment in place
    of the id is the list of that type."""
    if "." in key:
        return list_deleted(key)
    directory = authorize(USER_SCOPES)
    select = parse_select(request.args, USER_PROPERTIES, entity="user")
    body = deleted_user_json(_deleted(directory, key), select)
    return json_response(
        {
            "@odata.context": context_url("directoryObjects", None) + "/$entity",
            "@odata.type": "#microsoft.graph.user",
            **body,
        }
    )


def restore_deleted(key: str) -> Response:
    """``POST /directory/deletedItems/{id}/restore``: the user is back, with its id and groups."""
    directory = authorize(WRITE_SCOPES)
    try:
        user = directory.restore_user(_deleted(directory, key).object_id)
    except StateError as exc:
        if exc.kind == "not_found":  # restored or deleted for good meanwhile
            raise _not_found(key) from None
        raise GraphError(
            400,
            "Another object with the same value for property userPrincipalName already exists.",
            "Request_BadRequest",
        ) from None
    return json_response(
        {
            "@odata.context": context_url("directoryObjects", None) + "/$entity",
            "@odata.type": "#microsoft.graph.user",
            **user_json(user, None),
        }
    )


def purge_deleted(key: str) -> Response:
    """``DELETE /directory/deletedItems/{id}``: the user is gone for good."""
    directory = authorize(WRITE_SCOPES)
    try:
        directory.purge_user(_deleted(directory, key).object_id)
    except StateError:  # restored or deleted for good meanwhile
        raise _not_found(key) from None
    return no_content()


def no_content() -> Response:
    """A 204 with Graph's headers and no body."""
    response = Response(status=204)
    graph_headers(response)
    del response.headers["Content-Type"]
    return response
