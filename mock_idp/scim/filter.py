"""SCIM filters and attribute paths (RFC 7644 §3.4.2.2, §3.5.2 ABNF).

Grammar::

    filter   := or
    or       := and ('or' and)*
    and      := unary ('and' unary)*
    unary    := 'not' '(' filter ')' | '(' filter ')' | attrPath '[' filter ']' | attrPath 'pr'
              | attrPath compareOp compValue
    attrPath := [URN ':'] attrName ['.' subAttr]

Attribute names are case-insensitive and resolve against the published
schemas (:mod:`mock_idp.scim.schemas`); an unknown attribute, operator or a
syntax error raises :class:`ScimFilterError` (400 ``invalidFilter``).
Filters compile once into a predicate over a rendered resource (a dict keyed
by canonical names); what the predicates test, by RFC 7643 §2.3 (case,
``dateTime`` instants, booleans with ``eq``/``ne``/``pr`` only, multi-valued
and complex attributes), is in :mod:`mock_idp.scim.predicates`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mock_idp.scim.predicates import Path
from mock_idp.scim.predicates import Predicate
from mock_idp.scim.predicates import ScimFilterError
from mock_idp.scim.predicates import any_element
from mock_idp.scim.predicates import compare
from mock_idp.scim.predicates import present_at
from mock_idp.scim.predicates import values_at
from mock_idp.scim.predicates import wrap_element
from mock_idp.scim.schemas import Attr
from mock_idp.scim.schemas import Resolver

__all__ = [
    "Path",
    "Predicate",
    "ScimFilterError",
    "compile_filter",
    "compile_selection",
    "compile_value_filter",
    "parse_patch_path",
    "values_at",
    "wrap_element",
]

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<str>"(?:[^"\\]|\\.)*")
      | (?P<punct>[()\[\]])
      | (?P<num>-?\d+(?:\.\d+)?(?![\w:.]))
      | (?P<word>[A-Za-z$][\w$:.\-]*)
      | (?P<bad>\S)
    )""",
    re.VERBOSE,
)
_COMPARE = frozenset({"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"})
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    pos: int


def _tokens(text: str) -> list[_Tok]:
    out = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind is None:
            continue
        if kind == "bad":
            raise ScimFilterError(
                f"unexpected character {match.group(kind)!r} at position {match.start(kind)}"
            )
        out.append(_Tok(kind, match.group(kind), match.start(kind)))
    return out


def _unquote(text: str) -> str:
    body = text[1:-1]
    out = []
    i = 0
    while i < len(body):
        char = body[i]
        if char == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt == "u" and i + 5 < len(body) + 1:
                out.append(chr(int(body[i + 2 : i + 6], 16)))
                i += 6
                continue
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        out.append(char)
        i += 1
    return "".join(out)


class _Parser:
    def __init__(self, text: str, resolver: Resolver, scope: Attr | None = None) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0
        self.resolver = resolver
        self.scope = scope  # inside emails[...]: names resolve to emails' sub-attributes

    def _peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def _take(self, what: str) -> _Tok:
        tok = self._peek()
        if tok is None:
            raise ScimFilterError(f"expected {what} at the end of the filter {self.text!r}")
        self.i += 1
        return tok

    def _expect(self, char: str) -> None:
        tok = self._take(repr(char))
        if tok.text != char:
            raise ScimFilterError(f"expected {char!r} at position {tok.pos}, found {tok.text!r}")

    def _keyword(self, word: str) -> bool:
        tok = self._peek()
        if tok is not None and tok.kind == "word" and tok.text.lower() == word:
            self.i += 1
            return True
        return False

    def parse(self) -> Predicate:
        if not self.toks:
            raise ScimFilterError("the filter is empty")
        pred = self._or()
        tok = self._peek()
        if tok is not None:
            raise ScimFilterError(f"unexpected {tok.text!r} at position {tok.pos}")
        return pred

    def _or(self) -> Predicate:
        parts = [self._and()]
        while self._keyword("or"):
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else (lambda r: any(p(r) for p in parts))

    def _and(self) -> Predicate:
        parts = [self._unary()]
        while self._keyword("and"):
            parts.append(self._unary())
        return parts[0] if len(parts) == 1 else (lambda r: all(p(r) for p in parts))

    def _unary(self) -> Predicate:
        if self._keyword("not"):
            self._expect("(")
            inner = self._or()
            self._expect(")")
            return lambda r: not inner(r)
        tok = self._take("an attribute path")
        if tok.text == "(":
            inner = self._or()
            self._expect(")")
            return inner
        if tok.kind != "word":
            raise ScimFilterError(f"expected an attribute path at position {tok.pos}, found {tok.text!r}")
        nxt = self._peek()
        if nxt is not None and nxt.text == "[":
            if self.scope is not None:
                raise ScimFilterError("a value filter cannot nest inside another")
            attr = self._resolve(tok.text, allow_sub=False).attr
            if not attr.multi_valued or not attr.sub_attributes:
                raise ScimFilterError(f"{attr.name!r} is not a multi-valued complex attribute")
            self.i += 1
            inner = _Parser(self.text, self.resolver, scope=attr)
            inner.toks, inner.i = self.toks, self.i
            pred = inner._or()
            self.i = inner.i
            self._expect("]")
            return any_element(attr, pred)
        path = self._resolve(tok.text, allow_sub=True)
        op_tok = self._take("an operator")
        op = op_tok.text.lower()
        if op == "pr":
            return present_at(path)
        if op not in _COMPARE:
            raise ScimFilterError(f"unknown operator {op_tok.text!r} at position {op_tok.pos}")
        return compare(path, op, self._value())

    def _resolve(self, text: str, *, allow_sub: bool) -> Path:
        if self.scope is not None:
            sub = self.scope.sub(text)
            if sub is None:
                raise ScimFilterError(f"{self.scope.name!r} has no sub-attribute {text!r}")
            return Path(self.scope, sub)
        found = self.resolver.resolve(text)
        if found is None:
            raise ScimFilterError(f"unknown attribute {text!r}")
        attr, sub = found
        if sub is not None and not allow_sub:
            raise ScimFilterError(f"unexpected sub-attribute in {text!r}")
        return Path(attr, sub)

    def _value(self) -> Any:
        tok = self._take("a value")
        if tok.kind == "str":
            return _unquote(tok.text)
        if tok.kind == "num":
            return float(tok.text) if "." in tok.text else int(tok.text)
        if tok.kind == "word" and tok.text.lower() in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[tok.text.lower()]
        raise ScimFilterError(f"expected a value at position {tok.pos}, found {tok.text!r}")


