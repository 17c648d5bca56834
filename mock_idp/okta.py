"""The Okta dialect: ``/api/v1/users`` and ``/api/v1/groups`` over the canonical directory.

Served at the host root, as the official SDK requires (wire protocols §1.7).
Lists are bare JSON arrays paged by ``Link`` headers, ``rel="self"`` first and
``rel="next"`` second, as two headers (okta SDK 3.4.6 keeps only the last one).
The ``after`` cursor is the ``id`` of the last object returned; lists are in
``id`` order, so a cursor stays valid while the directory changes.  Each
(filter, order) list is built once per directory version through
``directory.cached``, so a page costs O(page), not O(N).

A plain user list omits ``DEPROVISIONED`` users; ``filter`` and ``search``
include them; ``q`` omits them and does not page (OKTA-SPEC ``listUsers``).
Okta has no nested groups: ``/groups/{id}/users`` lists the group's
*transitive* users (a nested group's members appear in every ancestor, the
flattened view the other dialects imply) and ``/users/{id}/groups`` is the
inverse of that.  When a fault sets ``flask.g.truncate_page``, the next link
is left out and the listing ends early.
"""

from __future__ import annotations

import json
import secrets
import string
import time
from bisect import bisect_right
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote
from urllib.parse import urlencode

from flask import Blueprint
from flask import Response
from flask import g
from flask import request
from werkzeug.http import http_date

from mock_idp.context import AuthFailure
from mock_idp.context import current
from mock_idp.oauth import auth_failure_response
from mock_idp.oauth import require_auth
from mock_idp.okta_filter import FilterError
from mock_idp.okta_filter import compile_expression
from mock_idp.okta_filter import group_filter_field
from mock_idp.okta_filter import group_search_field
from mock_idp.okta_filter import user_filter_field
from mock_idp.okta_filter import user_search_field
from mock_idp.okta_objects import group_json
from mock_idp.okta_objects import type_ids
from mock_idp.okta_objects import user_json
from mock_idp.state import Directory
from mock_idp.state import Group
from mock_idp.state import StateError
from mock_idp.state import User

blueprint = Blueprint("okta", __name__)

USERS_SCOPE = "okta.users.read"
GROUPS_SCOPE = "okta.groups.read"
USERS_LIMIT = (200, 200)  # (default, maximum)
USERS_Q_LIMIT = (10, 200)
GROUPS_LIMIT = (10000, 10000)
GROUPS_Q_LIMIT = (300, 10000)
MEMBERS_LIMIT = (1000, 10000)
DEFAULT_RATE_LIMIT = 600

_DEFAULT_CODES = {
    400: ("E0000001", "Api validation failed"),
    401: ("E0000011", "Invalid token provided"),
    403: ("E0000006", "You do not have permission to perform the requested action"),
    404: ("E0000007", "Not found"),
    405: ("E0000022", "The endpoint does not support the provided HTTP method"),
    429: ("E0000047", "API call exceeded rate limit due to too many requests."),
    500: ("E0000009", "Internal Server Error"),
    503: ("E0000010", "Service is temporarily unavailable"),
}
_ID_ALPHABET = string.ascii_letters + string.digits


# ---------------------------------------------------------------------------- renderer


def _dumps(body: Any) -> str:
    return json.dumps(body, separators=(",", ":"))


def _json(body: Any, status: int = 200) -> Response:
    return Response(_dumps(body), status=status, mimetype="application/json")


def _request_id() -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(27))


