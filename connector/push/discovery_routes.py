"""The discovery endpoints of RFC 7644 §4, and the root search the service does not serve."""

from __future__ import annotations

from flask import Response

from connector.push.discovery import resource_types
from connector.push.discovery import schemas
from connector.push.discovery import service_provider_config
from connector.push.errors import ScimError
from connector.push.errors import not_found
from connector.push.paging import list_response
from connector.push.requests import base_url
from connector.push.requests import json_answer
from connector.push.requests import scim


@scim.get("/ServiceProviderConfig")
def get_config() -> Response:
    return json_answer(service_provider_config(base_url()))


@scim.get("/ResourceTypes")
def get_resource_types() -> Response:
    found = resource_types(base_url())
    return json_answer(list_response(found, {"count": str(len(found))}))


@scim.get("/ResourceTypes/<name>")
def get_resource_type(name: str) -> Response:
    for found in resource_types(base_url()):
        if found["id"] == name:
            return json_answer(found)
    raise not_found(f"ResourceType {name}")


@scim.get("/Schemas")
def get_schemas() -> Response:
    found = schemas(base_url())
    return json_answer(list_response(found, {"count": str(len(found))}))


@scim.get("/Schemas/<path:urn>")
def get_schema(urn: str) -> Response:
    for found in schemas(base_url()):
        if found["id"] == urn:
            return json_answer(found)
    raise not_found(f"Schema {urn}")


@scim.post("/.search")
def search_everything() -> Response:
    """A search across resource types at once is not served: search ``/Users`` or ``/Groups``."""
    raise ScimError(501, "search /Users/.search or /Groups/.search: not several resource types at once")
