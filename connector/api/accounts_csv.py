"""The accounts CSV of ``accounts import``: ``email,display_name,groups`` (groups joined by ``;``)."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable
from collections.abc import Mapping
from pathlib import Path

from connector.emails import Email
from connector.emails import InvalidEmailError
from connector.emails import parse_email
from connector.errors import ConfigError

COLUMNS = ("email", "display_name", "groups")


def read_accounts_csv(path: str | os.PathLike[str]) -> list[dict[str, str]]:
    """The rows of an accounts CSV (header ``email,display_name,groups``)."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the accounts file ({exc.strerror}); check the path") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); save the file as UTF-8 CSV") from None
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or "email" not in reader.fieldnames:
        raise ConfigError(
            f"{path}: the header must name the columns email,display_name,groups; add that header"
        )
    unknown = set(reader.fieldnames) - {"email", "display_name", "groups"}
    if unknown:
        raise ConfigError(
            f"{path}: unknown columns {', '.join(sorted(unknown))}; use email, display_name and groups only"
        )
    return list(reader)


def parse_rows(
    rows: Iterable[Mapping[str, str]], source: str
) -> list[tuple[Email, str | None, tuple[str, ...]]]:
    """Every row parsed (line numbers count the header as line 1); an email twice is an error.

    Two rows for one normalised email would make one account of two people,
    or keep one row's name and groups silently; the file must say which it means.
    """
    parsed = []
    first_line: dict[str, int] = {}
    for index, row in enumerate(rows):
        line = index + 2
        email, display_name, groups = parse_row(row, line, source)
        if email.key in first_line:
            raise ConfigError(
                f"{source}: line {line}: email {email.address!r} is already on line "
                f"{first_line[email.key]}; keep one row per account"
            )
        first_line[email.key] = line
        parsed.append((email, display_name, groups))
    return parsed


def parse_row(row: Mapping[str, str], line: int, source: str) -> tuple[Email, str | None, tuple[str, ...]]:
    raw = (row.get("email") or "").strip()
    try:
        email = parse_email(raw)
    except InvalidEmailError as exc:
        raise ConfigError(
            f"{source}: line {line}: email {raw!r} is not valid ({exc}); fix or remove the row"
        ) from None
    display_name = (row.get("display_name") or "").strip() or None
    groups = tuple(g.strip() for g in (row.get("groups") or "").split(";") if g.strip())
    return email, display_name, groups