class OktaRenderer:
    """Okta's error body ``{errorCode, errorSummary, errorLink, errorId, errorCauses}``
    (OKTA-SPEC ``Error``)."""

    dialect = "okta"

    def error(
        self, status: int, message: str, *, code: str | None = None, causes: Sequence[str] = ()
    ) -> Response:
        """``message`` is the ``errorSummary``; ``code`` defaults by status (E0000001, E0000011,
        E0000006, E0000007, E0000047…); ``causes`` become ``errorCauses``."""
        default_code, _ = _DEFAULT_CODES.get(status, ("E0000009", ""))
        code = code or default_code
        body = {
            "errorCode": code,
            "errorSummary": message,
            "errorLink": code,
            "errorId": "oae" + _request_id()[:22],
            "errorCauses": [{"errorSummary": cause} for cause in causes],
        }
        return _json(body, status)

    def rate_limited(self, *, limit: int, reset_epoch: int, retry_after: int) -> Response:
        """429 E0000047 with ``X-Rate-Limit-*`` (remaining 0) and ``Date``: the SDK needs both
        ``Date`` and ``X-Rate-Limit-Reset`` to compute its wait (wire protocols §1.8)."""
        response = self.error(429, _DEFAULT_CODES[429][1], code="E0000047")
        self.decorate(response, limit=limit, remaining=0, reset_epoch=reset_epoch)
        return response

    def decorate(self, response: Response, *, limit: int, remaining: int, reset_epoch: int) -> None:
        """Rate-limit headers (overwritten), plus ``X-Okta-Request-Id`` and ``Date`` when absent."""
        response.headers["X-Rate-Limit-Limit"] = str(limit)
        response.headers["X-Rate-Limit-Remaining"] = str(remaining)
        response.headers["X-Rate-Limit-Reset"] = str(reset_epoch)
        response.headers.setdefault("X-Okta-Request-Id", _request_id())
        response.headers.setdefault("Date", http_date())


renderer = OktaRenderer()


def _not_found(object_id: str, kind: str) -> Response:
    return renderer.error(404, f"Not found: Resource not found: {object_id} ({kind})", code="E0000007")


def _invalid(detail: str) -> Response:
    field = detail.split(":", 1)[0]
    return renderer.error(400, f"Api validation failed: {field}", code="E0000001", causes=[detail])


@blueprint.before_request
def _authenticate() -> None:
    scope = GROUPS_SCOPE if request.path.startswith("/api/v1/groups") else USERS_SCOPE
    require_auth("okta", [scope])


@blueprint.after_request
def _default_headers(response: Response) -> Response:
    """Okta's headers on every answer; a fault engine's own ``decorate`` overrides them."""
    if "X-Rate-Limit-Limit" not in response.headers:
        reset = int(time.time()) // 60 * 60 + 60
        remaining = DEFAULT_RATE_LIMIT - 1
        renderer.decorate(response, limit=DEFAULT_RATE_LIMIT, remaining=remaining, reset_epoch=reset)
    return response


@blueprint.errorhandler(AuthFailure)
def _auth_failed(failure: AuthFailure) -> Response:
    return auth_failure_response(failure, renderer)


class _BadRequest(Exception):
    pass


@blueprint.errorhandler(_BadRequest)
def _bad_request(exc: _BadRequest) -> Response:
    return _invalid(str(exc))


# ---------------------------------------------------------------------------- listing and paging


@dataclass(frozen=True)
class _Listing:
    """Records in ``id`` order, with their ids for the cursor's binary search."""

    items: tuple[Any, ...]
    ids: tuple[str, ...]

    @classmethod
    def of(cls, records: Any) -> _Listing:
        ordered = tuple(sorted(records, key=lambda record: record.okta_id))
        return cls(ordered, tuple(record.okta_id for record in ordered))


def _limit(bounds: tuple[int, int]) -> int:
    default, maximum = bounds
    raw = request.args.get("limit")
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _BadRequest(f"limit: {raw!r} is not an integer") from None
    if value < 1:
        raise _BadRequest(f"limit: must be at least 1, got {value}")
    return min(value, maximum)


def _predicate(kind: str, fields: Callable[[str], Any], *, ignore_case: bool) -> Callable[[Any], bool]:
    try:
        return compile_expression(request.args[kind], fields, ignore_case=ignore_case)
    except FilterError as exc:
        raise _BadRequest(f"{kind}: {exc}") from None


