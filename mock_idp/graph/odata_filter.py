"""The OData ``$filter`` Microsoft Graph's directory APIs accept.

Grammar (OData v4 URL conventions §5.1.1, restricted the way Graph restricts it
on ``/users`` and ``/groups``)::

    expr    := and ('or' and)*
    and     := unary ('and' unary)*
    unary   := 'not' unary | '(' expr ')' | func | compare
    func    := ('startswith' | 'endswith') '(' property ',' literal ')'
    compare := property ('eq' | 'ne') literal
    literal := 'text' ('' escapes a quote) | true | false | null

Graph serves ``eq``, ``startswith``, ``and``/``or`` on a plain request.  ``ne``,
``not`` and ``endswith`` are "advanced queries": they need the header
``ConsistencyLevel: eventual`` and ``$count=true`` (user-list.md), and are
refused with ``Request_UnsupportedQuery`` without them.  String comparisons
ignore case, as directory properties do.  A filter compiles once into a
predicate over an object; properties are read through the caller's getters.
The other options (``$top``, ``$select``, ``$orderby``, ``$count``) are read
by :mod:`mock_idp.graph.odata_query`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

Getter = Callable[[Any], Any]
Predicate = Callable[[Any], bool]

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<punct>[(),])|(?P<word>[A-Za-z_][A-Za-z0-9_.]*)|(?P<bad>\S))"
)
_ADVANCED = frozenset({"ne", "not", "endswith"})


class ODataFilterError(Exception):
    """A ``$filter`` Graph would refuse.

    ``unsupported`` is true for a well-formed filter Graph does not serve here
    (``Request_UnsupportedQuery``), false for a syntax error (``Request_BadRequest``).
    """

    def __init__(self, message: str, *, unsupported: bool) -> None:
        super().__init__(message)
        self.message = message
        self.unsupported = unsupported


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    pos: int


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:  # only trailing blanks are left
            break
        kind = match.lastgroup or "bad"
        if kind == "bad":
            raise ODataFilterError(
                f"Syntax error: character '{match.group(kind)}' is not valid at position "
                f"{match.start(kind)} in '{text}'.",
                unsupported=False,
            )
        out.append(_Tok(kind, match.group(kind), match.start(kind)))
        pos = match.end()
    return out


class _Parser:
    def __init__(self, text: str, getters: Mapping[str, Getter], advanced: bool) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0
        self.getters = {name.lower(): (name, get) for name, get in getters.items()}
        self.advanced = advanced

    def _peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def _next(self, what: str) -> _Tok:
        tok = self._peek()
        if tok is None:
            raise self._syntax(f"expected {what} at the end of '{self.text}'")
        self.i += 1
        return tok

    def _syntax(self, message: str) -> ODataFilterError:
        return ODataFilterError(f"Invalid filter clause: {message}.", unsupported=False)

    def _word(self, *words: str) -> str | None:
        tok = self._peek()
        if tok is not None and tok.kind == "word" and tok.text.lower() in words:
            self.i += 1
            return tok.text.lower()
        return None

    def _punct(self, char: str) -> None:
        tok = self._next(f"'{char}'")
        if tok.text != char:
            raise self._syntax(f"expected '{char}' at position {tok.pos}, found '{tok.text}'")

    def _gate(self, operator: str) -> None:
        if operator in _ADVANCED and not self.advanced:
            raise ODataFilterError(
                f"Operator '{operator}' is not supported because the required parameters might be "
                "missing. Try adding $count with a value of true and the ConsistencyLevel header "
                "with a value of eventual.",
                unsupported=True,
            )

    def parse(self) -> Predicate:
        if not self.toks:
            raise self._syntax("the filter is empty")
        pred = self._or()
        tok = self._peek()
        if tok is not None:
            raise self._syntax(f"unexpected '{tok.text}' at position {tok.pos}")
        return pred

    def _or(self) -> Predicate:
        parts = [self._and()]
        while self._word("or"):
            parts.append(self._and())
        if len(parts) == 1:
            return parts[0]
        return lambda obj: any(p(obj) for p in parts)

    def _and(self) -> Predicate:
        parts = [self._unary()]
        while self._word("and"):
            parts.append(self._unary())
        if len(parts) == 1:
            return parts[0]
        return lambda obj: all(p(obj) for p in parts)

    def _unary(self) -> Predicate:
        if self._word("not"):
            self._gate("not")
            inner = self._unary()
            return lambda obj: not inner(obj)
        tok = self._peek()
        if tok is not None and tok.text == "(":
            self.i += 1
            inner = self._or()
            self._punct(")")
            return inner
        func = self._word("startswith", "endswith")
        if func:
            self._gate(func)
            self._punct("(")
            name, get = self._property()
            self._punct(",")
            value = self._literal()
            self._punct(")")
            if not isinstance(value, str):
                raise ODataFilterError(f"'{func}' needs a text value for '{name}'", unsupported=True)
            return _text_match(get, value.lower(), func == "startswith")
        name, get = self._property()
        op = self._word("eq", "ne")
        if op is None:
            tok = self._peek()
            found = tok.text if tok else "the end of the filter"
            raise ODataFilterError(
                f"Unsupported or invalid query filter clause specified for property '{name}': '{found}'.",
                unsupported=True,
            )
        self._gate(op)
        value = self._literal()
        eq = _equals(get, value)
        return eq if op == "eq" else (lambda obj: not eq(obj))

    def _property(self) -> tuple[str, Getter]:
        tok = self._next("a property name")
        if tok.kind != "word":
            raise self._syntax(f"expected a property name at position {tok.pos}, found '{tok.text}'")
        found = self.getters.get(tok.text.lower())
        if found is None:
            raise ODataFilterError(
                f"Unsupported or invalid query filter clause specified for property '{tok.text}'.",
                unsupported=True,
            )
        return found

    def _literal(self) -> Any:
        tok = self._next("a value")
        if tok.kind == "str":
            return tok.text[1:-1].replace("''", "'")
        if tok.kind == "word" and tok.text.lower() in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[tok.text.lower()]
        raise self._syntax(f"expected a quoted value at position {tok.pos}, found '{tok.text}'")


def _equals(get: Getter, value: Any) -> Predicate:
    if isinstance(value, str):
        wanted = value.lower()

        def text_eq(obj: Any) -> bool:
            got = get(obj)
            return isinstance(got, str) and got.lower() == wanted

        return text_eq
    return lambda obj: get(obj) is value if value is None or isinstance(value, bool) else get(obj) == value


def _text_match(get: Getter, prefix: str, start: bool) -> Predicate:
    def match(obj: Any) -> bool:
        got = get(obj)
        if not isinstance(got, str):
            return False
        return got.lower().startswith(prefix) if start else got.lower().endswith(prefix)

    return match


def compile_filter(text: str, getters: Mapping[str, Getter], *, advanced: bool = False) -> Predicate:
    """Compile ``text`` into a predicate; ``getters`` maps filterable property
    names to functions reading them off an object.  ``advanced`` is true when
    the request carries ``ConsistencyLevel: eventual`` and ``$count=true``.

    Raises :class:`ODataFilterError` on anything Graph would refuse.
    """
    return _Parser(text, getters, advanced).parse()
