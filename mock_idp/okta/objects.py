"""Okta's JSON for the directory's users and groups (OKTA-SPEC ``User``, ``Group``).

Timestamps are ISO-8601 UTC with milliseconds (``2013-06-24T16:39:18.000Z``).
A list carries only ``_links.self``; a single GET has the lifecycle links its
status allows (OKTA-SPEC ``APIDevicesListAllUsersResponse`` shows the set for
``ACTIVE``).  ``host`` arguments are ``request.host_url`` (ending in ``/``).
"""

from __future__ import annotations

import functools
import hashlib
from datetime import datetime
from datetime import timezone
from typing import Any

from mock_idp.okta.fields import USER_PROFILE
from mock_idp.okta.fields import group_description
from mock_idp.okta.fields import group_type
from mock_idp.state.directory import Directory
from mock_idp.state.directory import Group
from mock_idp.state.directory import User


def _ts(value: datetime | None) -> str | None:
    """``2013-06-24T16:39:18.000Z``; the directory keeps every timestamp in UTC."""
    if value is None:
        return None
    return value.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def type_ids(directory: Directory) -> tuple[str, str]:
    """The org's default user type id (``oty…``) and its schema id (``osc…``), stable per tenant."""
    return _type_ids(directory.tenant_id)


@functools.lru_cache(maxsize=64)
def _type_ids(tenant_id: str) -> tuple[str, str]:
    digest = hashlib.sha256(tenant_id.encode()).hexdigest()
    return "oty" + digest[:17], "osc" + digest[17:34]


_LIFECYCLE: dict[str, tuple[str, ...]] = {
    "ACTIVE": ("suspend", "resetPassword", "expirePassword", "forgotPassword", "changeRecoveryQuestion",
               "resetFactors", "changePassword", "deactivate"),
    "PASSWORD_EXPIRED": ("suspend", "resetPassword", "resetFactors", "changePassword", "deactivate"),
    "LOCKED_OUT": ("unlock", "resetPassword", "resetFactors", "deactivate"),
    "RECOVERY": ("suspend", "resetPassword", "resetFactors", "deactivate"),
    "SUSPENDED": ("unsuspend", "resetFactors", "deactivate"),
    "STAGED": ("activate", "deactivate"),
    "PROVISIONED": ("reactivate", "deactivate"),
    "DEPROVISIONED": ("activate", "delete"),
}  # fmt: skip
_LINK_PATHS = {
    "suspend": "lifecycle/suspend",
    "unsuspend": "lifecycle/unsuspend",
    "unlock": "lifecycle/unlock",
    "activate": "lifecycle/activate",
    "reactivate": "lifecycle/reactivate",
    "deactivate": "lifecycle/deactivate",
    "resetPassword": "lifecycle/reset_password",
    "expirePassword": "lifecycle/expire_password",
    "resetFactors": "lifecycle/reset_factors",
    "forgotPassword": "credentials/forgot_password",
    "changeRecoveryQuestion": "credentials/change_recovery_question",
    "changePassword": "credentials/change_password",
}


def user_json(user: User, directory: Directory, host: str, *, full_links: bool = False) -> dict[str, Any]:
    """An Okta ``User`` (OKTA-SPEC ``components.schemas.User``); ``host`` ends with ``/``."""
    type_id, schema_id = type_ids(directory)
    self_href = f"{host}api/v1/users/{user.okta_id}"
    links: dict[str, Any] = {"self": {"href": self_href}}
    if full_links:
        for name in _LIFECYCLE.get(user.status, ()):
            method = "DELETE" if name == "delete" else "POST"
            path = _LINK_PATHS.get(name)
            links[name] = {"href": f"{self_href}/{path}" if path else self_href, "method": method}
        links["schema"] = {"href": f"{host}api/v1/meta/schemas/user/{schema_id}"}
        links["type"] = {"href": f"{host}api/v1/meta/types/user/{type_id}"}
    return {
        "id": user.okta_id,
        "status": user.status,
        "created": _ts(user.created),
        "activated": _ts(user.activated),
        "statusChanged": _ts(user.status_changed),
        "lastLogin": _ts(user.last_login),
        "lastUpdated": _ts(user.last_updated),
        "passwordChanged": _ts(user.password_changed),
        "type": {"id": type_id},
        "profile": {key: getattr(user, attr) for key, attr in USER_PROFILE.items()},
        "credentials": {"password": {}, "provider": {"type": "OKTA", "name": "OKTA"}},
        "_links": links,
    }


def group_json(group: Group, host: str) -> dict[str, Any]:
    """An Okta ``Group`` (OKTA-SPEC ``components.schemas.Group``): type ``OKTA_GROUP``, or
    ``BUILT_IN`` for the built-in ``Everyone``, objectClass ``okta:user_group`` either way."""
    href = f"{host}api/v1/groups/{group.okta_id}"
    logo = f"{host}assets/img/logos/groups/odyssey/okta"
    return {
        "id": group.okta_id,
        "created": _ts(group.created),
        "lastUpdated": _ts(group.last_updated),
        "lastMembershipUpdated": _ts(group.okta_membership_updated),
        "objectClass": ["okta:user_group"],
        "type": group_type(group),
        "profile": {"name": group.name, "description": group_description(group)},
        "_links": {
            "logo": [
                {"name": "medium", "href": f"{logo}-medium.png", "type": "image/png"},
                {"name": "large", "href": f"{logo}-large.png", "type": "image/png"},
            ],
            "users": {"href": f"{href}/users"},
            "apps": {"href": f"{href}/apps"},
        },
    }
