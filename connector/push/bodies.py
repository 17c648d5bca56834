"""A request body read as a scim2-models resource or PatchOp, under the dialect policy.

The policy takes what Okta and Entra send (docs/push.md, "Dialects"): attributes no schema
declares are ignored, Entra's ``remove`` with ``path: "members"`` and a value list removes
those members, a value filter that matches nothing creates the entry; op names in any case
and ``"True"``/``"False"`` for booleans are scim2-models' own reading.
"""

from __future__ import annotations

from typing import Any
from typing import TypeVar

from pydantic import BaseModel
from pydantic import ValidationError
from scim2_models import Context
from scim2_models import PatchOp
from scim2_models import SCIMException
from scim2_models import ScimPolicy

from connector.push.errors import ScimError

M = TypeVar("M", bound=BaseModel)

DIALECT = ScimPolicy(
    unknown=ScimPolicy.Unknown.ignore,
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)


def scim_error(exc: SCIMException | ValidationError) -> ScimError:
    """A scim2-models refusal as the service's error (a validation error is ``invalidValue``)."""
    if isinstance(exc, SCIMException):
        return ScimError(int(exc.status), str(exc.detail), exc.scim_type)
    scim_types = [
        str(e["type"]).removeprefix("scim_") for e in exc.errors() if str(e["type"]).startswith("scim_")
    ]
    detail = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()[:5])
    scim_type = scim_types[0] if scim_types else "invalidValue"
    return ScimError(400, detail, scim_type)


ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def manager_reference(value: Any) -> Any:
    """A manager as the enterprise schema has it (RFC 7643 §4.3: ``value`` and ``$ref``).

    Entra sends it as a one-item list, other clients as a bare id or without ``$ref``, which
    scim2-models refuses: ``$ref`` is filled as the relative URI of the manager's user.
    """
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, str):
        value = {"value": value}
    if isinstance(value, dict) and value.get("value") and not value.get("$ref"):
        value = {**value, "$ref": f"../Users/{value['value']}"}
    return value


def _with_manager(body: dict[str, Any]) -> dict[str, Any]:
    """A user body whose enterprise ``manager`` is an object with ``$ref``."""
    extension = body.get(ENTERPRISE)
    if isinstance(extension, dict) and "manager" in extension:
        body = {**body, ENTERPRISE: {**extension, "manager": manager_reference(extension["manager"])}}
    return body


def _patch_with_manager(body: dict[str, Any]) -> dict[str, Any]:
    """A PatchOp whose operations on the manager carry it as an object with ``$ref``."""
    operations = body.get("Operations")
    if not isinstance(operations, list):
        return body
    fixed = []
    for op in operations:
        if isinstance(op, dict):
            path = str(op.get("path") or "")
            if path.lower() in {"manager", f"{ENTERPRISE}:manager".lower()} and "value" in op:
                # the core schema has no manager: a bare "manager" path means the extension's
                op = {**op, "path": f"{ENTERPRISE}:manager", "value": manager_reference(op["value"])}
            elif not path and isinstance(op.get("value"), dict):
                value = _with_manager(op["value"])
                key = f"{ENTERPRISE}:manager"
                if key in value:
                    value = {**value, key: manager_reference(value[key])}
                op = {**op, "value": value}
        fixed.append(op)
    return {**body, "Operations": fixed}


def read_resource(model: type[M], body: Any, context: Context) -> M:
    """``body`` as ``model`` (read-only attributes such as ``id`` and ``meta`` dropped)."""
    if not isinstance(body, dict):
        raise ScimError(400, "the body is not a JSON object", "invalidSyntax")
    body = _with_manager(body)
    try:
        with DIALECT:
            return model.model_validate(body, scim_ctx=context)  # type: ignore[call-arg]
    except (SCIMException, ValidationError) as exc:
        raise scim_error(exc) from None


def apply_patch(model: type[M], resource: M, body: Any) -> M:
    """``resource`` with the PatchOp ``body`` applied (all its operations, or none)."""
    if not isinstance(body, dict):
        raise ScimError(400, "the body is not a JSON object", "invalidSyntax")
    body = _patch_with_manager(body)
    try:
        with DIALECT:
            patch = PatchOp[model].model_validate(body, scim_ctx=Context.RESOURCE_PATCH_REQUEST)  # type: ignore[valid-type]
            patch.patch(resource)
    except (SCIMException, ValidationError) as exc:
        raise scim_error(exc) from None
    return resource
