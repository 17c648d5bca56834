"""What every Graph view shares: auth, Graph's headers and error shapes, paging, objects.

Wire shapes follow the protocols file §2 (GRAPH-DOCS ``concepts/paging``,
``concepts/errors``).  Collections page with an absolute ``@odata.nextLink``
whose ``$skiptoken`` carries the position and the original query options.
Every answer carries ``request-id``, ``client-request-id`` and ``OData-Version``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime
from datetime import timezone
from typing import Any

from flask import Response
from flask import g
from flask import request

from mock_idp.auth_check import require_auth
from mock_idp.context import current
from mock_idp.graph.objects import GROUP_DEFAULT
from mock_idp.graph.objects import GROUP_PROPERTIES
from mock_idp.graph.objects import USER_DEFAULT
from mock_idp.graph.objects import USER_PROPERTIES
from mock_idp.graph.objects import render
from mock_idp.graph.odata_query import Query
from mock_idp.state.directory import Directory
from mock_idp.state.directory import Group
from mock_idp.state.directory import User

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


def request_ids() -> tuple[str, str]:
    if "graph_request_id" not in g:
        g.graph_request_id = str(uuid.uuid4())
    client_id = request.headers.get("client-request-id") or g.graph_request_id
    return g.graph_request_id, client_id


def json_response(body: dict[str, Any], status: int = 200) -> Response:
    response = Response(json.dumps(body, separators=(",", ":")), status=status)
    graph_headers(response)
    return response


def graph_headers(response: Response) -> None:
    request_id, client_request_id = request_ids()
    response.headers["Content-Type"] = CONTENT_TYPE
    response.headers["request-id"] = request_id
    response.headers["client-request-id"] = client_request_id
    response.headers["OData-Version"] = "4.0"


class GraphRenderer:
    """Graph's error and throttling shapes (protocols file §2.8, §2.9)."""

    dialect = "graph"

    def error(self, status: int, message: str, *, code: str | None = None) -> Response:
        request_id, client_request_id = request_ids()
        inner = {
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"),
            "request-id": request_id,
            "client-request-id": client_request_id,
        }
        code = code or _DEFAULT_CODES.get(status, "generalException")
        return json_response({"error": {"code": code, "message": message, "innerError": inner}}, status)

    def rate_limited(self, *, limit: int, reset_epoch: int, retry_after: int) -> Response:
        request_id, client_request_id = request_ids()
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
        response = json_response(body, 429)
        response.headers["Retry-After"] = str(int(retry_after))
        return response

    def decorate(self, response: Response, *, limit: int, remaining: int, reset_epoch: int) -> None:
        """Graph sends no rate-limit headers on ordinary answers."""


renderer = GraphRenderer()


def authorize(scopes: tuple[str, ...]) -> Directory:
    """The directory, once the request's Graph token holds one of ``scopes``."""
    require_auth("graph", scopes)
    return current().directory


def context_url(entity_set: str, select: tuple[str, ...] | None) -> str:
    """The ``@odata.context`` of a collection, naming the ``$select`` as Graph does."""
    base = f"{request.host_url}v1.0/$metadata#{entity_set}"
    return f"{base}({','.join(select)})" if select else base


def page(
    items: tuple[Any, ...],
    query: Query,
    entity_set: str,
    render_one: Callable[[Any, tuple[str, ...] | None], dict[str, Any]],
) -> Response:
    """One page of ``items`` as a Graph collection, with ``@odata.nextLink`` if more follow."""
    first = resume_at(items, query)
    window = items[first : first + query.top]
    body: dict[str, Any] = {"@odata.context": context_url(entity_set, query.select)}
    if query.count:
        body["@odata.count"] = len(items)
    nxt = first + len(window)
    if nxt < len(items) and not g.get("truncate_page"):
        token = query.encode(nxt, window[-1].object_id)
        body["@odata.nextLink"] = f"{request.host_url}{request.path.lstrip('/')}?$skiptoken={token}"
    body["value"] = [render_one(obj, query.select) for obj in window]
    return json_response(body)


def resume_at(items: tuple[Any, ...], query: Query) -> int:
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


def user_json(obj: User, select: tuple[str, ...] | None) -> dict[str, Any]:
    """A user's selected properties (Graph's default set without ``$select``)."""
    return render(current().directory, obj, USER_PROPERTIES, select or USER_DEFAULT)


def group_json(obj: Group, select: tuple[str, ...] | None) -> dict[str, Any]:
    """A group's selected properties (Graph's default set without ``$select``)."""
    return render(current().directory, obj, GROUP_PROPERTIES, select or GROUP_DEFAULT)


def member_json(obj: Any, select: tuple[str, ...] | None) -> dict[str, Any]:
    """A directoryObject: its ``@odata.type``, then the selected properties its type has."""
    is_user = isinstance(obj, User)
    properties = USER_PROPERTIES if is_user else GROUP_PROPERTIES
    if select is not None:
        select = tuple(p for p in select if p in properties) or ("id",)
    body = user_json(obj, select) if is_user else group_json(obj, select)
    return {"@odata.type": f"#microsoft.graph.{'user' if is_user else 'group'}", **body}
