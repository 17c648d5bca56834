"""Directory objects as SCIM resources (RFC 7643 §4), their ETags, and ``attributes`` projection.

A user never shows its password; ``groups`` is derived, and so are
``name.formatted`` and a member's ``display`` when no client wrote one.
``emails`` are shown as a client wrote them while the directory's addresses
still agree (another dialect may change them).  A user whose ``active`` a
client removed shows none.  ``meta.version`` is a weak ETag that changes with
the object, and with a group's members (RFC 7644 §3.14).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from datetime import timezone
from typing import Any

from mock_idp.scim.schemas import CORE_GROUP
from mock_idp.scim.schemas import CORE_USER
from mock_idp.scim.schemas import ENTERPRISE
from mock_idp.scim.schemas import Resolver
from mock_idp.state.directory import Directory
from mock_idp.state.directory import Group
from mock_idp.state.directory import User


def scim_time(value: datetime) -> str:
    """RFC 7643 §2.3.5 ``dateTime``: ``2026-01-05T09:00:00.000Z``."""
    return value.astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def user_version(user: User) -> str:
    """The user's ETag (RFC 7644 §3.14): bumped by every update."""
    return f'W/"{user.version}"'


def group_version(group: Group) -> str:
    """The group's ETag: its record version and the instant of its last membership change."""
    return f'W/"{group.version}-{int(group.last_membership_updated.timestamp() * 1000)}"'


def derived_formatted(given_name: str | None, family_name: str | None) -> str | None:
    """``name.formatted`` when no client wrote one: the given and family names."""
    return " ".join(p for p in (given_name, family_name) if p) or None