def compile_filter(text: str, resolver: Resolver) -> Predicate:
    """Compile a ``filter`` query parameter into a predicate over rendered resources."""
    return _Parser(text, resolver).parse()


def compile_value_filter(text: str, attr: Attr, resolver: Resolver) -> Predicate:
    """Compile the ``[...]`` part of a PATCH path; the predicate takes
    :func:`wrap_element` of one element of ``attr``."""
    return any_element(attr, _Parser(text, resolver, scope=attr).parse())


_PATH = re.compile(r"^(?P<attr>[^\[\]]+?)(?:\[(?P<filter>.*)\](?:\.(?P<sub>[\w$]+))?)?$", re.DOTALL)


def parse_patch_path(text: str, resolver: Resolver) -> Path:
    """A PATCH ``path`` (RFC 7644 §3.5.2): ``attr``, ``attr.sub``, ``attr[filter]``,
    ``attr[filter].sub``, each optionally URN-qualified.  Errors are ``invalidPath``."""
    match = _PATH.match(text.strip())
    if match is None:
        raise ScimFilterError(f"invalid path {text!r}", "invalidPath")
    try:
        found = resolver.resolve(match["attr"])
        if found is None:
            raise ScimFilterError(f"unknown attribute {match['attr']!r}", "invalidPath")
        attr, sub = found
        if match["filter"] is None:
            return Path(attr, sub)
        if sub is not None or not attr.multi_valued or not attr.sub_attributes:
            raise ScimFilterError(f"{match['attr']!r} cannot take a value filter", "invalidPath")
        sub_attr = None
        if match["sub"]:
            sub_attr = attr.sub(match["sub"])
            if sub_attr is None:
                raise ScimFilterError(f"{attr.name!r} has no sub-attribute {match['sub']!r}", "invalidPath")
        return Path(attr, sub_attr, compile_value_filter(match["filter"], attr, resolver))
    except ScimFilterError as exc:
        if exc.scim_type == "invalidFilter" and match["filter"] is not None:
            raise
        raise ScimFilterError(exc.message, "invalidPath") from None


def compile_selection(
    filter_text: str | None, sort_by: str | None, descending: bool, resolver: Resolver
) -> Callable[[Sequence[Any], Sequence[dict[str, Any]]], tuple[Any, ...]]:
    """Filter (RFC 7644 §3.4.2.2), then sort (§3.4.2.3): a function from objects and
    their rendered resources to the chosen objects, in order.  Objects without a
    ``sortBy`` value come last ascending, first descending; strings sort ignoring case.
    """
    predicate = compile_filter(filter_text, resolver) if filter_text else None
    sort_path = None
    if sort_by:
        found = resolver.resolve(sort_by)
        if found is None:
            raise ScimFilterError(f"cannot sort by unknown attribute {sort_by!r}", "invalidValue")
        sort_path = Path(*found)

    def choose(objects: Sequence[Any], resources: Sequence[dict[str, Any]]) -> tuple[Any, ...]:
        pairs = list(zip(objects, resources, strict=True))
        if predicate is not None:
            pairs = [(o, r) for o, r in pairs if predicate(r)]
        if sort_path is not None:
            keyed = [(o, values_at(r, sort_path)) for o, r in pairs]
            present = [(o, v) for o, v in keyed if v]
            missing = [(o, v) for o, v in keyed if not v]
            present.sort(key=lambda p: _sort_key(p[1][0]), reverse=descending)
            ordered = missing + present if descending else present + missing
            return tuple(o for o, _ in ordered)
        return tuple(o for o, _ in pairs)

    return choose


def _sort_key(value: Any) -> Any:
    return (0, value.lower()) if isinstance(value, str) else (1, value)
