"""What the ``/_admin`` views share: their error, the JSON body, lookups by either id,
and the JSON shapes of users, deleted users and groups.
"""

from __future__ import annotations

from typing import Any

from flask import Response
from flask import jsonify
from flask import request

from mock_idp.context import current
from mock_idp.state.deleted_items import DeletedUser
from mock_idp.state.directory import Directory
from mock_idp.state.directory import Group
from mock_idp.state.directory import User
from mock_idp.state.fixtures import user_to_json


class AdminError(Exception):
    """An admin request refused: ``status``, the ``error`` kind and a ``detail``."""

    def __init__(self, status: int, error: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.error, self.detail = status, error, detail


def error_response(status: int, error: str, detail: str) -> Response:
    """``{"error": <kind>, "detail": <message>}`` with ``status``."""
    response = jsonify({"error": error, "detail": detail})
    response.status_code = status
    return response


def request_body() -> Any:
    """The JSON body; ``{}`` when there is none, a 400 when it is not JSON."""
    if not request.get_data():
        return {}
    data = request.get_json(silent=True)
    if data is None:
        raise AdminError(400, "invalid", "the request body must be JSON")
    return data


def current_directory() -> Directory:
    """The running mock's directory (a reset or fixture swaps it, so never keep it)."""
    return current().directory


def find_user(ident: str) -> User:
    """A user by object id or Okta id; ``StateError`` (404) when there is none."""
    directory = current_directory()
    found = directory.users.get(ident)
    return found if found is not None else directory.user_by_okta_id(ident)


def find_group(ident: str) -> Group:
    """A group by object id or Okta id; ``StateError`` (404) when there is none."""
    directory = current_directory()
    found = directory.groups.get(ident)
    return found if found is not None else directory.group_by_okta_id(ident)


def user_json(user: User) -> dict[str, Any]:
    """A user as fixture JSON plus ``active``, ``last_updated`` and ``version``."""
    out = user_to_json(user)
    out.update(active=user.active, last_updated=user.last_updated.isoformat(), version=user.version)
    return out


def deleted_user_json(item: DeletedUser) -> dict[str, Any]:
    """A user in the deleted items: its user JSON plus ``deleted`` and the ``groups`` it was in."""
    return {**user_json(item.user), "deleted": item.deleted.isoformat(), "groups": list(item.group_ids)}


def group_json(group: Group) -> dict[str, Any]:
    """A group with its direct members by object id, and whether it is built in (Okta's ``Everyone``)."""
    return {
        "id": group.object_id,
        "okta_id": group.okta_id,
        "name": group.name,
        "description": group.description,
        "external_id": group.external_id,
        "created": group.created.isoformat(),
        "last_updated": group.last_updated.isoformat(),
        "last_membership_updated": group.last_membership_updated.isoformat(),
        "built_in": group.built_in,
        "members": list(group.user_ids),
        "groups": list(group.group_ids),
    }


def created(data: dict[str, Any]) -> Response:
    """``data`` as a 201."""
    response = jsonify(data)
    response.status_code = 201
    return response
