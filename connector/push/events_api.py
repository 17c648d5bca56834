"""``GET /events`` on the served app: one organization's events after a cursor, by API key.

``Authorization: Bearer idpe_<org>_...`` (``idp-connector events key`` issues one): the key
names its organization and is checked against that organization's hashes in constant time
(:mod:`connector.store.api_keys`); any other key, or none, is a 401 that says nothing more.
Query: ``after`` (an event id), ``limit`` (1 to 1,000, default 100), ``types`` (comma-separated).
Answer: ``{"data": [event, ...], "next_after": id}``; a cursor of pruned events is a 410 with
``"code": "cursor_expired"`` (resync), a malformed parameter a 400.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import jsonify
from flask import request

from connector.errors import ConfigError
from connector.errors import EventCursorExpiredError
from connector.push.auth import bearer_token
from connector.rules.events import check_types
from connector.store import Store
from connector.store.api_keys import key_org
from connector.store.outbox import MAX_LIMIT

events_api = Blueprint("events", __name__)


def _error(status: int, code: str, message: str) -> Response:
    answer = jsonify({"error": {"code": code, "message": message}})
    answer.status_code = status
    if status == 401:
        answer.headers["WWW-Authenticate"] = 'Bearer realm="events"'
    return answer


def _store() -> Store:
    state: Any = current_app.extensions["idp-connector-push"]
    return state.store  # type: ignore[no-any-return]


@events_api.get("/events")
def list_events() -> Response:
    """The events after ``after`` of the key's organization, oldest first."""
    key = bearer_token(request.headers.get("Authorization"))
    org = key_org(key)
    store = _store()
    if org is None or key is None or store.organization_entry(org) is None:
        return _error(401, "unauthorized", "a valid events API key is required")
    scoped = store.for_org(org)
    if not scoped.check_api_key(key):
        return _error(401, "unauthorized", "a valid events API key is required")
    try:
        limit = int(request.args.get("limit", "100"))
        types = check_types(t for t in request.args.get("types", "").split(",") if t)
    except ValueError as exc:
        return _error(400, "invalid_request", str(exc))
    if not 1 <= limit <= MAX_LIMIT:
        return _error(400, "invalid_request", f"limit must be between 1 and {MAX_LIMIT}")
    after = request.args.get("after") or None
    try:
        found = scoped.events(after, limit=limit, types=types)
    except EventCursorExpiredError as exc:
        return _error(410, "cursor_expired", str(exc))
    except ConfigError as exc:
        return _error(400, "invalid_request", str(exc))
    return jsonify(
        {"data": [e.to_dict() for e in found], "next_after": found[-1].event_id if found else after}
    )