def primary_email(emails: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The entry that is the user's email: the last marked ``primary``, else the first."""
    primaries = [e for e in emails if e.get("primary") is True]
    return primaries[-1] if primaries else (emails[0] if emails else None)


def default_emails(email: str | None, other_mails: list[str]) -> list[dict[str, Any]]:
    """``emails`` of a user no SCIM client wrote them for: the email ``work`` and primary,
    the others ``other``."""
    emails = [{"value": email, "type": "work", "primary": True}] if email else []
    return emails + [{"value": m, "type": "other"} for m in other_mails if m != email]


def _emails(user: User) -> list[dict[str, Any]]:
    written = user.scim_emails
    if written is not None:
        primary = primary_email(written)
        others = [e["value"] for e in written if e is not primary]
        if (primary["value"] if primary else None) == user.email and others == user.other_mails:
            return [dict(e) for e in written]
    return default_emails(user.email, user.other_mails)


def user_resource(user: User, base: str, groups: list[dict[str, Any]]) -> dict[str, Any]:
    """``user`` as a SCIM User (never its password); ``groups`` are the ``groups``
    entries of its direct groups (shared between users: never mutate them)."""
    resource: dict[str, Any] = {"schemas": [CORE_USER], "id": user.object_id}
    if user.external_id:
        resource["externalId"] = user.external_id
    resource["userName"] = user.user_name
    name = {
        k: v
        for k, v in (
            ("formatted", user.formatted_name or derived_formatted(user.given_name, user.family_name)),
            ("familyName", user.family_name),
            ("givenName", user.given_name),
        )
        if v
    }
    if name:
        resource["name"] = name
    for key, value in (
        ("displayName", user.display_name),
        ("title", user.title),
        ("userType", user.user_type),
    ):
        if value:
            resource[key] = value
    if not user.active_unassigned:
        resource["active"] = user.active
    emails = _emails(user)
    if emails:
        resource["emails"] = emails
    if user.mobile_phone:
        resource["phoneNumbers"] = [{"value": user.mobile_phone}]
    if groups:
        resource["groups"] = list(groups)
    enterprise = {
        k: v for k, v in (("employeeNumber", user.employee_number), ("department", user.department)) if v
    }
    if enterprise:
        resource["schemas"] = [CORE_USER, ENTERPRISE]
        resource[ENTERPRISE] = enterprise
    resource["meta"] = {
        "resourceType": "User",
        "created": scim_time(user.created),
        "lastModified": scim_time(user.last_updated),
        "location": f"{base}/Users/{user.object_id}",
        "version": user_version(user),
    }
    return resource


def member_display(directory: Directory, group: Group, member_id: str) -> str:
    """A member's ``display``: what a client gave it when adding it, else its own name."""
    if member_id in group.member_display:
        return group.member_display[member_id]
    user = directory.users.get(member_id)
    if user is not None:
        return user.display_name or user.user_name
    return directory.groups[member_id].name


def group_resource(group: Group, directory: Directory, base: str) -> dict[str, Any]:
    """``group`` as a SCIM Group with its direct members, nested groups typed ``Group``."""
    resource: dict[str, Any] = {"schemas": [CORE_GROUP], "id": group.object_id}
    if group.external_id:
        resource["externalId"] = group.external_id
    resource["displayName"] = group.name
    members = []
    for ids, kind in ((group.user_ids, "User"), (group.group_ids, "Group")):
        members.extend(
            {
                "value": mid,
                "$ref": f"{base}/{kind}s/{mid}",
                "display": member_display(directory, group, mid),
                "type": kind,
            }
            for mid in ids
        )
    if members:
        resource["members"] = members
    resource["meta"] = {
        "resourceType": "Group",
        "created": scim_time(group.created),
        "lastModified": scim_time(max(group.last_updated, group.last_membership_updated)),
        "location": f"{base}/Groups/{group.object_id}",
        "version": group_version(group),
    }
    return resource


def group_refs(directory: Directory, base: str) -> dict[str, list[dict[str, Any]]]:
    """User id -> the ``groups`` entries of its direct groups, built once per directory version."""

    def build() -> dict[str, list[dict[str, Any]]]:
        index: dict[str, list[dict[str, Any]]] = {}
        for group in directory.groups_snapshot():
            ref = {
                "value": group.object_id,
                "$ref": f"{base}/Groups/{group.object_id}",
                "display": group.name,
                "type": "direct",
            }
            for uid in group.user_ids:
                index.setdefault(uid, []).append(ref)
        return index

    return directory.cached(("scim", "group-refs", base), build)


def render_users(directory: Directory, users: Sequence[User], base: str) -> list[dict[str, Any]]:
    """SCIM Users for ``users``, rendered in one pass."""
    index = group_refs(directory, base)
    return [user_resource(user, base, index.get(user.object_id, [])) for user in users]


def render_groups(directory: Directory, groups: Sequence[Group], base: str) -> list[dict[str, Any]]:
    """SCIM Groups for ``groups``."""
    return [group_resource(group, directory, base) for group in groups]


def project(
    resource: dict[str, Any], resolver: Resolver, attributes: list[str] | None, excluded: list[str] | None
) -> dict[str, Any]:
    """Apply ``attributes`` / ``excludedAttributes`` (RFC 7644 §3.4.2.5); ``schemas`` and
    ``id`` are always returned.  Unknown names are ignored, as the RFC allows."""
    if attributes:
        out: dict[str, Any] = {"schemas": resource["schemas"], "id": resource["id"]}
        for path in attributes:
            found = resolver.resolve(path.strip())
            if found is None:
                continue
            attr, sub = found
            source = resource.get(attr.urn, {}) if attr.urn else resource
            if attr.name not in source:
                continue
            target = out.setdefault(attr.urn, {}) if attr.urn else out
            value = source[attr.name]
            if sub is None:
                target[attr.name] = value
            elif isinstance(value, list):
                have = target.setdefault(attr.name, [{} for _ in value])
                for kept, item in zip(have, value, strict=True):
                    if sub.name in item:
                        kept[sub.name] = item[sub.name]
            elif sub.name in value:
                target.setdefault(attr.name, {})[sub.name] = value[sub.name]
        return out
    if excluded:
        out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in resource.items()}
        for path in excluded:
            found = resolver.resolve(path.strip())
            if found is None or found[0].name in ("id",):
                continue
            attr, sub = found
            target = out.get(attr.urn, {}) if attr.urn else out
            if sub is None:
                target.pop(attr.name, None)
            elif isinstance(target.get(attr.name), dict):
                target[attr.name].pop(sub.name, None)
            elif isinstance(target.get(attr.name), list):
                target[attr.name] = [{k: v for k, v in i.items() if k != sub.name} for i in target[attr.name]]
        return out
    return resource
