"""Microsoft Graph v1.0 over the directory: users, groups, members, delta.

Wire shapes follow the protocols file §2 (GRAPH-DOCS ``user-list.md``,
``group-list-members.md``, ``concepts/paging``, ``concepts/errors``) and the
v1.0 CSDL entity types ``user`` and ``group``.  Collections page with an
absolute ``@odata.nextLink`` whose ``$skiptoken`` carries the position and the
original query options; ``$top`` is 1..999 (default 100).  Filtered and
sorted lists are memoised with ``Directory.cached``, so a page costs O(page).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime
from datetime import timezone
from typing import Any

from flask import Blueprint
from flask import Response
from flask import g
from flask import request

from mock_idp import graph_delta
from mock_idp.context import AuthFailure
from mock_idp.context import current
from mock_idp.graph_objects import GROUP_DEFAULT
from mock_idp.graph_objects import GROUP_FILTERS
from mock_idp.graph_objects import GROUP_PROPERTIES
from mock_idp.graph_objects import USER_DEFAULT
from mock_idp.graph_objects import USER_FILTERS
from mock_idp.graph_objects import USER_PROPERTIES
from mock_idp.graph_objects import render
from mock_idp.oauth import auth_failure_response
from mock_idp.oauth import require_auth
from mock_idp.odata_filter import DEFAULT_TOP
from mock_idp.odata_filter import MAX_TOP
from mock_idp.odata_filter import ODataFilterError
from mock_idp.odata_filter import Query
from mock_idp.odata_filter import QueryOptionError
from mock_idp.odata_filter import compile_filter
from mock_idp.odata_filter import parse_query
from mock_idp.odata_filter import parse_select
from mock_idp.state import Directory
from mock_idp.state import Group
from mock_idp.state import StateError
from mock_idp.state import User

blueprint = Blueprint("graph", __name__, url_prefix="/v1.0")

CONTENT_TYPE = (
    "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
)
USER_SCOPES = ("User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All")
GROUP_SCOPES = ("Group.Read.All", "GroupMember.Read.All", "Directory.Read.All", "Group.ReadWrite.All")
_DEFAULT_CODES = {
    400: "Request_BadRequest",
    401: "InvalidAuthenticationToken",
    403: "Authorization_RequestDenied",
    404: "Request_ResourceNotFound",
    405: "Request_BadRequest",
    410: "resyncRequired",
    429: "TooManyRequests",
    500: "generalException",
    501: "NotImplemented",
    503: "serviceNotAvailable",
}


class GraphError(Exception):
    """Raised by views; rendered in Graph's error shape."""

    def __init__(
        self, status: int, message: str, code: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = headers or {}


def _request_ids() -> tuple[str, str]:
    if "graph_request_id" not in g:
        g.graph_request_id = str(uuid.uuid4())
    client_id = request.headers.get("client-request-id") or g.graph_request_id
    return g.graph_request_id, client_id


def _json(body: dict[str, Any], status: int = 200) -> Response:
    response = Response(json.dumps(body, separators=(",", ":")), status=status)
    _headers(response)
    return response


def _headers(response: Response) -> None:
    request_id, client_request_id = _request_ids()
    response.headers["Content-Type"] = CONTENT_TYPE
    response.headers["request-id"] = request_id
    response.headers["client-request-id"] = client_request_id
    response.headers["OData-Version"] = "4.0"


class GraphRenderer:
    """Graph's error and throttling shapes (protocols file §2.8, §2.9)."""

    dialect = "graph"

    def error(self, status: int, message: str, *, code: str | None = None) -> Response:
        request_id, client_request_id = _request_ids()
        inner = {
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"),
            "request-id": request_id,
            "client-request-id": client_request_id,
        }
        code = code or _DEFAULT_CODES.get(status, "generalException")
        return _json({"error": {"code": code, "message": message, "innerError": inner}}, status)

    def rate_limited(self, *, limit: int, reset_epoch: int, retry_after: int) -> Response:
        request_id, client_request_id = _request_ids()
        inner = {
            "code": "429",
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"),
            "message": "Please retry after",
            "request-id": request_id,
            "client-request-id": client_request_id,
            "status": "429",
        }
        body = {
            "error": {"code": "TooManyRequests", "innerError": inner, "message": "Please retry again later."}
        }
        response = _json(body, 429)
        response.headers["Retry-After"] = str(int(retry_after))
        return response

    def decorate(self, response: Response, *, limit: int, remaining: int, reset_epoch: int) -> None:
        """Graph sends no rate-limit headers on ordinary answers."""


renderer = GraphRenderer()


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


def _auth(scopes: tuple[str, ...]) -> Directory:
    require_auth("graph", scopes)
    return current().directory


# ---------------------------------------------------------------- collections


def _context(entity_set: str, select: tuple[str, ...] | None) -> str:
    base = f"{request.host_url}v1.0/$metadata#{entity_set}"
    return f"{base}({','.join(select)})" if select else base


def _page(
    items: tuple[Any, ...],
    query: Query,
    entity_set: str,
    render_one: Callable[[Any, tuple[str, ...] | None], dict[str, Any]],
) -> Response:
    first = _resume_at(items, query)
    window = items[first : first + query.top]
    body: dict[str, Any] = {"@odata.context": _context(entity_set, query.select)}
    if query.count:
        body["@odata.count"] = len(items)
    nxt = first + len(window)
    if nxt < len(items) and not g.get("truncate_page"):
        token = query.encode(nxt, window[-1].object_id)
        body["@odata.nextLink"] = f"{request.host_url}{request.path.lstrip('/')}?$skiptoken={token}"
    body["value"] = [render_one(obj, query.select) for obj in window]
    return _json(body)


def _resume_at(items: tuple[Any, ...], query: Query) -> int:
    """Where the next page starts: after the previous page's last object, found
    where it was (O(1)) or, when the list changed meanwhile, by a scan; at the
    recorded offset when that object is gone."""
    if not query.last:
        return query.offset
    if 0 < query.offset <= len(items) and items[query.offset - 1].object_id == query.last:
        return query.offset
    for index, obj in enumerate(items):
        if obj.object_id == query.last:
            return index + 1
    return min(query.offset, len(items))


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


def _user_json(obj: User, select: tuple[str, ...] | None) -> dict[str, Any]:
    return render(current().directory, obj, USER_PROPERTIES, select or USER_DEFAULT)


def _group_json(obj: Group, select: tuple[str, ...] | None) -> dict[str, Any]:
    return render(current().directory, obj, GROUP_PROPERTIES, select or GROUP_DEFAULT)


def _member_json(obj: Any, select: tuple[str, ...] | None) -> dict[str, Any]:
    """A directoryObject: its ``@odata.type``, then the selected properties its type has."""
    is_user = isinstance(obj, User)
    properties = USER_PROPERTIES if is_user else GROUP_PROPERTIES
    if select is not None:
        select = tuple(p for p in select if p in properties) or ("id",)
    body = _user_json(obj, select) if is_user else _group_json(obj, select)
    return {"@odata.type": f"#microsoft.graph.{'user' if is_user else 'group'}", **body}


@blueprint.get("/users")
def list_users() -> Response:
    directory = _auth(USER_SCOPES)
    query = parse_query(request.args, request.headers, USER_PROPERTIES, "user")
    return _page(_filtered(directory, "users", query), query, "users", _user_json)


@blueprint.get("/groups")
def list_groups() -> Response:
    directory = _auth(GROUP_SCOPES)
    query = parse_query(request.args, request.headers, GROUP_PROPERTIES, "group")
    return _page(_filtered(directory, "groups", query), query, "groups", _group_json)


@blueprint.get("/users/<key>")
def get_user(key: str) -> Response:
    directory = _auth(USER_SCOPES)
    select = parse_select(request.args, USER_PROPERTIES, entity="user")
    body = {
        "@odata.context": _context("users", select) + "/$entity",
        **_user_json(_user(directory, key), select),
    }
    return _json(body)


@blueprint.get("/groups/<key>")
def get_group(key: str) -> Response:
    directory = _auth(GROUP_SCOPES)
    select = parse_select(request.args, GROUP_PROPERTIES, entity="group")
    body = {
        "@odata.context": _context("groups", select) + "/$entity",
        **_group_json(_group(directory, key), select),
    }
    return _json(body)


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


def _member_list(key: str, cast: str | None, transitive: bool) -> Response:
    directory = _auth(GROUP_SCOPES)
    group = _group(directory, key)
    if "$filter" in request.args or "$orderby" in request.args:
        raise GraphError(
            400, "Filtering or sorting members is not supported here.", "Request_UnsupportedQuery"
        )
    if cast not in (None, "microsoft.graph.user", "microsoft.graph.group"):
        raise GraphError(404, f"The type cast '{cast}' is not supported on members.")
    query = parse_query(
        request.args, request.headers, {**USER_PROPERTIES, **GROUP_PROPERTIES}, "directoryObject"
    )
    items = _members(directory, group, transitive)
    if cast is not None:
        wanted = User if cast == "microsoft.graph.user" else Group
        items = tuple(m for m in items if isinstance(m, wanted))
        entity_set = "users" if wanted is User else "groups"
        return _page(items, query, entity_set, _user_json if wanted is User else _group_json)
    return _page(items, query, "directoryObjects", _member_json)


@blueprint.get("/groups/<key>/members")
@blueprint.get("/groups/<key>/members/<cast>")
def list_members(key: str, cast: str | None = None) -> Response:
    return _member_list(key, cast, transitive=False)


@blueprint.get("/groups/<key>/transitiveMembers")
@blueprint.get("/groups/<key>/transitiveMembers/<cast>")
def list_transitive_members(key: str, cast: str | None = None) -> Response:
    return _member_list(key, cast, transitive=True)


# ---------------------------------------------------------------- delta


def _delta(kind: graph_delta.Kind) -> Response:
    directory = _auth(USER_SCOPES if kind == "users" else GROUP_SCOPES)
    properties = USER_PROPERTIES if kind == "users" else GROUP_PROPERTIES
    base = f"{request.host_url}v1.0/{kind}/delta"
    args = request.args
    try:
        token = args.get("$skiptoken") or args.get("$deltatoken")
        if token and token != "latest":
            state = graph_delta.decode_token(directory, token, kind, gone_location=f"{base}?$deltatoken=")
            if "$skiptoken" not in args:
                state = graph_delta.open_round(directory, state)
        else:
            for option in ("$top", "$orderby", "$expand"):
                if option in args:
                    raise GraphError(
                        400,
                        f"Query option '{option}' is not supported with delta.",
                        "Request_UnsupportedQuery",
                    )
            select = parse_select(
                request.args, properties, extra=("members",) if kind == "groups" else (), entity=kind[:-1]
            )
            ids = graph_delta.scope_ids(args["$filter"]) if "$filter" in args else None
            state = graph_delta.start_state(directory, kind, select, ids, latest=token == "latest")
        if not state.initial and state.start == state.end and token == "latest":
            page = graph_delta.DeltaPage(delta_state=state)
        else:
            page = graph_delta.run(
                directory,
                state,
                _page_size(),
                _delta_render(_user_json if kind == "users" else _group_json),
                _member_refs,
            )
    except graph_delta.DeltaError as exc:
        headers = {"Location": exc.location} if exc.location else {}
        raise GraphError(exc.status, exc.message, exc.code, headers) from None
    body: dict[str, Any] = {"@odata.context": _context(kind, state.select)}
    if page.next_state is not None:
        if not g.get("truncate_page"):
            body["@odata.nextLink"] = (
                f"{base}?$skiptoken={graph_delta.encode_token(directory, page.next_state)}"
            )
    elif page.delta_state is not None:
        body["@odata.deltaLink"] = (
            f"{base}?$deltatoken={graph_delta.encode_token(directory, page.delta_state)}"
        )
    body["value"] = page.value
    return _json(body)


def _delta_render(render_one: Callable[[Any, tuple[str, ...] | None], dict[str, Any]]):  # type: ignore[no-untyped-def]
    def render_with_id(obj: Any, select: tuple[str, ...] | None) -> dict[str, Any]:
        item = render_one(obj, select)
        return item if "id" in item else {"id": obj.object_id, **item}

    return render_with_id


def _member_refs(group: Group) -> list[dict[str, Any]]:
    return [{"@odata.type": "#microsoft.graph.user", "id": u} for u in group.user_ids] + [
        {"@odata.type": "#microsoft.graph.group", "id": x} for x in group.group_ids
    ]


def _page_size() -> int:
    """``Prefer: odata.maxpagesize=N`` (1..999) sets the delta page size; 100 without it."""
    for part in request.headers.get("Prefer", "").split(","):
        name, _, value = part.strip().partition("=")
        if name.lower() == "odata.maxpagesize" and value.isdigit():
            return max(1, min(MAX_TOP, int(value)))
    return DEFAULT_TOP


@blueprint.route("/<path:unknown>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unknown_segment(unknown: str) -> Response:
    """Paths this mock does not serve answer in Graph's error shape, not an HTML page."""
    segment = unknown.split("/")[0]
    if request.method != "GET":
        raise GraphError(
            405, f"This mock serves reads only; {request.method} /v1.0/{unknown} is not supported."
        )
    raise GraphError(400, f"Resource not found for the segment '{segment}'.", "BadRequest")


for _kind in ("users", "groups"):
    for _name in ("delta", "delta()", "microsoft.graph.delta", "microsoft.graph.delta()"):
        blueprint.add_url_rule(
            f"/{_kind}/{_name}",
            endpoint=f"{_kind}_{_name.replace('.', '_').replace('()', '_call')}",
            view_func=(lambda kind=_kind: _delta(kind)),  # type: ignore[misc]
            methods=["GET"],
        )