def _expression() -> tuple[str, str] | None:
    """``("filter"|"search", text)`` for this request, or None for a plain list."""
    given = [kind for kind in ("filter", "search") if request.args.get(kind)]
    if len(given) > 1:
        raise _BadRequest("search: use either filter or search, not both")
    return (given[0], request.args[given[0]]) if given else None


def _page(listing: _Listing, limit: int, render: Callable[[Any], str], *, pageable: bool = True) -> Response:
    """One page from ``after`` on, with ``Link`` headers: ``self`` then (if more) ``next``.
    ``render`` gives each item's JSON text."""
    after = request.args.get("after") if pageable else None
    start = bisect_right(listing.ids, after) if after else 0
    chunk = listing.items[start : start + limit]
    response = Response("[" + ",".join(render(item) for item in chunk) + "]", mimetype="application/json")
    base = request.host_url.rstrip("/") + request.path
    query = request.query_string.decode("latin-1")
    response.headers.add("Link", f'<{base}{"?" + query if query else ""}>; rel="self"')
    if pageable and chunk and start + limit < len(listing.items) and not g.get("truncate_page"):
        params = {k: request.args[k] for k in ("filter", "search", "expand") if request.args.get(k)}
        params.update(after=chunk[-1].okta_id, limit=str(limit))
        query = urlencode(params, quote_via=quote)  # %20, as Okta encodes spaces in its links
        response.headers.add("Link", f'<{base}?{query}>; rel="next"')
    return response


def _user_renderer(directory: Directory) -> Callable[[User], str]:
    """A user's list JSON, memoised per user until the directory next changes, so
    paging 100k users re-encodes nothing it has sent before."""
    host = request.host_url
    memo: dict[str, str] = directory.cached(("okta.user_json", host), dict)

    def render(user: User) -> str:
        text = memo.get(user.object_id)
        if text is None:
            text = memo[user.object_id] = _dumps(user_json(user, directory, host))
        return text

    return render


def _prefix_match(query: str, *values: str | None) -> bool:
    query = query.lower()
    return any(value is not None and value.lower().startswith(query) for value in values)


# ---------------------------------------------------------------------------- users


@blueprint.get("/api/v1/users")
def list_users() -> Response:
    """``GET /api/v1/users`` with ``limit``/``after``, ``filter``, ``search`` or ``q``."""
    directory = current().directory
    render = _user_renderer(directory)
    q = request.args.get("q")
    if q is not None and not _expression():
        limit = _limit(USERS_Q_LIMIT)
        found = directory.cached(
            ("okta.users.q", q),
            lambda: _Listing.of(
                u
                for u in directory.users_snapshot()
                if u.status != "DEPROVISIONED" and _prefix_match(q, u.given_name, u.family_name, u.email)
            ),
        )
        return _page(found, limit, render, pageable=False)
    limit = _limit(USERS_LIMIT)
    expression = _expression()
    if expression is None:
        keep: Callable[[User], bool] = lambda user: user.status != "DEPROVISIONED"  # noqa: E731
    elif expression[0] == "filter":
        keep = _predicate("filter", user_filter_field, ignore_case=False)
    else:
        keep = _predicate("search", user_search_field(type_ids(directory)[0]), ignore_case=True)
    listing = directory.cached(
        ("okta.users", expression),
        lambda: _Listing.of(u for u in directory.users_snapshot() if keep(u)),
    )
    return _page(listing, limit, render)


def _find_user(directory: Directory, key: str) -> User | None:
    """By id, login, or unambiguous login short name (the part before ``@``)."""
    try:
        return directory.user_by_okta_id(key)
    except StateError:
        pass
    user = directory.user_by_name(key)
    if user is not None:
        return user

    def short_names() -> dict[str, User | None]:
        index: dict[str, User | None] = {}
        for candidate in directory.users_snapshot():
            short = candidate.user_name.split("@", 1)[0].lower()
            index[short] = None if short in index else candidate
        return index

    return directory.cached("okta.users.short_names", short_names).get(key.lower())


