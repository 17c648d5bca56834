"""The neutral model's records as SCIM resources (scim2-models) and back.

A pushed user is kept as an :class:`~connector.model.IdpUser` in the directory's mirror: the
neutral model's fields, ``externalId`` (an attribute, never an id) and the enterprise user
extension as the client sent it.  What a SCIM resource says beyond those (phone numbers,
addresses, roles) is not kept (docs/push.md, "What is kept").
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection
from datetime import datetime
from datetime import timezone
from typing import Any

from scim2_models import Context
from scim2_models import Email
from scim2_models import EnterpriseUser
from scim2_models import Group
from scim2_models import GroupMember
from scim2_models import Name
from scim2_models import User

from connector.model import IdpGroup
from connector.model import IdpMember
from connector.model import IdpUser
from connector.model import MemberKind

ScimUser = User[EnterpriseUser]
"""The user resource served: the core schema with the enterprise extension."""


def version_of(body: dict[str, Any]) -> str:
    """A weak ETag of a resource's attributes (``meta`` left out)."""
    data = {k: v for k, v in body.items() if k != "meta"}
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
    return f'W/"{digest[:20]}"'


def _meta(kind: str, location: str, updated: datetime | None, body: dict[str, Any]) -> dict[str, Any]:
    meta: dict[str, Any] = {"resourceType": kind, "location": location, "version": version_of(body)}
    if updated is not None:
        meta["lastModified"] = updated.isoformat()
    return meta


def user_model(user: IdpUser) -> ScimUser:
    """The SCIM user that ``user`` is (its primary address a ``work`` email, the rest ``other``)."""
    emails = [Email(value=user.email, type=Email.Type.work, primary=True)] if user.email else []
    emails += [Email(value=e, type=Email.Type.other) for e in user.other_emails]
    name = None
    if user.given_name or user.family_name:
        name = Name(given_name=user.given_name, family_name=user.family_name)
    model = ScimUser(
        id=user.idp_user_id,
        external_id=user.external_id,
        user_name=user.user_name,
        display_name=user.display_name,
        name=name,
        emails=emails or None,
        active=user.active,
    )
    if user.enterprise:
        model[EnterpriseUser] = EnterpriseUser.model_validate(json.loads(user.enterprise))
    return model


def _enterprise(model: ScimUser) -> str | None:
    """The enterprise extension the client sent, as canonical JSON text (None when it sent none)."""
    extension = model[EnterpriseUser]
    if extension is None:
        return None
    data = extension.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    data.pop("schemas", None)
    return json.dumps(data, sort_keys=True, separators=(",", ":")) if data else None


def user_body(user: IdpUser, location: str) -> dict[str, Any]:
    """The user as the service answers it, with ``meta`` (its ``version`` the ETag)."""
    body = user_model(user).model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    body["meta"] = _meta("User", location, user.updated_at, body)
    return body


def idp_user(model: ScimUser, user_id: str) -> IdpUser:
    """The neutral record of a SCIM user: the primary (else first) email is its address."""
    emails = [e for e in model.emails or [] if e.value]
    primary = next((e for e in emails if e.primary), emails[0] if emails else None)
    others = tuple(str(e.value) for e in emails if e is not primary)
    name = model.name
    active = model.active is not False  # RFC 7643 §4.1.1: absent means nothing said; we read it active
    return IdpUser(
        idp_user_id=user_id,
        user_name=str(model.user_name),
        email=str(primary.value) if primary is not None else None,
        active=active,
        raw_status=f"active={str(active).lower()}",
        display_name=model.display_name,
        given_name=name.given_name if name else None,
        family_name=name.family_name if name else None,
        other_emails=others,
        updated_at=datetime.now(timezone.utc).replace(microsecond=0),
        external_id=model.external_id,
        enterprise=_enterprise(model),
    )


def group_model(group: IdpGroup, members: tuple[IdpMember, ...]) -> Group:
    """The SCIM group that ``group`` is, with its direct members."""
    listed = [
        GroupMember(value=m.member_id, type="User" if m.kind is MemberKind.USER else "Group") for m in members
    ]
    return Group(
        id=group.idp_group_id, external_id=group.external_id, display_name=group.name, members=listed or None
    )


def group_body(
    group: IdpGroup, members: tuple[IdpMember, ...], location: str, *, with_members: bool = True
) -> dict[str, Any]:
    """The group as the service answers it (``excludedAttributes=members``: without members)."""
    body = group_model(group, members).model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    base = location.rpartition("/Groups/")[0]
    for member in body.get("members") or [] if base else []:
        member["$ref"] = f"{base}/{'Users' if member.get('type') == 'User' else 'Groups'}/{member['value']}"
    body["meta"] = _meta("Group", location, group.updated_at, body)
    if not with_members:
        body.pop("members", None)
    return body


def member_values(model: Group) -> list[str]:
    """The ids a group's member list names."""
    return [str(member.value) for member in model.members or []]


def idp_group(model: Group, group_id: str, groups: Collection[str]) -> tuple[IdpGroup, tuple[IdpMember, ...]]:
    """The neutral group and its direct members; a member naming a group of ``groups`` is nested."""
    group = IdpGroup(
        group_id,
        str(model.display_name),
        updated_at=datetime.now(timezone.utc).replace(microsecond=0),
        external_id=model.external_id,
    )
    members = []
    for member in model.members or []:
        value = str(member.value)
        kind = MemberKind.GROUP if value in groups else MemberKind.USER
        members.append(IdpMember(group_id, value, kind))
    return group, tuple(dict.fromkeys(members))
