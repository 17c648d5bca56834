"""Every CSV the product writes goes through here, each cell neutralised for spreadsheets.

docs/contract.md, "CSV neutralisation": a cell that a spreadsheet would run as a formula,
one that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return, is written
with a ``'`` before it.  A tab or carriage return counts because spreadsheets trim it and
then read what follows (``"\\t=HYPERLINK(...)"`` would become a live formula).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from collections.abc import Sequence
from typing import TextIO

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: object) -> str:
    """The cell as text, with ``'`` before it when a spreadsheet would run it (None is empty)."""
    text = "" if cell is None else str(cell)
    return f"'{text}" if text.startswith(FORMULA_START) else text


def write_csv(
    file: TextIO, columns: Sequence[str], rows: Iterable[Sequence[object]], *, lineterminator: str = "\r\n"
) -> int:
    """Write the header and ``rows`` to ``file`` (opened with ``newline=""``), every cell
    neutralised; return the number of rows."""
    writer = csv.writer(file, lineterminator=lineterminator)
    writer.writerow([neutralise(c) for c in columns])
    count = 0
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
        count += 1
    return count
