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


def read_resource(model: type[M], body: Any, context: Context) -> M:
    """``body`` as ``model`` (read-only attributes such as ``id`` and ``meta`` dropped)."""
    if not isinstance(body, dict):
        raise ScimError(400, "the body is not a JSON object", "invalidSyntax")
    try:
        with DIALECT:
            return model.model_validate(body, scim_ctx=context)  # type: ignore[call-arg]
    except (SCIMException, ValidationError) as exc:
        raise scim_error(exc) from None


def apply_patch(model: type[M], resource: M, body: Any) -> M:
    """``resource`` with the PatchOp ``body`` applied (all its operations, or none)."""
    if not isinstance(body, dict):
        raise ScimError(400, "the body is not a JSON object", "invalidSyntax")
    try:
        with DIALECT:
            patch = PatchOp[model].model_validate(body, scim_ctx=Context.RESOURCE_PATCH_REQUEST)  # type: ignore[valid-type]
            patch.patch(resource)
    except (SCIMException, ValidationError) as exc:
        raise scim_error(exc) from None
    return resource
