"""The discovery documents of RFC 7644 §4: ServiceProviderConfig, ResourceTypes, Schemas."""

from __future__ import annotations

from typing import Any

from scim2_models import Context
from scim2_models import EnterpriseUser
from scim2_models import Group
from scim2_models import User

from connector.push.paging import MAX_COUNT

CONFIG_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def service_provider_config(base: str) -> dict[str, Any]:
    """What the service supports: PATCH, filters, ETags; no bulk, sorting or password change."""
    return {
        "schemas": [CONFIG_SCHEMA],
        "documentationUri": "https://example.invalid/docs/push.md",
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": MAX_COUNT},
        "changePassword": {"supported": False},
        "sort": {"supported": False},
        "etag": {"supported": True},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "Bearer token",
                "description": "The directory's token: Authorization: Bearer <token>",
                "primary": True,
            }
        ],
        "meta": {"resourceType": "ServiceProviderConfig", "location": f"{base}/ServiceProviderConfig"},
    }


def resource_types(base: str) -> list[dict[str, Any]]:
    """The User type (with the enterprise extension, kept as sent) and the Group type."""
    return [
        {
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "schema": USER_SCHEMA,
            "schemaExtensions": [{"schema": ENTERPRISE_SCHEMA, "required": False}],
            "meta": {"resourceType": "ResourceType", "location": f"{base}/ResourceTypes/User"},
        },
        {
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": "Group",
            "name": "Group",
            "endpoint": "/Groups",
            "schema": GROUP_SCHEMA,
            "meta": {"resourceType": "ResourceType", "location": f"{base}/ResourceTypes/Group"},
        },
    ]


KEPT: dict[str, dict[str, set[str] | None]] = {
    USER_SCHEMA: {
        "userName": None,
        "externalId": None,
        "name": {"givenName", "familyName"},
        "displayName": None,
        "emails": {"value", "type", "primary"},
        "active": None,
    },
    GROUP_SCHEMA: {"displayName": None, "externalId": None, "members": {"value", "$ref", "type"}},
    ENTERPRISE_SCHEMA: {
        "employeeNumber": None,
        "costCenter": None,
        "organization": None,
        "division": None,
        "department": None,
        "manager": {"value", "$ref", "displayName"},
    },
}
"""The attributes (and sub-attributes) a pushed resource keeps: the neutral model's, externalId
and the enterprise extension.  The schemas served list these alone, so a client learns what it
can read back (RFC 7643 §7)."""


def schemas(base: str) -> list[dict[str, Any]]:
    """The schemas of the served resources: scim2-models' own, cut to the attributes kept."""
    out = []
    for model in (User, Group, EnterpriseUser):
        body = model.to_schema().model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
        kept = KEPT[body["id"]]
        body["attributes"] = [_cut(a, kept[a["name"]]) for a in body["attributes"] if a["name"] in kept]
        body["meta"] = {"resourceType": "Schema", "location": f"{base}/Schemas/{body['id']}"}
        out.append(body)
    return out


def _cut(attribute: dict[str, Any], sub: set[str] | None) -> dict[str, Any]:
    if sub is None or "subAttributes" not in attribute:
        return attribute
    return dict(attribute, subAttributes=[s for s in attribute["subAttributes"] if s["name"] in sub])
