"""The one CSV writer: every cell a spreadsheet would run is neutralised (docs/contract.md)."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.csv_files import FORMULA_START
from connector.csv_files import neutralise
from connector.csv_files import write_csv


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=cmd", "'\t=cmd"),
        ("\r=cmd", "'\r=cmd"),
        ("a=b", "a=b"),
        (" =1", " =1"),
        ("", ""),
        (None, ""),
        (3, "3"),
        (-3, "'-3"),
    ],
)
def test_neutralise(cell, written):
    assert neutralise(cell) == written


@given(st.lists(st.lists(st.text(max_size=12), min_size=2, max_size=2), max_size=5))
def test_no_written_cell_starts_a_formula_and_the_text_survives(rows):
    out = io.StringIO(newline="")
    assert write_csv(out, ("a", "b"), rows) == len(rows)
    read = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert read[0] == ["a", "b"]
    for written, original in zip(read[1:], rows, strict=True):
        for cell, text in zip(written, original, strict=True):
            assert not cell.startswith(FORMULA_START)
            assert cell == text or cell == "'" + text
