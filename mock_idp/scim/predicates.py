"""What a compiled SCIM filter tests (RFC 7643 §2.3, RFC 7644 §3.4.2.2): the values at an
attribute path of a rendered resource, presence, and comparisons.

Strings ignore case unless the attribute is ``caseExact``; ``dateTime``
compares as instants; booleans allow only ``eq``/``ne``.  A multi-valued
attribute matches when any of its values does; a complex one compared
without a sub-attribute compares its ``value``.  The grammar that builds
these predicates is :mod:`mock_idp.scim.filter`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mock_idp.scim.schemas import Attr

Predicate = Callable[[dict[str, Any]], bool]

_ORDERING = frozenset({"gt", "ge", "lt", "le"})


class ScimFilterError(Exception):
    """A filter or path the server cannot take; ``scim_type`` is the RFC 7644 §3.12 keyword."""

    def __init__(self, message: str, scim_type: str = "invalidFilter") -> None:
        super().__init__(message)
        self.message = message
        self.scim_type = scim_type


@dataclass(frozen=True)
class Path:
    """A resolved attribute path: ``attr`` (and ``sub``, if any), plus the
    value filter of a PATCH path such as ``members[value eq "x"]``."""

    attr: Attr
    sub: Attr | None = None
    value_filter: Predicate | None = None


def values_at(resource: dict[str, Any], path: Path) -> list[Any]:
    """Every value at ``path`` in ``resource`` (flattening multi-valued attributes)."""
    attr, sub = path.attr, path.sub
    container = resource.get(attr.urn, {}) if attr.urn else resource
    if not isinstance(container, dict):
        return []
    raw = container.get(attr.name)
    if raw is None:
        return []
    items = raw if isinstance(raw, list) else [raw]
    if sub is None and attr.sub_attributes:
        sub = attr.sub("value")
        if sub is None:
            return []
    if sub is None:
        return items
    return [i.get(sub.name) for i in items if isinstance(i, dict) and i.get(sub.name) is not None]


def present_at(path: Path) -> Predicate:
    """``attr pr``: some value at ``path`` that is not empty."""

    def present(resource: dict[str, Any]) -> bool:
        return any(v not in ("", [], {}) for v in values_at(resource, path))

    return present


def any_element(attr: Attr, pred: Predicate) -> Predicate:
    """``attr[filter]``: some element of ``attr`` satisfies ``pred`` (given :func:`wrap_element`)."""

    def match(resource: dict[str, Any]) -> bool:
        container = resource.get(attr.urn, {}) if attr.urn else resource
        items = container.get(attr.name) if isinstance(container, dict) else None
        return any(pred(wrap_element(attr, item)) for item in items or [] if isinstance(item, dict))

    return match


def wrap_element(attr: Attr, item: dict[str, Any]) -> dict[str, Any]:
    """A resource holding just ``item`` as the one value of ``attr`` (what value filters test)."""
    return {attr.urn: {attr.name: [item]}} if attr.urn else {attr.name: [item]}


def parse_datetime(text: str) -> datetime:
    """An RFC 7643 §2.3.5 ``dateTime`` (``Z`` allowed)."""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ScimFilterError(f"{text!r} is not a dateTime (RFC 7643 §2.3.5)") from None


def compare(path: Path, op: str, value: Any) -> Predicate:
    """``path op value``; a type mismatch the RFC forbids raises :class:`ScimFilterError`."""
    target = path.sub or path.attr
    if target.sub_attributes and path.sub is None:
        target = path.attr.sub("value") or target
    kind = target.type
    if kind == "boolean" and (op not in ("eq", "ne") or not isinstance(value, bool)):
        raise ScimFilterError(f"{target.name!r} is boolean: use eq/ne with true or false")
    if kind == "complex":
        raise ScimFilterError(f"{path.attr.name!r} is complex: filter on a sub-attribute")
    if op in ("co", "sw", "ew") and not isinstance(value, str):
        raise ScimFilterError(f"{op!r} needs a string value")
    if op in _ORDERING and (value is None or isinstance(value, bool)):
        raise ScimFilterError(f"{op!r} needs a string, number or dateTime value")
    convert: Callable[[Any], Any]
    if kind == "dateTime" and isinstance(value, str):
        wanted: Any = parse_datetime(value)
        convert = lambda v: parse_datetime(v) if isinstance(v, str) else v  # noqa: E731
    elif isinstance(value, str) and not target.case_exact:
        wanted = value.lower()
        convert = lambda v: v.lower() if isinstance(v, str) else v  # noqa: E731
    else:
        wanted = value
        convert = lambda v: v  # noqa: E731
    test = _OPERATORS[op]

    def match_any(resource: dict[str, Any]) -> bool:
        values = values_at(resource, path)
        if wanted is None:
            return (not values) if op == "eq" else bool(values)
        for raw in values:
            try:
                if test(convert(raw), wanted):
                    return True
            except (TypeError, ScimFilterError):
                continue
        return False

    if op == "ne":
        eq_test = compare(path, "eq", value)
        return lambda r: not eq_test(r)
    return match_any


_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "co": lambda a, b: isinstance(a, str) and b in a,
    "sw": lambda a, b: isinstance(a, str) and a.startswith(b),
    "ew": lambda a, b: isinstance(a, str) and a.endswith(b),
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
}
