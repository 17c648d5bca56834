"""Okta's property tables: which user and group properties ``filter`` and ``search``
accept, with which operators, and the record attribute behind each (OKTA-SPEC
``listUsers``, ``listGroups``).  The grammar that uses them is :mod:`mock_idp.okta.filter`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mock_idp.okta.filter import Field
from mock_idp.state.records import Group

_DATE_OPS = frozenset({"eq", "gt", "ge", "lt", "le", "pr"})
_EQ = frozenset({"eq"})

#: Okta ``profile`` keys and the :class:`~mock_idp.state.records.User` attribute behind each.
USER_PROFILE: dict[str, str] = {
    "firstName": "given_name",
    "lastName": "family_name",
    "mobilePhone": "mobile_phone",
    "secondEmail": "second_email",
    "login": "user_name",
    "email": "email",
    "displayName": "display_name",
    "title": "title",
    "department": "department",
    "employeeNumber": "employee_number",
    "userType": "user_type",
}
_USER_DATES = {
    "created": "created",
    "activated": "activated",
    "statusChanged": "status_changed",
    "lastUpdated": "last_updated",
}


def _attr(name: str) -> Callable[[Any], Any]:
    return lambda record: getattr(record, name)


def _user_filter_fields() -> dict[str, Field[Any]]:
    """``filter`` on users: status, id, four profile keys (``eq``), lastUpdated (ordered)."""
    fields: dict[str, Field[Any]] = {
        "status": Field(_attr("status"), _EQ),
        "id": Field(_attr("okta_id"), _EQ),
        "lastUpdated": Field(_attr("last_updated"), _DATE_OPS - {"pr"}, date=True),
    }
    for key in ("login", "email", "firstName", "lastName"):
        fields[f"profile.{key}"] = Field(_attr(USER_PROFILE[key]), _EQ)
    return fields


def _user_search_fields(type_id: str) -> dict[str, Field[Any]]:
    """``search`` on users: any profile key (``co`` only on four), id, status, type.id, dates."""
    text_ops = frozenset({"eq", "sw", "gt", "ge", "lt", "le", "pr"})
    fields: dict[str, Field[Any]] = {
        "id": Field(_attr("okta_id"), text_ops),
        "status": Field(_attr("status"), text_ops),
        "type.id": Field(lambda _user: type_id, _EQ),
    }
    for key, attr in _USER_DATES.items():
        fields[key] = Field(_attr(attr), _DATE_OPS, date=True)
    for key, attr in USER_PROFILE.items():
        contains = key in ("login", "email", "firstName", "lastName")
        fields[f"profile.{key}"] = Field(_attr(attr), text_ops | {"co"} if contains else text_ops)
    return fields


def user_filter_field(name: str) -> Field[Any] | None:
    return _USER_FILTER.get(name)


def user_search_field(type_id: str) -> Callable[[str], Field[Any] | None]:
    """Field lookup for a user ``search``; an unknown ``profile.*`` key is a custom
    attribute no user has (valid, matches nothing but ``eq null``)."""
    fields = _user_search_fields(type_id)

    def lookup(name: str) -> Field[Any] | None:
        if name in fields:
            return fields[name]
        if name.startswith("profile.") and len(name) > len("profile."):
            return Field(lambda _user: None, frozenset({"eq", "sw", "gt", "ge", "lt", "le", "pr"}))
        return None

    return lookup


_USER_FILTER = _user_filter_fields()

EVERYONE_DESCRIPTION = "All users in your organization"
"""The ``profile.description`` Okta gives its built-in ``Everyone`` group."""


def group_type(group: Group) -> str:
    """Okta's ``GroupType``: ``BUILT_IN`` for the built-in ``Everyone``, else ``OKTA_GROUP``."""
    return "BUILT_IN" if group.built_in else "OKTA_GROUP"


def group_description(group: Group) -> str | None:
    """The group's description; a built-in group without one has Okta's ``Everyone`` text."""
    if group.description is None and group.built_in:
        return EVERYONE_DESCRIPTION
    return group.description


_GROUP_FILTER: dict[str, Field[Any]] = {
    "id": Field(_attr("okta_id"), _EQ),
    "type": Field(group_type, _EQ),
    "lastUpdated": Field(_attr("last_updated"), _DATE_OPS - {"pr"}, date=True),
    "lastMembershipUpdated": Field(_attr("okta_membership_updated"), _DATE_OPS - {"pr"}, date=True),
}
_GROUP_SEARCH: dict[str, Field[Any]] = {
    "id": Field(_attr("okta_id"), frozenset({"eq", "sw"})),
    "type": Field(group_type, _EQ),
    "profile.name": Field(_attr("name"), frozenset({"eq", "sw", "co"})),
    "profile.description": Field(group_description, frozenset({"eq", "sw", "co"})),
    "source.id": Field(lambda _group: None, _EQ),
    "created": Field(_attr("created"), _DATE_OPS, date=True),
    "lastUpdated": Field(_attr("last_updated"), _DATE_OPS, date=True),
    "lastMembershipUpdated": Field(_attr("okta_membership_updated"), _DATE_OPS, date=True),
}


def group_filter_field(name: str) -> Field[Any] | None:
    """``filter`` on groups: ``id``, ``type`` (``eq``), ``lastUpdated``, ``lastMembershipUpdated``."""
    return _GROUP_FILTER.get(name)


def group_search_field(name: str) -> Field[Any] | None:
    """``search`` on groups: ids, type, name and description (``sw``/``co``), the dates."""
    return _GROUP_SEARCH.get(name)
