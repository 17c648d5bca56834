"""``attributes`` and ``excludedAttributes`` (RFC 7644 §3.4.2.5, §3.9): which attributes an answer holds.

``id``, ``schemas`` and ``meta`` are returned always.  Names are case-insensitive; a dotted name
(``name.givenName``) selects or drops one sub-attribute.  The URN prefix of the core schemas may
be given (``urn:ietf:params:scim:schemas:core:2.0:User:userName``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ALWAYS = {"id", "schemas", "meta"}
_CORE = ("urn:ietf:params:scim:schemas:core:2.0:user:", "urn:ietf:params:scim:schemas:core:2.0:group:")


def _names(raw: str | None) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    for given in (raw or "").split(","):
        name = given.strip().lower()
        for prefix in _CORE:
            if name.startswith(prefix):
                name = name[len(prefix) :]
        if name:
            top, _, sub = name.partition(".")
            out.append((top, sub or None))
    return out


def _key(body: Mapping[str, Any], lowered: str) -> str | None:
    return next((k for k in body if k.lower() == lowered), None)


def project(body: dict[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """``body`` cut as ``params``' ``attributes`` (kept, with the always-returned ones) or else
    ``excludedAttributes`` (dropped) say; unchanged when neither is given."""
    wanted = _names(params.get("attributes"))
    if wanted:
        out = {k: v for k, v in body.items() if k.lower() in ALWAYS}
        for top, sub in wanted:
            key = _key(body, top)
            if key is None:
                continue
            value = body[key]
            if sub is None or not isinstance(value, dict):
                out[key] = value
                continue
            inner = _key(value, sub)
            if inner is not None:
                kept = out.get(key) if isinstance(out.get(key), dict) else {}
                out[key] = {**kept, inner: value[inner]}
        return out
    out = dict(body)
    for top, sub in _names(params.get("excludedAttributes")):
        key = _key(out, top)
        if key is None or top in ALWAYS:
            continue
        if sub is None:
            del out[key]
        elif isinstance(out[key], dict) and (inner := _key(out[key], sub)) is not None:
            out[key] = {k: v for k, v in out[key].items() if k != inner}
    return out
