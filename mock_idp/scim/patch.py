"""SCIM writes: from a request document to directory fields, and PATCH (RFC 7644 §3.5).

PATCH works on the resource's document: the current resource is rendered,
each operation edits it (RFC 7644 §3.5.2.1-3 semantics), and the result is
read back like a PUT body.  So PUT and PATCH share one mapping, and a PATCH
that changes nothing changes nothing (same ETag).

Leniencies, for what real IdPs send (Entra ID): ``op`` in any case
(``Replace``), booleans as strings (``"False"``), ``remove`` of ``members``
with a value list instead of a filter.  A ``remove`` whose filter matches
nothing is a no-op; a ``replace`` whose filter matches nothing is
``noTarget``.

A path-less ``add``/``replace`` applies each key of its value as the attribute
path it names: ``{"displayName": ...}``, and also Entra's ``aadOptscim062020``
form ``{"name.givenName": ..., "emails[type eq "work"].value": ...}``.  An
unknown key is ``invalidPath``, never dropped.  A ``readOnly`` (or
``immutable``) attribute written with the value it has is no change and is
accepted (Okta renames a group with ``{"id": <its id>, "displayName": ...}``);
any other write of one is ``mutability``.
"""

from __future__ import annotations

import copy
from typing import Any

from mock_idp.scim.filter import ScimFilterError
from mock_idp.scim.filter import parse_patch_path
from mock_idp.scim.filter import wrap_element
from mock_idp.scim.resources import default_emails
from mock_idp.scim.resources import derived_formatted
from mock_idp.scim.resources import member_display
from mock_idp.scim.resources import primary_email
from mock_idp.scim.schemas import ENTERPRISE
from mock_idp.scim.schemas import PATCH_OP
from mock_idp.scim.schemas import Attr
from mock_idp.scim.schemas import Resolver

_READ_ONLY_TOP = {"id", "meta", "groups"}


