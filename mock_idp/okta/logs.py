"""Okta's System Log: ``GET /api/v1/logs`` over :class:`mock_idp.state.system_log.SystemLog`.

Served by the Okta blueprint (:mod:`mock_idp.okta.views`), which checks the
``okta.logs.read`` scope and adds the rate-limit headers.  Query parameters
(OKTA-SPEC ``listLogEvents``):

* ``since`` / ``until``: ISO-8601 bounds on ``published``, ``since``
  inclusive, ``until`` exclusive; ``since`` defaults to 7 days before
  ``until``, ``until`` to now.  Without ``until`` the request is a *polling*
  one: in ``ASCENDING`` order its last page still carries a ``rel="next"``
  link (possibly to an empty page), as Okta's does, for the caller to come
  back later.
* ``filter``: Okta's expression language over ``eventType`` (``eq``, ``sw``,
  ``co``), ``outcome.result``, ``severity``, ``actor.id`` (``eq``) and
  ``published`` (dates), joined by ``and``/``or``.  ``q`` is refused.
* ``limit``: default 100, at most 1000.  ``sortOrder``: ``ASCENDING``
  (default) or ``DESCENDING``; events with equal ``published`` keep the order
  they happened in.
* ``after``: the opaque cursor of the ``rel="next"`` link (the mock's event
  sequence number).

The mock logs only membership events: ``group.user_membership.add`` and
``group.user_membership.remove``, targets the user then the group.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from typing import Any
from urllib.parse import quote
from urllib.parse import urlencode

from flask import Response
from flask import g
from flask import request

from mock_idp.context import current
from mock_idp.okta.filter import Field
from mock_idp.okta.filter import FilterError
from mock_idp.okta.filter import compile_expression
from mock_idp.okta.filter import parse_instant
from mock_idp.okta.objects import _ts
from mock_idp.okta.paging import page_limit
from mock_idp.okta.wire import BadRequest
from mock_idp.okta.wire import dumps
from mock_idp.state.directory import Directory
from mock_idp.state.system_log import ADD
from mock_idp.state.system_log import LogEntry

LOGS_SCOPE = "okta.logs.read"
LOGS_LIMIT = (100, 1000)  # (default, maximum)
DEFAULT_WINDOW = timedelta(days=7)
SORT_ORDERS = ("ASCENDING", "DESCENDING")
_END_OF_TIME = datetime.max.replace(tzinfo=timezone.utc)

_MESSAGES = {ADD: "Add user to group membership"}
_LEGACY = {ADD: "core.user_group_member.user_add"}
_ACTOR = {
    "id": "0oamockidpadmin00000",
    "type": "PublicClientApp",
    "alternateId": "mock-idp admin",
    "displayName": "mock-idp control plane",
    "detailEntry": None,
}

_EQ = frozenset({"eq"})
_FIELDS: dict[str, Field[LogEntry]] = {
    "eventType": Field(lambda entry: entry.event_type, frozenset({"eq", "sw", "co"})),
    "outcome.result": Field(lambda entry: "SUCCESS", _EQ),
    "severity": Field(lambda entry: "INFO", _EQ),
    "actor.id": Field(lambda entry: _ACTOR["id"], _EQ),
    "published": Field(lambda entry: entry.published, frozenset({"eq", "gt", "ge", "lt", "le"}), date=True),
}


def _instant(name: str) -> datetime | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    try:
        return parse_instant(raw)
    except FilterError:
        raise BadRequest(f"{name}: {raw!r} is not an ISO-8601 timestamp") from None


def _keep() -> Callable[[LogEntry], bool]:
    text = request.args.get("filter")
    if not text:
        return lambda entry: True
    try:
        return compile_expression(text, _FIELDS.get, ignore_case=False)
    except FilterError as exc:
        raise BadRequest(f"filter: {exc}") from None


def _after() -> int | None:
    raw = request.args.get("after")
    if raw is None or raw == "":
        return None
    if not raw.isdigit():
        raise BadRequest(f"after: {raw!r} is not a cursor this endpoint issued")
    return int(raw)


def event_json(entry: LogEntry, tenant_id: str) -> dict[str, Any]:
    """One LogEvent (OKTA-SPEC ``LogEvent``) for a membership entry."""
    user_id, login, user_name = entry.user
    group_id, group_name = entry.group
    event_uuid = uuid.uuid5(uuid.NAMESPACE_URL, f"mock-idp:{tenant_id}:log:{entry.seq}")
    return {
        "uuid": str(event_uuid),
        "published": _ts(entry.published),
        "eventType": entry.event_type,
        "version": "0",
        "severity": "INFO",
        "legacyEventType": _LEGACY.get(entry.event_type, "core.user_group_member.user_remove"),
        "displayMessage": _MESSAGES.get(entry.event_type, "Remove user from group membership"),
        "actor": _ACTOR,
        "client": None,
        "outcome": {"result": "SUCCESS", "reason": None},
        "target": [
            {
                "id": user_id,
                "type": "User",
                "alternateId": login,
                "displayName": user_name,
                "detailEntry": None,
            },
            {
                "id": group_id,
                "type": "UserGroup",
                "alternateId": "unknown",
                "displayName": group_name,
                "detailEntry": None,
            },
        ],
        "transaction": {"type": "WEB", "id": str(event_uuid).replace("-", "")[:27], "detail": {}},
        "debugContext": {"debugData": {}},
        "authenticationContext": {"authenticationStep": 0, "externalSessionId": None},
        "securityContext": {},
    }


def list_logs() -> Response:
    """``GET /api/v1/logs``; see the module docstring."""
    directory: Directory = current().directory
    if request.args.get("q"):
        raise BadRequest("q: keyword search is not supported by this server; use filter")
    order = request.args.get("sortOrder") or "ASCENDING"
    if order not in SORT_ORDERS:
        raise BadRequest(f"sortOrder: {order!r} is not one of {', '.join(SORT_ORDERS)}")
    limit = page_limit(LOGS_LIMIT)
    until = _instant("until")
    polling = until is None
    since = _instant("since") or (until or directory.clock_now()) - DEFAULT_WINDOW
    if until is not None and since > until:
        raise BadRequest("since: must not be later than until")
    keep = _keep()
    after = _after()
    upper = until or _END_OF_TIME  # polling: everything persisted so far
    selected = [entry for entry in directory.system_log.window(since, upper) if keep(entry)]
    if order == "DESCENDING":
        selected.reverse()
        if after is not None:
            selected = [entry for entry in selected if entry.seq < after]
    elif after is not None:
        selected = [entry for entry in selected if entry.seq > after]
    chunk = selected[:limit]
    more = len(selected) > limit or (polling and order == "ASCENDING")
    body = "[" + ",".join(dumps(event_json(entry, directory.tenant_id)) for entry in chunk) + "]"
    response = Response(body, mimetype="application/json")
    base = request.host_url.rstrip("/") + request.path
    query = request.query_string.decode("latin-1")
    response.headers.add("Link", f'<{base}{"?" + query if query else ""}>; rel="self"')
    if more and not g.get("truncate_page"):
        params = {
            k: request.args[k] for k in ("since", "until", "filter", "sortOrder") if request.args.get(k)
        }
        cursor = chunk[-1].seq if chunk else after
        if cursor is not None:
            params["after"] = str(cursor)
        params["limit"] = str(limit)
        response.headers.add("Link", f'<{base}?{urlencode(params, quote_via=quote)}>; rel="next"')
    return response