@blueprint.get("/api/v1/users/<key>")
def get_user(key: str) -> Response:
    """One user with the full ``_links`` set for its status."""
    directory = current().directory
    user = _find_user(directory, key)
    if user is None:
        return _not_found(key, "User")
    return _json(user_json(user, directory, request.host_url, full_links=True))


def _groups_by_user(directory: Directory) -> dict[str, list[Group]]:
    index: dict[str, list[Group]] = {}
    for group in sorted(directory.groups_snapshot(), key=lambda grp: grp.okta_id):
        for user_id in directory.transitive_user_ids(group.object_id):
            index.setdefault(user_id, []).append(group)
    return index


@blueprint.get("/api/v1/users/<key>/groups")
def user_groups(key: str) -> Response:
    """The user's groups, nested ancestors included (not paged, OKTA-SPEC ``listUserGroups``)."""
    directory = current().directory
    user = _find_user(directory, key)
    if user is None:
        return _not_found(key, "User")
    index = directory.cached("okta.groups_by_user", lambda: _groups_by_user(directory))
    groups = index.get(user.object_id, [])
    host = request.host_url
    return _json([group_json(group, host) for group in groups])


# ---------------------------------------------------------------------------- groups


@blueprint.get("/api/v1/groups")
def list_groups() -> Response:
    """``GET /api/v1/groups`` with ``limit``/``after``, ``filter``, ``search`` or ``q`` (name prefix)."""
    directory = current().directory
    host = request.host_url
    render = lambda group: _dumps(_with_stats(group_json(group, host), directory, group))  # noqa: E731
    q = request.args.get("q")
    if q is not None and not _expression():
        found = directory.cached(
            ("okta.groups.q", q),
            lambda: _Listing.of(grp for grp in directory.groups_snapshot() if _prefix_match(q, grp.name)),
        )
        return _page(found, _limit(GROUPS_Q_LIMIT), render, pageable=False)
    limit = _limit(GROUPS_LIMIT)
    expression = _expression()
    if expression is None:
        keep: Callable[[Group], bool] = lambda group: True  # noqa: E731
    elif expression[0] == "filter":
        keep = _predicate("filter", group_filter_field, ignore_case=False)
    else:
        keep = _predicate("search", group_search_field, ignore_case=True)
    listing = directory.cached(
        ("okta.groups", expression),
        lambda: _Listing.of(grp for grp in directory.groups_snapshot() if keep(grp)),
    )
    return _page(listing, limit, render)


def _with_stats(body: dict[str, Any], directory: Directory, group: Group) -> dict[str, Any]:
    """``expand=stats`` adds ``_embedded.stats.usersCount`` (transitive users)."""
    if "stats" in request.args.get("expand", "").split(","):
        count = len(directory.transitive_user_ids(group.object_id))
        body["_embedded"] = {"stats": {"usersCount": count}}
    return body


def _find_group(directory: Directory, okta_id: str) -> Group | None:
    try:
        return directory.group_by_okta_id(okta_id)
    except StateError:
        return None


@blueprint.get("/api/v1/groups/<okta_id>")
def get_group(okta_id: str) -> Response:
    directory = current().directory
    group = _find_group(directory, okta_id)
    if group is None:
        return _not_found(okta_id, "UserGroup")
    return _json(_with_stats(group_json(group, request.host_url), directory, group))


@blueprint.get("/api/v1/groups/<okta_id>/users")
def group_users(okta_id: str) -> Response:
    """The group's users, *transitively* (Okta has no nesting; see the module docstring), paged."""
    directory = current().directory
    group = _find_group(directory, okta_id)
    if group is None:
        return _not_found(okta_id, "UserGroup")
    limit = _limit(MEMBERS_LIMIT)
    listing = directory.cached(
        ("okta.members", group.object_id),
        lambda: _Listing.of(directory.user(uid) for uid in directory.transitive_user_ids(group.object_id)),
    )
    return _page(listing, limit, _user_renderer(directory))


@blueprint.route("/api/v1/<path:rest>")
def unknown(rest: str) -> Response:
    return renderer.error(404, f"Not found: Resource not found: /api/v1/{rest} (Resource)", code="E0000007")
