"""Okta ``filter`` and ``search`` expressions: parse, check against the allowed properties, compile.

The grammar is the SCIM-like one Okta documents ("Filter", "Operators";
OKTA-SPEC ``listUsers``): ``attr op value`` joined by ``and`` / ``or`` with
parentheses; ``pr`` takes no value; values are double-quoted strings,
numbers, ``true``, ``false`` or ``null``.  Property names are case-sensitive,
operators and the logical words are not.  ``and`` binds tighter than ``or``.

What a property allows is data (:class:`Field`): its getter, whether it is a
date (compared as instants; the literal must be ISO-8601) and its operators;
Okta's own tables are in :mod:`mock_idp.okta.fields`.
``filter`` compares strings case-sensitively, ``search`` case-insensitively
(OKTA-SPEC).  :func:`compile_expression` returns a plain predicate, so a list
of 100k records is filtered in one pass with no re-parsing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from datetime import timezone
from typing import Any
from typing import Generic
from typing import TypeVar

T = TypeVar("T")

COMPARISONS = frozenset({"eq", "sw", "co", "gt", "ge", "lt", "le"})
LOGICAL = frozenset({"and", "or"})

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<paren>[()])
      | (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<number>-?\d+(?:\.\d+)?)(?![\w.])
      | (?P<word>[A-Za-z_$][\w.:$-]*)
    )""",
    re.VERBOSE,
)


class FilterError(ValueError):
    """The expression is malformed or uses a property or operator it may not."""


@dataclass(frozen=True)
class Field(Generic[T]):
    """One property an expression may name."""

    get: Callable[[T], Any]
    operators: frozenset[str]
    date: bool = False


@dataclass(frozen=True)
class Comparison:
    attr: str
    op: str
    value: Any = None


@dataclass(frozen=True)
class Logical:
    op: str
    left: Node
    right: Node


Node = Comparison | Logical


# ---------------------------------------------------------------------------- parsing


def _tokens(text: str) -> Iterator[tuple[str, str]]:
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise FilterError(f"unexpected character at position {position + 1}: {text[position:][:20]!r}")
        position = match.end()
        kind = match.lastgroup
        assert kind is not None
        yield kind, match.group(kind)


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = list(_tokens(text))
        self.index = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise FilterError("the expression ends too early")
        self.index += 1
        return token

    def keyword(self) -> str | None:
        token = self.peek()
        return token[1].lower() if token and token[0] == "word" else None

    def parse(self) -> Node:
        if not self.tokens:
            raise FilterError("the expression is empty")
        node = self.disjunction()
        if self.peek() is not None:
            raise FilterError(f"unexpected {self.peek()[1]!r} after a complete expression")  # type: ignore[index]
        return node

    def disjunction(self) -> Node:
        node = self.conjunction()
        while self.keyword() == "or":
            self.take()
            node = Logical("or", node, self.conjunction())
        return node

    def conjunction(self) -> Node:
        node = self.atom()
        while self.keyword() == "and":
            self.take()
            node = Logical("and", node, self.atom())
        return node

    def atom(self) -> Node:
        kind, text = self.take()
        if kind == "paren" and text == "(":
            node = self.disjunction()
            if self.peek() != ("paren", ")"):
                raise FilterError("missing closing parenthesis")
            self.take()
            return node
        if kind != "word" or text.lower() in LOGICAL:
            raise FilterError(f"expected a property name, found {text!r}")
        op_kind, op = self.take()
        op = op.lower()
        if op_kind != "word" or (op not in COMPARISONS and op != "pr"):
            raise FilterError(f"unknown operator {op!r} after {text!r}")
        if op == "pr":
            return Comparison(text, op)
        return Comparison(text, op, _literal(*self.take()))


def _literal(kind: str, text: str) -> Any:
    if kind == "string":
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    if kind == "number":
        return float(text) if "." in text else int(text)
    words = {"true": True, "false": False, "null": None}
    if kind == "word" and text.lower() in words:
        return words[text.lower()]
    raise FilterError(f"expected a value, found {text!r} (strings are double-quoted)")


def parse(text: str) -> Node:
    """The syntax tree of ``text``; raises :class:`FilterError` naming the problem."""
    return _Parser(text).parse()


# ---------------------------------------------------------------------------- compiling


def parse_instant(text: str) -> datetime:
    """An ISO-8601 timestamp (``2013-06-01T00:00:00.000Z``); naive means UTC."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise FilterError(f"{text!r} is not an ISO-8601 timestamp") from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def compile_expression(
    text: str,
    fields: Callable[[str], Field[T] | None],
    *,
    ignore_case: bool,
) -> Callable[[T], bool]:
    """A predicate for ``text``.  ``fields(name)`` gives a property's :class:`Field`,
    or None when the property may not be used (a :class:`FilterError`)."""
    return _compile(parse(text), fields, ignore_case)


def _compile(node: Node, fields: Callable[[str], Field[T] | None], ignore_case: bool) -> Callable[[T], bool]:
    if isinstance(node, Logical):
        left = _compile(node.left, fields, ignore_case)
        right = _compile(node.right, fields, ignore_case)
        if node.op == "and":
            return lambda record: left(record) and right(record)
        return lambda record: left(record) or right(record)
    field = fields(node.attr)
    if field is None:
        raise FilterError(f"the property {node.attr!r} cannot be used here")
    if node.op not in field.operators:
        allowed = ", ".join(sorted(field.operators))
        raise FilterError(f"the operator {node.op!r} is not supported for {node.attr!r} (allowed: {allowed})")
    return _comparison(field, node.op, node.value, ignore_case)


def _comparison(field: Field[T], op: str, value: Any, ignore_case: bool) -> Callable[[T], bool]:
    get = field.get
    if op == "pr":
        return lambda record: get(record) not in (None, "", [])
    if value is None:
        if op != "eq":
            raise FilterError(f"null can only be compared with 'eq', not {op!r}")
        return lambda record: get(record) is None
    if field.date:
        if not isinstance(value, str):
            raise FilterError("a date must be a quoted ISO-8601 timestamp")
        return _ordered(get, op, parse_instant(value))
    if isinstance(value, str):
        fold: Callable[[str], str] = str.lower if ignore_case else str
        target = fold(value)
        text = _as_text(get, fold)
        if op == "sw":
            return lambda record: isinstance(found := text(record), str) and found.startswith(target)
        if op == "co":
            return lambda record: isinstance(found := text(record), str) and target in found
        return _ordered(text, op, target)
    if op in ("sw", "co"):
        raise FilterError(f"the operator {op!r} needs a string value")
    return _ordered(get, op, value)


def _as_text(get: Callable[[T], Any], fold: Callable[[str], str]) -> Callable[[T], Any]:
    """The property as (case-folded) text for a string comparison; None and booleans stay as they are."""

    def text(record: T) -> Any:
        found = get(record)
        return found if found is None or isinstance(found, bool) else fold(str(found))

    return text


_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
}


def _ordered(get: Callable[[T], Any], op: str, target: Any) -> Callable[[T], bool]:
    compare = _ORDER[op]

    def test(record: T) -> bool:
        found = get(record)
        if found is None or type(found) is not type(target) and not _numbers(found, target):
            return False
        return compare(found, target)

    return test


def _numbers(a: Any, b: Any) -> bool:
    return all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (a, b))