class ScimWriteError(Exception):
    """A write the server refuses: 400 with ``scim_type`` (RFC 7644 §3.12)."""

    def __init__(self, message: str, scim_type: str = "invalidValue", status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.scim_type = scim_type
        self.status = status


def normalize(doc: Any, resolver: Resolver) -> dict[str, Any]:
    """``doc`` with attribute names in their canonical case; unknown names are dropped."""
    if not isinstance(doc, dict):
        raise ScimWriteError("the request body must be a JSON object", "invalidSyntax")
    out: dict[str, Any] = {}
    for key, value in doc.items():
        if key.lower() == "schemas":
            out["schemas"] = value
            continue
        urn = resolver.schema_urn(key)
        if urn is not None:
            if isinstance(value, dict):
                out[urn] = {
                    a.name: _canonical(a, v)
                    for k, v in value.items()
                    if (a := resolver.attrs[urn].get(k.lower()))
                }
            continue
        found = resolver.resolve(key)
        if found is None or found[1] is not None:
            continue
        attr = found[0]
        if attr.urn:
            out.setdefault(attr.urn, {})[attr.name] = _canonical(attr, value)
        else:
            out[attr.name] = _canonical(attr, value)
    return out


def _canonical(attr: Attr, value: Any) -> Any:
    if not attr.sub_attributes:
        return value
    if isinstance(value, list):
        return [_canonical_item(attr, v) for v in value]
    return _canonical_item(attr, value)


def _canonical_item(attr: Attr, value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    return {(s.name if (s := attr.sub(k)) else k): v for k, v in value.items()}


def boolean(value: Any, name: str) -> bool:
    """A SCIM boolean; Entra sends ``"True"``/``"False"`` strings."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ScimWriteError(f"{name!r} must be a boolean, got {value!r}")


def apply_patch(resource: dict[str, Any], body: Any, resolver: Resolver) -> dict[str, Any]:
    """``resource`` after the PatchOp ``body``; ``resource`` is not modified."""
    if not isinstance(body, dict) or PATCH_OP not in (body.get("schemas") or []):
        raise ScimWriteError(f"a PATCH body must list the schema {PATCH_OP}", "invalidSyntax")
    operations = body.get("Operations", body.get("operations"))
    if not isinstance(operations, list) or not operations:
        raise ScimWriteError("a PATCH body needs a non-empty 'Operations' list", "invalidSyntax")
    doc = copy.deepcopy(resource)
    for operation in operations:
        if not isinstance(operation, dict):
            raise ScimWriteError("each operation must be an object", "invalidSyntax")
        op = str(operation.get("op", "")).lower()
        if op not in ("add", "remove", "replace"):
            raise ScimWriteError(
                f"unknown PATCH op {operation.get('op')!r}; one of add, remove, replace", "invalidSyntax"
            )
        path = operation.get("path")
        value = operation.get("value")
        if path is None or path == "":
            if op == "remove":
                raise ScimWriteError("'remove' needs a path", "noTarget")
            # RFC 7644 §3.5.2.1: "If omitted, the target location is assumed to be the resource
            # itself.  The "value" parameter contains a set of attributes to be added to the
            # resource."; §3.5.2.3 (replace): "the "value" attribute SHALL contain a list of one
            # or more attributes that are to be replaced."  Each key is read as a path, so
            # Entra's dotted keys ("name.givenName") land where they say.
            if not isinstance(value, dict):
                raise ScimWriteError(
                    f"a path-less {op!r} needs an object of attributes as its value", "invalidSyntax"
                )
            for key, item in value.items():
                if str(key).lower() != "schemas":  # the resource's schemas are not the client's to set
                    _apply_path(doc, op, str(key), item, resolver)
            continue
        _apply_path(doc, op, str(path), value, resolver)
    return doc


def _apply_path(doc: dict[str, Any], op: str, path: str, value: Any, resolver: Resolver) -> None:
    """One operation on ``path`` (an operation's ``path``, or a key of a path-less value)."""
    urn = resolver.schema_urn(path)
    if urn is not None:  # the whole extension: its attributes are the value's
        _patch_extension(doc, urn, op, value, resolver)
        return
    try:
        target = parse_patch_path(path, resolver)
    except ScimFilterError as exc:
        raise ScimWriteError(exc.message, exc.scim_type) from None
    read_only = (
        target.attr.name in _READ_ONLY_TOP
        or target.attr.mutability == "readOnly"
        or (target.sub is not None and target.sub.mutability == "readOnly")
    )
    immutable = target.sub is not None and target.sub.mutability == "immutable"
    if read_only or immutable:
        # RFC 7644 §3.5.2: "Each operation against an attribute MUST be compatible with the
        # attribute's mutability [...].  For example, a client MUST NOT modify an attribute that
        # has mutability "readOnly" or "immutable". [...] An operation that is not compatible
        # with an attribute's mutability or schema SHALL return the appropriate HTTP response
        # status code and a JSON detail error response".  Writing the value the attribute
        # already has does not modify it (as for PUT, §3.5.1: readOnly "Any values provided
        # SHALL be ignored"; immutable "the input value(s) MUST match"), so it is accepted as a
        # no-op; a removal, or any other value, is refused.  Members' sub-attributes always
        # hold a value, so the "add" of §3.5.2's immutable exception never applies to them.
        trial = copy.deepcopy(doc)
        if op == "remove" or _applied(trial, op, target, value) != doc:
            kind = "read-only" if read_only else "immutable"
            raise ScimWriteError(f"{path!r} is {kind}", "mutability")
        return
    _apply(doc, op, target, value)


def _applied(doc: dict[str, Any], op: str, target: Any, value: Any) -> dict[str, Any]:
    _apply(doc, op, target, value)
    return doc


def _patch_extension(doc: dict[str, Any], urn: str, op: str, value: Any, resolver: Resolver) -> None:
    if op == "remove":
        doc.pop(urn, None)
        return
    if not isinstance(value, dict):
        raise ScimWriteError(f"the value for {urn} must be an object")
    new = normalize({urn: value}, resolver).get(urn, {})
    doc[urn] = {**doc.get(urn, {}), **new}


def _apply(doc: dict[str, Any], op: str, target: Any, value: Any) -> None:
    attr, sub = target.attr, target.sub
    container = doc.setdefault(attr.urn, {}) if attr.urn else doc
    if target.value_filter is not None:
        items = container.get(attr.name) or []
        hits = [i for i in items if isinstance(i, dict) and target.value_filter(wrap_element(attr, i))]
        if op == "remove":
            if sub is None:
                container[attr.name] = [i for i in items if not any(i is h for h in hits)]
            else:
                for hit in hits:
                    hit.pop(sub.name, None)
            return
        if not hits:
            raise ScimWriteError(f"no value of {attr.name!r} matches the path's filter", "noTarget")
        for hit in hits:
            if sub is not None:
                hit[sub.name] = value
            elif isinstance(value, dict):
                hit.update(_canonical_item(attr, value))
        return
    if sub is not None:
        if attr.multi_valued:
            items = container.get(attr.name) or []
            for item in items:
                if op == "remove":
                    item.pop(sub.name, None)
                else:
                    item[sub.name] = value
            return
        current = container.setdefault(attr.name, {})
        if op == "remove":
            current.pop(sub.name, None)
        else:
            current[sub.name] = value
        return
    if op == "remove":
        if attr.multi_valued and isinstance(value, list) and container.get(attr.name):
            drop = {str(v.get("value")) for v in value if isinstance(v, dict)}
            container[attr.name] = [i for i in container[attr.name] if str(i.get("value")) not in drop]
        else:
            container.pop(attr.name, None)
        return
    value = _canonical(attr, value)
    if attr.multi_valued:
        values = value if isinstance(value, list) else [value]
        if op == "add":
            have = container.get(attr.name) or []
            container[attr.name] = have + [v for v in values if v not in have]
        else:
            container[attr.name] = values
    elif attr.sub_attributes and isinstance(value, dict) and isinstance(container.get(attr.name), dict):
        container[attr.name] = {**container[attr.name], **value}
    else:
        container[attr.name] = value


# ---------------------------------------------------------------- documents to directory fields


def _text(doc: dict[str, Any], key: str) -> str | None:
    value = doc.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ScimWriteError(f"{key!r} must be a string, got {value!r}")
    return value


def user_fields(doc: dict[str, Any], current: Any) -> dict[str, Any]:
    """Directory fields for a User document (a POST or PUT body, or a patched resource).

    Attributes the document leaves out are cleared, as a PUT replaces
    (RFC 7644 §3.5.1); ``active`` left out keeps the status, ``password`` left
    out keeps the password.  ``emails`` are kept as written; the primary one
    (the last one marked primary, else the first) is ``email``, the others
    ``other_mails``.  ``active: null`` unassigns ``active`` (RFC 7643 §2.5).
    """
    user_name = _text(doc, "userName")
    if not user_name:
        raise ScimWriteError("'userName' is required", "invalidValue")
    name = doc.get("name") or {}
    if not isinstance(name, dict):
        raise ScimWriteError("'name' must be an object")
    emails = _emails(doc.get("emails") or [])
    primary = primary_email(emails)
    phones = [p for p in doc.get("phoneNumbers") or [] if isinstance(p, dict) and p.get("value")]
    mobile = next(
        (p for p in phones if p.get("type") == "mobile"), phones[0] if phones else None
    )  # Graph mobilePhone
    enterprise = doc.get(ENTERPRISE) or {}
    given, family = _text(name, "givenName"), _text(name, "familyName")
    email = primary["value"] if primary else None
    other_mails = [e["value"] for e in emails if e is not primary]
    fields: dict[str, Any] = {
        "user_name": user_name,
        "email": email,
        "other_mails": other_mails,
        "scim_emails": emails if emails != default_emails(email, other_mails) else None,
        "given_name": given,
        "family_name": family,
        "formatted_name": _formatted(_text(name, "formatted"), given, family, current),
        "display_name": _text(doc, "displayName"),
        "title": _text(doc, "title"),
        "user_type": _text(doc, "userType"),
        "external_id": _text(doc, "externalId"),
        "mobile_phone": mobile["value"] if mobile else None,
        "employee_number": _text(enterprise, "employeeNumber"),
        "department": _text(enterprise, "department"),
    }
    fields.update(_status(doc, current))
    if doc.get("password") is not None:
        fields["password"] = _text(doc, "password")
    return fields


def _formatted(written: str | None, given: str | None, family: str | None, current: Any) -> str | None:
    """The ``name.formatted`` to store: None when it is the derived one, from the document's
    names or (echoed back by a PATCH or a read-modify-PUT) from the user's current names."""
    if written is None or written == derived_formatted(given, family):
        return None
    if (
        current is not None
        and current.formatted_name is None
        and written == derived_formatted(current.given_name, current.family_name)
    ):
        return None
    return written


_EMAIL_KEYS = ("value", "type", "primary", "display")


def _emails(value: Any) -> list[dict[str, Any]]:
    """``emails`` as stored: the published sub-attributes, ``primary`` a boolean.  RFC 7644
    §3.5.2: a value set ``primary`` "SHALL cause the server to automatically set "primary"
    to "false" for any other values" (the last one marked wins, as a PATCH appends)."""
    if not isinstance(value, list) or not all(
        isinstance(e, dict) and isinstance(e.get("value"), str) for e in value
    ):
        raise ScimWriteError("'emails' must be a list of objects with a string 'value'")
    emails = []
    for entry in value:
        kept = {k: entry[k] for k in _EMAIL_KEYS if entry.get(k) is not None}
        for key in ("type", "display"):
            if key in kept and not isinstance(kept[key], str):
                raise ScimWriteError(f"'emails.{key}' must be a string, got {kept[key]!r}")
        if "primary" in kept:
            kept["primary"] = boolean(kept["primary"], "primary")
        emails.append(kept)
    primary = primary_email(emails)
    for entry in emails:
        if entry is not primary and entry.get("primary") is True:
            entry["primary"] = False
    return emails


def _status(doc: dict[str, Any], current: Any) -> dict[str, Any]:
    """``status`` and ``active_unassigned`` for the document's ``active``.

    RFC 7644 §3.5.2.2: removing a single-valued attribute means "the attribute SHALL
    be considered unassigned", and RFC 7643 §2.5 makes a null the same.  RFC 7643
    §4.1.1 leaves ``active`` to the provider: "The definitive meaning of this attribute
    is determined by the service provider."  Here an unassigned ``active`` is the
    default a user created without one gets, an active user (so the other dialects and
    a reader taking a missing ``active`` for true agree); SCIM then shows no ``active``.
    """
    if "active" not in doc:  # a PUT that leaves it out does not assert it
        return {"status": "ACTIVE"} if current is None else {}
    if doc["active"] is None:
        unassigned: dict[str, Any] = {"active_unassigned": True}
        if current is None or not current.active:
            unassigned["status"] = "ACTIVE"
        return unassigned
    active = boolean(doc["active"], "active")
    fields: dict[str, Any] = {"active_unassigned": False}
    if current is None or current.active != active:
        fields["status"] = "ACTIVE" if active else "SUSPENDED"
    return fields


def group_members(
    doc: dict[str, Any], directory: Any, current: Any
) -> tuple[str, str | None, list[str], list[str], dict[str, str]]:
    """``(display name, external id, user ids, group ids, displays)`` of a Group document.

    A member's kind comes from its ``type`` or else from which id it is;
    an unknown member id is ``invalidValue``.  ``displays`` are the members'
    ``display`` values as written.  A member's ``display`` is immutable
    (RFC 7643 §4.2): for a member ``current`` already has, one that differs from
    what it shows is refused, per RFC 7644 §3.5.1: "If one or more values are
    already set for the attribute, the input value(s) MUST match, or HTTP status
    code 400 SHOULD be returned with a "scimType" of "mutability"."
    """
    name = _text(doc, "displayName")
    if not name:
        raise ScimWriteError("'displayName' is required", "invalidValue")
    users: list[str] = []
    groups: list[str] = []
    displays: dict[str, str] = {}
    for member in doc.get("members") or []:
        value = member.get("value") if isinstance(member, dict) else None
        if not isinstance(value, str):
            raise ScimWriteError("each member needs a string 'value'")
        kind = str(member.get("type") or "").lower()
        if kind != "group" and value in directory.users:
            users.append(value)
        elif kind != "user" and value in directory.groups:
            groups.append(value)
        else:
            raise ScimWriteError(f"member {value!r} is not a known user or group", "invalidValue")
        display = member.get("display")
        if display is None:
            continue
        if not isinstance(display, str):
            raise ScimWriteError(f"a member's 'display' must be a string, got {display!r}")
        kept = current is not None and (value in current.user_ids or value in current.group_ids)
        before = member_display(directory, current, value) if kept else displays.get(value, display)
        if before != display:
            raise ScimWriteError(f"member {value!r}: 'display' is immutable", "mutability")
        displays[value] = display
    return name, _text(doc, "externalId"), users, groups, displays
