"""Graph's delta views: ``GET /v1.0/{users,groups}/delta`` (GRAPH-DOCS ``concepts/delta-query-*.md``).

The rounds, tokens and refusals are :mod:`mock_idp.graph.delta`'s; this module
reads the request, picks the page size from ``Prefer: odata.maxpagesize`` and
answers with ``@odata.nextLink`` inside a round and ``@odata.deltaLink`` at its end.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response
from flask import g
from flask import request

from mock_idp.graph import delta as graph_delta
from mock_idp.graph.objects import GROUP_PROPERTIES
from mock_idp.graph.objects import USER_PROPERTIES
from mock_idp.graph.odata_query import DEFAULT_TOP
from mock_idp.graph.odata_query import MAX_TOP
from mock_idp.graph.odata_query import parse_select
from mock_idp.graph.wire import GROUP_SCOPES
from mock_idp.graph.wire import USER_SCOPES
from mock_idp.graph.wire import GraphError
from mock_idp.graph.wire import authorize
from mock_idp.graph.wire import context_url
from mock_idp.graph.wire import group_json
from mock_idp.graph.wire import json_response
from mock_idp.graph.wire import user_json
from mock_idp.state.directory import Group


def delta(kind: graph_delta.Kind) -> Response:
    """One page of a delta round; ``$deltatoken=latest`` starts at the log's end with no items."""
    directory = authorize(USER_SCOPES if kind == "users" else GROUP_SCOPES)
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
                _delta_render(user_json if kind == "users" else group_json),
                _member_refs,
            )
    except graph_delta.DeltaError as exc:
        headers = {"Location": exc.location} if exc.location else {}
        raise GraphError(exc.status, exc.message, exc.code, headers) from None
    body: dict[str, Any] = {"@odata.context": context_url(kind, state.select)}
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
    return json_response(body)


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
