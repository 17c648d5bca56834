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
is left out and the listing ends early.  ``/api/v1/logs`` (the System Log's
membership events, scope ``okta.logs.read``) is in :mod:`mock_idp.okta.logs`.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint
from flask import Response
from flask import request

from mock_idp.auth_check import auth_failure_response
from mock_idp.auth_check import require_auth
from mock_idp.context import AuthFailure
from mock_idp.context import current
from mock_idp.okta.fields import group_filter_field
from mock_idp.okta.fields import group_search_field
from mock_idp.okta.fields import user_filter_field
from mock_idp.okta.fields import user_search_field
from mock_idp.okta.logs import LOGS_SCOPE
from mock_idp.okta.logs import list_logs
from mock_idp.okta.objects import group_json
from mock_idp.okta.objects import type_ids
from mock_idp.okta.objects import user_json
from mock_idp.okta.paging import Listing
from mock_idp.okta.paging import filtered_page
from mock_idp.okta.paging import list_expression
from mock_idp.okta.paging import page
from mock_idp.okta.paging import page_limit
from mock_idp.okta.paging import prefix_match
from mock_idp.okta.paging import user_renderer
from mock_idp.okta.wire import BadRequest
from mock_idp.okta.wire import dumps
from mock_idp.okta.wire import invalid
from mock_idp.okta.wire import json_response
from mock_idp.okta.wire import not_found
from mock_idp.okta.wire import renderer
from mock_idp.state.directory import Directory
from mock_idp.state.directory import Group
from mock_idp.state.directory import StateError
from mock_idp.state.directory import User

blueprint = Blueprint("okta", __name__)

__all__ = ["blueprint", "renderer"]

USERS_SCOPE = "okta.users.read"
GROUPS_SCOPE = "okta.groups.read"
USERS_LIMIT = (200, 200)  # (default, maximum)
USERS_Q_LIMIT = (10, 200)
GROUPS_LIMIT = (10000, 10000)
GROUPS_Q_LIMIT = (300, 10000)
MEMBERS_LIMIT = (1000, 10000)
DEFAULT_RATE_LIMIT = 600


@blueprint.before_request
def _authenticate() -> None:
    if request.path.startswith("/api/v1/groups"):
        scope = GROUPS_SCOPE
    elif request.path.rstrip("/") == "/api/v1/logs":
        scope = LOGS_SCOPE
    else:
        scope = USERS_SCOPE
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


@blueprint.errorhandler(BadRequest)
def _bad_request(exc: BadRequest) -> Response:
    return invalid(str(exc))


# ---------------------------------------------------------------------------- users


@blueprint.get("/api/v1/users")
def list_users() -> Response:
    """``GET /api/v1/users`` with ``limit``/``after``, ``filter``, ``search`` or ``q``."""
    directory = current().directory
    render = user_renderer(directory)
    q = request.args.get("q")
    if q is not None and not list_expression():
        limit = page_limit(USERS_Q_LIMIT)
        found = directory.cached(
            ("okta.users.q", q),
            lambda: Listing.of(
                u
                for u in directory.users_snapshot()
                if u.status != "DEPROVISIONED" and prefix_match(q, u.given_name, u.family_name, u.email)
            ),
        )
        return page(found, limit, render, pageable=False)
    return filtered_page(
        directory,
        "okta.users",
        directory.users_snapshot,
        USERS_LIMIT,
        render,
        plain=lambda user: user.status != "DEPROVISIONED",
        filter_field=user_filter_field,
        search_fields=lambda: user_search_field(type_ids(directory)[0]),
    )


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
        return not_found(key, "User")
    return json_response(user_json(user, directory, request.host_url, full_links=True))


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
        return not_found(key, "User")
    index = directory.cached("okta.groups_by_user", lambda: _groups_by_user(directory))
    groups = index.get(user.object_id, [])
    host = request.host_url
    return json_response([group_json(group, host) for group in groups])


# ---------------------------------------------------------------------------- groups


@blueprint.get("/api/v1/groups")
def list_groups() -> Response:
    """``GET /api/v1/groups`` with ``limit``/``after``, ``filter``, ``search`` or ``q`` (name prefix)."""
    directory = current().directory
    host = request.host_url
    render = lambda group: dumps(_with_stats(group_json(group, host), directory, group))  # noqa: E731
    q = request.args.get("q")
    if q is not None and not list_expression():
        found = directory.cached(
            ("okta.groups.q", q),
            lambda: Listing.of(grp for grp in directory.groups_snapshot() if prefix_match(q, grp.name)),
        )
        return page(found, page_limit(GROUPS_Q_LIMIT), render, pageable=False)
    return filtered_page(
        directory,
        "okta.groups",
        directory.groups_snapshot,
        GROUPS_LIMIT,
        render,
        plain=lambda group: True,
        filter_field=group_filter_field,
        search_fields=lambda: group_search_field,
    )


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
        return not_found(okta_id, "UserGroup")
    return json_response(_with_stats(group_json(group, request.host_url), directory, group))


@blueprint.get("/api/v1/groups/<okta_id>/users")
def group_users(okta_id: str) -> Response:
    """The group's users, *transitively* (Okta has no nesting; see the module docstring), paged."""
    directory = current().directory
    group = _find_group(directory, okta_id)
    if group is None:
        return not_found(okta_id, "UserGroup")
    limit = page_limit(MEMBERS_LIMIT)
    listing = directory.cached(
        ("okta.members", group.object_id),
        lambda: Listing.of(directory.user(uid) for uid in directory.transitive_user_ids(group.object_id)),
    )
    return page(listing, limit, user_renderer(directory))


blueprint.add_url_rule("/api/v1/logs", view_func=list_logs, methods=["GET"])


@blueprint.route("/api/v1/<path:rest>")
def unknown(rest: str) -> Response:
    return renderer.error(404, f"Not found: Resource not found: /api/v1/{rest} (Resource)", code="E0000007")
