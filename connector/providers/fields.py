"""Reading one IdP object's fields as the types the model needs, or saying why it cannot be read.

Each check raises :class:`~connector.errors.MalformedObjectError` for the object at hand: the
adapter skips that object and reports it, and the read goes on (docs/contract.md, "2. Map").
A field of the wrong type, a required one missing or empty, or text longer than the store
keeps (``MAX_TEXT``) makes the object malformed; it is never read as something else.
"""

from __future__ import annotations

from typing import Any

from connector.errors import MalformedObjectError

MAX_ID = 255
"""IdP ids the store keeps (Okta ids are 20 characters, Graph ids GUIDs, SCIM ids any shape)."""
MAX_TEXT = 512
"""Longest name, login or address the store keeps."""


def describe(value: Any) -> str:
    """What a wrong value is, for a message: its type, and the value itself when short."""
    kind = {dict: "an object", list: "a list", bool: "a boolean", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__
    )
    if value is None:
        return "missing"
    if isinstance(value, str):
        if not value.strip():
            return "empty"
        if len(value) > MAX_TEXT:
            return f"{len(value)} characters long"
        return f"text ({value[:40]!r})"
    shown = repr(value)
    return f"{kind} ({shown})" if len(shown) <= 40 else kind


class Fields:
    """The fields of one raw IdP object of ``kind`` (``user``, ``group``), checked as they are read."""

    def __init__(self, raw: Any, kind: str, what: str) -> None:
        if not isinstance(raw, dict):
            raise MalformedObjectError(f"{what} is {describe(raw)}, not a JSON object", kind=kind)
        self.raw = raw
        self.kind = kind
        self.what = what
        self.object_id: str | None = None

    def object_id_of(self, key: str = "id") -> str:
        """The object's id: required text; remembered for the messages that follow."""
        value = self.raw.get(key)
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_ID:
            self._fail(f"its {key!r} is {describe(value)}")
        self.object_id = value
        return value

    def text(self, key: str, *, record: dict[str, Any] | None = None, limit: int = MAX_TEXT) -> str:
        """Required, non-empty text."""
        value = (self.raw if record is None else record).get(key)
        if not isinstance(value, str) or not value.strip() or len(value) > limit:
            self._fail(f"{key!r} is {describe(value)}, not text")
        return value

    def optional_text(
        self, key: str, *, record: dict[str, Any] | None = None, limit: int = MAX_TEXT
    ) -> str | None:
        """Text or nothing (None; an empty string is nothing too)."""
        value = (self.raw if record is None else record).get(key)
        if value is None or value == "":
            return None
        if not isinstance(value, str) or len(value) > limit:
            self._fail(f"{key!r} is {describe(value)}, not text")
        return value

    def flag(self, key: str, *, record: dict[str, Any] | None = None, default: bool | None = None) -> bool:
        """A JSON boolean (``default`` when absent and a default is given)."""
        value = (self.raw if record is None else record).get(key)
        if value is None and default is not None:
            return default
        if not isinstance(value, bool):
            self._fail(f"{key!r} is {describe(value)}, not true or false")
        return value

    def record(self, key: str) -> dict[str, Any]:
        """A nested object, or an empty one when absent."""
        value = self.raw.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            self._fail(f"{key!r} is {describe(value)}, not an object")
        return value

    def fail(self, reason: str) -> None:
        """The object is malformed for ``reason``."""
        self._fail(reason)

    def _fail(self, reason: str) -> None:
        about = f"{self.what} {self.object_id}" if self.object_id else self.what
        raise MalformedObjectError(f"{about}: {reason}", kind=self.kind, object_id=self.object_id)
