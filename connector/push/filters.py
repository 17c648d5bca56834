"""The filters a push client sends on every look-up, answered by an index instead of a scan.

Okta looks a user up with ``userName eq "…"`` before it creates one, Entra with ``userName eq``
or ``externalId eq``, and a group with ``displayName eq``; ``id eq`` is common too.  Such a filter
is read here as a :class:`~connector.store.push_reads.Match` (the value a JSON string, or Entra's
unquoted form); any other filter is evaluated by scim2-models over the resources (RFC 7644
§3.4.2.2), which reads the whole directory.
"""

from __future__ import annotations

import json
import re

from connector.store.push_reads import Match

_EQ = re.compile(
    r'^\s*(?P<attribute>[A-Za-z][\w:.\-]*)\s+eq\s+(?P<value>"(?:[^"\\]|\\.)*"|[^\s"()]+)\s*$', re.I
)
_CORE = {
    "user": "urn:ietf:params:scim:schemas:core:2.0:user:",
    "group": "urn:ietf:params:scim:schemas:core:2.0:group:",
}
_ATTRIBUTES = {
    "user": {"id": "id", "username": "name", "externalid": "external_id"},
    "group": {"id": "id", "displayname": "name", "externalid": "external_id"},
}
_LITERALS = {"true", "false", "null"}


def indexed_match(raw: str, kind: str) -> Match | None:
    """The :class:`Match` that ``raw`` is (``kind``: ``user`` or ``group``), or None when it is
    not one attribute of those compared ``eq`` with a string."""
    found = _EQ.match(raw)
    if found is None:
        return None
    attribute = found["attribute"].lower().removeprefix(_CORE[kind])
    column = _ATTRIBUTES[kind].get(attribute)
    raw_value = found["value"]
    if column is None or raw_value.lower() in _LITERALS:
        return None
    if raw_value.startswith('"'):
        try:
            value = json.loads(raw_value)
        except ValueError:
            return None
    else:
        try:
            float(raw_value)
        except ValueError:
            value = raw_value  # Entra's documented unquoted form: externalId eq jyoung
        else:
            return None  # a number is not a string: scim2-models decides what that means
    return Match(column, value)
