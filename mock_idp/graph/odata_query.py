"""The OData query options of a Graph collection request besides ``$filter``: ``$top``,
``$select``, ``$orderby``, ``$count``, and the ``$skiptoken`` that carries them.

:func:`parse_query` reads them into a :class:`Query`, which a ``$skiptoken``
carries from page to page.  ``$filter`` is kept as text here and compiled by
:mod:`mock_idp.graph.odata_filter`.  These functions take plain mappings, no Flask.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_TOP = 100
MAX_TOP = 999


class QueryOptionError(Exception):
    """A query option Graph refuses with 400; ``code`` is its error code."""

    def __init__(self, message: str, code: str = "Request_BadRequest") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class Query:
    """The query options of a collection request (restored from ``$skiptoken`` on later pages)."""

    top: int = DEFAULT_TOP
    select: tuple[str, ...] | None = None
    filter: str | None = None
    orderby: str | None = None
    count: bool = False
    advanced: bool = False
    offset: int = 0
    last: str = ""  # id of the previous page's last object

    def encode(self, offset: int, last: str = "") -> str:
        data = {
            **self.__dict__,
            "offset": offset,
            "last": last,
            "select": list(self.select) if self.select else None,
        }
        return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Query:
        try:
            data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            data["select"] = tuple(data["select"]) if data["select"] else None
            return cls(**data)
        except (ValueError, TypeError, KeyError, binascii.Error):
            raise QueryOptionError("The $skiptoken is not valid.") from None


def parse_query(
    args: Mapping[str, str], headers: Mapping[str, str], properties: Mapping[str, Any], entity: str
) -> Query:
    """The query options of a collection request: ``$top``, ``$select``, ``$filter``,
    ``$orderby`` (displayName or userPrincipalName), ``$count`` (with ``ConsistencyLevel:
    eventual``), or all of them from a ``$skiptoken``.  ``$skip`` is refused as Graph does."""
    if "$skiptoken" in args:
        return Query.decode(args["$skiptoken"])
    if "$skip" in args:
        raise QueryOptionError("'$skip' is not supported by the service.")
    for option in ("$search", "$expand"):
        if option in args:
            raise QueryOptionError(
                f"Query option '{option}' is not supported here.", "Request_UnsupportedQuery"
            )
    top = parse_top(args)
    count = args.get("$count", "").lower() == "true"
    advanced = count and headers.get("ConsistencyLevel", "").lower() == "eventual"
    if count and not advanced:
        raise QueryOptionError(
            "$count is not currently supported without the ConsistencyLevel: eventual header."
        )
    orderby = args.get("$orderby")
    if orderby is not None:
        parts = orderby.split()
        if (
            not parts
            or parts[0] not in ("displayName", "userPrincipalName")
            or parts[1:] not in ([], ["asc"], ["desc"])
        ):
            raise QueryOptionError(f"Sorting by '{orderby}' is not supported.", "Request_UnsupportedQuery")
    return Query(
        top=top,
        select=parse_select(args, properties, entity=entity),
        filter=args.get("$filter"),
        orderby=orderby,
        count=count,
        advanced=advanced,
    )


def parse_top(args: Mapping[str, str]) -> int:
    """``$top``: 1..999, 100 when absent."""
    raw = args.get("$top")
    if raw is None:
        return DEFAULT_TOP
    try:
        top = int(raw)
    except ValueError:
        raise QueryOptionError(
            f"Invalid page size specified: '{raw}'. Must be between 1 and 999 inclusive."
        ) from None
    if not 1 <= top <= MAX_TOP:
        raise QueryOptionError(f"Invalid page size specified: '{raw}'. Must be between 1 and 999 inclusive.")
    return top


def parse_select(
    args: Mapping[str, str],
    properties: Mapping[str, Any],
    extra: tuple[str, ...] = (),
    entity: str = "directoryObject",
) -> tuple[str, ...] | None:
    """``$select`` as canonical property names (any case accepted); an unknown one is refused."""
    raw = args.get("$select")
    if raw is None:
        return None
    known = {name.lower(): name for name in (*properties, *extra)}
    selected = []
    for part in raw.split(","):
        name = known.get(part.strip().lower())
        if name is None:
            raise QueryOptionError(
                f"Could not find a property named '{part.strip()}' on type 'microsoft.graph.{entity}'."
            )
        if name not in selected:
            selected.append(name)
    return tuple(selected)
