"""Microsoft Graph v1.0 over the directory: the blueprint, users, groups and members.

Wire shapes follow the protocols file §2 (GRAPH-DOCS ``user-list.md``,
``group-list-members.md``) and the v1.0 CSDL entity types ``user`` and
``group``; what every view shares (auth, headers, errors, paging) is in
:mod:`mock_idp.graph.wire`, the delta views in :mod:`mock_idp.graph.delta_view`.
``$top`` is 1..999 (default 100).  Filtered and sorted lists are memoised
with ``Directory.cached``, so a page costs O(page).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import Response
from flask import request

from mock_idp.auth_check import auth_failure_response
from mock_idp.context import AuthFailure
from mock_idp.graph import deleted_items as graph_deleted_items
from mock_idp.graph import delta_view as graph_delta_view
from mock_idp.graph.objects import GROUP_FILTERS
from mock_idp.graph.objects import GROUP_PROPERTIES
from mock_idp.graph.objects import USER_FILTERS
from mock_idp.graph.objects import USER_PROPERTIES
from mock_idp.graph.odata_filter import ODataFilterError
from mock_idp.graph.odata_filter import compile_filter
from mock_idp.graph.odata_query import Query
from mock_idp.graph.odata_query import QueryOptionError
from mock_idp.graph.odata_query import parse_query
from mock_idp.graph.odata_query import parse_select
from mock_idp.graph.wire import CONTENT_TYPE
from mock_idp.graph.wire import GROUP_SCOPES
from mock_idp.graph.wire import USER_SCOPES
from mock_idp.graph.wire import GraphError
from mock_idp.graph.wire import authorize
from mock_idp.graph.wire import context_url
from mock_idp.graph.wire import graph_headers
from mock_idp.graph.wire import group_json
from mock_idp.graph.wire import json_response
from mock_idp.graph.wire import member_json
from mock_idp.graph.wire import page
from mock_idp.graph.wire import renderer
from mock_idp.graph.wire import user_json
from mock_idp.state.directory import Directory
from mock_idp.state.directory import Group
from mock_idp.state.directory import StateError
from mock_idp.state.directory import User

__all__ = ["CONTENT_TYPE", "GraphError", "blueprint", "renderer"]

blueprint = Blueprint("graph", __name__, url_prefix="/v1.0")


@blueprint.errorhandler(GraphError)
def _graph_error(exc: GraphError) -> Response:
    response = renderer.error(exc.status, exc.message, code=exc.code)
    response.headers.update(exc.headers)
    return response


@blueprint.errorhandler(QueryOptionError)
def _query_error(exc: QueryOptionError) -> Response:
    return renderer.error(400, exc.message, code=exc.code)


@blueprint.errorhandler(AuthFailure)
def _auth_failure(exc: AuthFailure) -> Response:
    return auth_failure_response(exc, renderer)


# ---------------------------------------------------------------- collections


def _filtered(directory: Directory, kind: str, query: Query) -> tuple[Any, ...]:
    filters = USER_FILTERS if kind == "users" else GROUP_FILTERS
    snapshot = directory.users_snapshot if kind == "users" else directory.groups_snapshot
    if query.filter is None and query.orderby is None:
        return snapshot()
    if query.orderby and query.orderby.split()[0] not in filters:
        raise GraphError(
            400, f"Sorting {kind} by '{query.orderby}' is not supported.", "Request_UnsupportedQuery"
        )
    predicate = None
    if query.filter is not None:
        try:
            predicate = compile_filter(query.filter, filters, advanced=query.advanced)
        except ODataFilterError as exc:
            code = "Request_UnsupportedQuery" if exc.unsupported else "Request_BadRequest"
            raise GraphError(400, exc.message, code) from None

    def build() -> tuple[Any, ...]:
        items = [o for o in snapshot() if predicate is None or predicate(o)]
        if query.orderby:
            prop, *direction = query.orderby.split()
            get = filters[prop]
            items.sort(key=lambda o: (get(o) or "").lower(), reverse=direction == ["desc"])
        return tuple(items)

    return directory.cached(("graph", kind, query.filter, query.orderby, query.advanced), build)


def _not_found(key: str) -> GraphError:
    return GraphError(
        404,
        f"Resource '{key}' does not exist or one of its queried reference-property objects are not present.",
    )


def _user(directory: Directory, key: str) -> User:
    if "@" in key:
        by_upn = directory.cached(
            ("graph", "upn"), lambda: {u.upn.lower(): u for u in directory.users_snapshot()}
        )
        found = by_upn.get(key.lower())
        if found is not None:
            return found
    try:
        return directory.user(key)
    except StateError:
        raise _not_found(key) from None


def _group(directory: Directory, key: str) -> Group:
    try:
        return directory.group(key)
    except StateError:
        raise _not_found(key) from None


@blueprint.get("/users")
def list_users() -> Response:
    directory = authorize(USER_SCOPES)
    query = parse_query(request.args, request.headers, USER_PROPERTIES, "user")
    return page(_filtered(directory, "users", query), query, "users", user_json)


@blueprint.get("/groups")
def list_groups() -> Response:
    directory = authorize(GROUP_SCOPES)
    query = parse_query(request.args, request.headers, GROUP_PROPERTIES, "group")
    return page(_filtered(directory, "groups", query), query, "groups", group_json)


@blueprint.get("/users/<key>")
def get_user(key: str) -> Response:
    directory = authorize(USER_SCOPES)
    select = parse_select(request.args, USER_PROPERTIES, entity="user")
    return _entity("users", select, user_json(_user(directory, key), select))


@blueprint.delete("/users/<key>")
def delete_user(key: str) -> Response:
    """A user deleted by id or UPN moves to the deleted items (:mod:`mock_idp.graph.deleted_items`)."""
    directory = authorize(graph_deleted_items.WRITE_SCOPES)
    try:
        directory.soft_delete_user(_user(directory, key).object_id)
    except StateError:  # deleted meanwhile
        raise _not_found(key) from None
    return graph_deleted_items.no_content()


@blueprint.get("/groups/<key>")
def get_group(key: str) -> Response:
    directory = authorize(GROUP_SCOPES)
    select = parse_select(request.args, GROUP_PROPERTIES, entity="group")
    return _entity("groups", select, group_json(_group(directory, key), select))


def _entity(entity_set: str, select: tuple[str, ...] | None, body: dict[str, Any]) -> Response:
    """One object of ``entity_set``: its ``@odata.context`` ends ``/$entity``."""
    return json_response({"@odata.context": context_url(entity_set, select) + "/$entity", **body})


def _members(directory: Directory, group: Group, transitive: bool) -> tuple[Any, ...]:
    """Direct members (users, then nested groups) or the transitive closure, cycles cut."""

    def build() -> tuple[Any, ...]:
        if not transitive:
            return tuple(directory.users[u] for u in group.user_ids) + tuple(
                directory.groups[x] for x in group.group_ids
            )
        out: list[Any] = []
        seen = {group.object_id}
        seen_users: set[str] = set()
        queue = [group]
        while queue:
            current_group = queue.pop(0)
            for uid in current_group.user_ids:
                if uid not in seen_users:
                    seen_users.add(uid)
                    out.append(directory.users[uid])
            for gid in current_group.group_ids:
                if gid not in seen:
                    seen.add(gid)
                    out.append(directory.groups[gid])
                    queue.append(directory.groups[gid])
        return tuple(out)

    return directory.cached(("graph", "members", group.object_id, transitive), build)


# Member types of group-list-members.md; the directory holds users and groups only.
_MEMBER_TYPES = {"user": User, "group": Group, "orgContact": None, "device": None, "servicePrincipal": None}


def _cast(cast: str) -> str:
    """The type an OData cast segment names.  Graph takes the namespace ``microsoft.graph.``
    or its CSDL alias ``graph.`` (``<Schema Namespace="microsoft.graph" Alias="graph">``);
    msgraph-sdk sends the alias: ``/members/graph.user``."""
    for prefix in ("microsoft.graph.", "graph."):
        if cast.startswith(prefix) and cast[len(prefix) :] in _MEMBER_TYPES:
            return cast[len(prefix) :]
    raise GraphError(404, f"The type cast '{cast}' is not supported on members.")


def _member_list(key: str, cast: str | None, transitive: bool, *, count: bool = False) -> Response:
    directory = authorize(GROUP_SCOPES)
    group = _group(directory, key)
    if "$filter" in request.args or "$orderby" in request.args:
        raise GraphError(
            400, "Filtering or sorting members is not supported here.", "Request_UnsupportedQuery"
        )
    kind = None if cast is None else _cast(cast)
    items = _members(directory, group, transitive)
    if kind is not None:
        wanted = _MEMBER_TYPES[kind]
        items = tuple(m for m in items if wanted is not None and isinstance(m, wanted))
    if count:
        return _count(len(items))
    query = parse_query(
        request.args, request.headers, {**USER_PROPERTIES, **GROUP_PROPERTIES}, "directoryObject"
    )
    if kind is None:
        return page(items, query, "directoryObjects", member_json)
    return page(items, query, f"{kind}s", group_json if kind == "group" else user_json)


@blueprint.get("/groups/<key>/members")
@blueprint.get("/groups/<key>/members/<cast>")
def list_members(key: str, cast: str | None = None) -> Response:
    return _member_list(key, cast, transitive=False)


@blueprint.get("/groups/<key>/transitiveMembers")
@blueprint.get("/groups/<key>/transitiveMembers/<cast>")
def list_transitive_members(key: str, cast: str | None = None) -> Response:
    return _member_list(key, cast, transitive=True)


# ---------------------------------------------------------------- $count segments


def _count(n: int) -> Response:
    """A ``/$count`` answer: the number as ``text/plain`` (user-list.md, "Get only a count of
    users"); like ``$count=true`` it needs ``ConsistencyLevel: eventual`` (protocols file §2.2)."""
    if request.headers.get("ConsistencyLevel", "").lower() != "eventual":
        raise GraphError(
            400, "$count is not currently supported without the ConsistencyLevel: eventual header."
        )
    if "$search" in request.args:
        raise GraphError(400, "Query option '$search' is not supported here.", "Request_UnsupportedQuery")
    response = Response(str(n), status=200)
    graph_headers(response)
    response.headers["Content-Type"] = "text/plain;charset=utf-8"
    return response


@blueprint.get("/users/$count")
def count_users() -> Response:
    directory = authorize(USER_SCOPES)
    query = Query(filter=request.args.get("$filter"), advanced=True)
    return _count(len(_filtered(directory, "users", query)))


@blueprint.get("/groups/$count")
def count_groups() -> Response:
    directory = authorize(GROUP_SCOPES)
    query = Query(filter=request.args.get("$filter"), advanced=True)
    return _count(len(_filtered(directory, "groups", query)))


@blueprint.get("/groups/<key>/members/$count")
@blueprint.get("/groups/<key>/members/<cast>/$count")
def count_members(key: str, cast: str | None = None) -> Response:
    return _member_list(key, cast, transitive=False, count=True)


@blueprint.get("/groups/<key>/transitiveMembers/$count")
@blueprint.get("/groups/<key>/transitiveMembers/<cast>/$count")
def count_transitive_members(key: str, cast: str | None = None) -> Response:
    return _member_list(key, cast, transitive=True, count=True)


@blueprint.route("/<path:unknown>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unknown_segment(unknown: str) -> Response:
    """Paths this mock does not serve answer in Graph's error shape, not an HTML page,
    naming the first segment it cannot resolve (``memberOf`` in ``users/{id}/memberOf``)."""
    parts = unknown.split("/")
    segment = parts[2] if parts[0] in ("users", "groups") and len(parts) > 2 else parts[0]
    if request.method != "GET":
        raise GraphError(
            405,
            f"This mock serves reads and user deletion only; {request.method} /v1.0/{unknown} "
            "is not supported.",
        )
    raise GraphError(400, f"Resource not found for the segment '{segment}'.", "BadRequest")


_DELETED_ITEMS = (
    ("/directory/deletedItems", "list", graph_deleted_items.list_deleted, "GET"),
    ("/directory/deletedItems/<key>", "get", graph_deleted_items.get_deleted, "GET"),
    ("/directory/deletedItems/<key>", "purge", graph_deleted_items.purge_deleted, "DELETE"),
    ("/directory/deletedItems/<key>/restore", "restore", graph_deleted_items.restore_deleted, "POST"),
)
for _rule, _name, _view, _method in _DELETED_ITEMS:
    blueprint.add_url_rule(_rule, endpoint=f"deleted_items_{_name}", view_func=_view, methods=[_method])

for _kind in ("users", "groups"):
    for _name in ("delta", "delta()", "microsoft.graph.delta", "microsoft.graph.delta()"):
        blueprint.add_url_rule(
            f"/{_kind}/{_name}",
            endpoint=f"{_kind}_{_name.replace('.', '_').replace('()', '_call')}",
            view_func=(lambda kind=_kind: graph_delta_view.delta(kind)),  # type: ignore[misc]
            methods=["GET"],
        )
