"""Okta filter/search expressions: grammar, precedence, typed comparisons, clear errors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from datetime import timezone

import pytest

from mock_idp.okta.filter import Comparison
from mock_idp.okta.filter import Field
from mock_idp.okta.filter import FilterError
from mock_idp.okta.filter import Logical
from mock_idp.okta.filter import compile_expression
from mock_idp.okta.filter import parse
from mock_idp.okta.filter import parse_instant


@dataclass
class Rec:
    name: str | None
    when: datetime
    n: int = 0


ALL = frozenset({"eq", "sw", "co", "gt", "ge", "lt", "le", "pr"})
FIELDS = {
    "name": Field(lambda r: r.name, ALL),
    "when": Field(lambda r: r.when, frozenset({"eq", "gt", "lt"}), date=True),
    "n": Field(lambda r: r.n, frozenset({"eq", "gt"})),
}
A = Rec("Alice", datetime(2026, 1, 1, tzinfo=timezone.utc), 1)
B = Rec("bob", datetime(2026, 6, 1, tzinfo=timezone.utc), 2)
C = Rec(None, datetime(2027, 1, 1, tzinfo=timezone.utc), 3)


def matching(text: str, *, ignore_case: bool = False) -> list[Rec]:
    predicate = compile_expression(text, FIELDS.get, ignore_case=ignore_case)
    return [r for r in (A, B, C) if predicate(r)]


def test_and_binds_tighter_than_or():
    assert parse('a eq "1" or b eq "2" and c eq "3"') == Logical(
        "or",
        Comparison("a", "eq", "1"),
        Logical("and", Comparison("b", "eq", "2"), Comparison("c", "eq", "3")),
    )


def test_parentheses_override_precedence():
    node = parse('(a eq "1" or b eq "2") and c eq "3"')
    assert isinstance(node, Logical) and node.op == "and"


def test_literals_and_escapes():
    assert parse(r'a eq "say \"hi\""') == Comparison("a", "eq", 'say "hi"')
    assert parse("a eq 5") == Comparison("a", "eq", 5)
    assert parse("a eq true") == Comparison("a", "eq", True)
    assert parse("a EQ null") == Comparison("a", "eq", None)
    assert parse("a pr") == Comparison("a", "pr")


def test_case_sensitive_strings_by_default():
    assert matching('name eq "alice"') == []
    assert matching('name eq "Alice"') == [A]


def test_case_insensitive_for_search():
    assert matching('name eq "alice"', ignore_case=True) == [A]
    assert matching('name sw "B"', ignore_case=True) == [B]
    assert matching('name co "LIC"', ignore_case=True) == [A]


def test_dates_compare_as_instants():
    assert matching('when gt "2026-03-01T00:00:00.000Z"') == [B, C]
    assert matching('when lt "2026-06-01T02:00:00+02:00"') == [A]
    assert matching('when eq "2026-01-01T00:00:00Z"') == [A]


def test_numbers_null_and_present():
    assert matching("n gt 1") == [B, C]
    assert matching("name eq null") == [C]
    assert matching("name pr") == [A, B]


def test_or_and_combination():
    assert matching('name eq "Alice" or n eq 3') == [A, C]
    assert matching('(name eq "Alice" or n eq 3) and when gt "2026-12-01T00:00:00Z"') == [C]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ('name eq "Alice" and', "ends too early"),
        ('(name eq "Alice"', "parenthesis"),
        ('name eq "Alice")', "unexpected"),
        ('name ne "Alice"', "unknown operator"),
        ("name eq Alice", "expected a value"),
        ('nickname eq "x"', "cannot be used"),
        ('when sw "2026"', "not supported"),
        ('when gt "soon"', "ISO-8601"),
        ('n eq "1" or name eq "x" ~', "unexpected character"),
        ("n gt null", "null"),
        ("name sw 5", "string"),
    ],
)
def test_errors_name_the_problem(text, fragment):
    with pytest.raises(FilterError, match=fragment):
        compile_expression(text, FIELDS.get, ignore_case=False)


def test_parse_instant_naive_is_utc():
    assert parse_instant("2026-01-01T00:00:00") == datetime(2026, 1, 1, tzinfo=timezone.utc)
