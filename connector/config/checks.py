"""Value checks for :mod:`connector.config.loader`: each failure names key, problem and fix."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from connector.errors import ConfigError

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_ORG_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


class Checker:
    """Checks values read from one configuration ``source`` (a path or ``<dict>``)."""

    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, key: str, problem: str, fix: str) -> ConfigError:
        """A ConfigError saying ``source: key: problem; fix``."""
        where = f"{key}: " if key else ""
        return ConfigError(f"{self.source}: {where}{problem}; {fix}")

    def table(self, value: Any, where: str, known: Iterable[str] | None) -> Mapping[str, Any]:
        """``value`` as a table; with ``known``, every key must be one of them."""
        if not isinstance(value, Mapping):
            raise self.error(
                where or "(top level)", f"must be a table, not {_kind(value)}", "write it as a table"
            )
        if known is not None:
            known = tuple(known)
            for key in value:
                if key not in known:
                    full = f"{where}.{key}" if where else str(key)
                    close = difflib.get_close_matches(str(key), known, n=1)
                    fix = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(known)}"
                    raise self.error(full, "unknown key", fix)
        return value

    def required(self, table: Mapping[str, Any], key: str, where: str, what: str) -> Any:
        if key not in table:
            full = f"{where}.{key}" if where else key
            raise self.error(full, "is missing", f"set it to {what}")
        return table[key]

    def string(self, value: Any, where: str, what: str = "a non-empty string") -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.error(where, f"must be {what}, not {_show(value)}", f"write {what}")
        return value.strip()

    def identifier(self, value: Any, where: str) -> str:
        text = self.string(value, where)
        if not _ID.match(text):
            raise self.error(
                where, f"{text!r} is not a usable id", "use letters, digits, '.', '_' or '-' (at most 64)"
            )
        return text

    def org_id(self, value: Any, where: str) -> str:
        """An organization id: a slug (lower-case letters, digits, inner hyphens; at most 64)."""
        text = self.string(value, where)
        if not _ORG_SLUG.match(text):
            raise self.error(
                where,
                f"{text!r} is not an organization id",
                "use lower-case letters, digits and inner hyphens (at most 64), e.g. 'acme-corp'",
            )
        return text

    def choice(self, value: Any, where: str, choices: Iterable[str]) -> str:
        choices = tuple(choices)
        text = self.string(value, where)
        if text not in choices:
            close = difflib.get_close_matches(text, choices, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise self.error(where, f"{text!r} is not known", f"{hint}one of: {', '.join(choices)}")
        return text

    def url(self, value: Any, where: str) -> str:
        text = self.string(value, where, "an http(s) URL")
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise self.error(where, f"{text!r} is not an http(s) URL", "write it as https://host[/path]")
        return text

    def integer(self, value: Any, where: str, *, minimum: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.error(
                where, f"must be a whole number >= {minimum}, not {_show(value)}", "fix the number"
            )
        return value

    def positive(self, value: Any, where: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise self.error(where, f"must be a number above 0, not {_show(value)}", "fix the number")
        return float(value)

    def ratio(self, value: Any, where: str, *, allow_zero: bool = True) -> float:
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not number or value > 1 or value < 0 or (value == 0 and not allow_zero):
            low = "0" if allow_zero else "above 0"
            raise self.error(
                where, f"must be a share from {low} to 1, not {_show(value)}", "write e.g. 0.1 for 10%"
            )
        return float(value)

    def boolean(self, value: Any, where: str) -> bool:
        if not isinstance(value, bool):
            raise self.error(where, f"must be true or false, not {_show(value)}", "write true or false")
        return value

    def names(self, value: Any, where: str) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise self.error(where, f"must be a list of strings, not {_kind(value)}", 'write ["a", "b"]')
        return tuple(self.string(v, f"{where}[{i}]") for i, v in enumerate(value))

    def domains(
        self, value: Any, where: str = "organization.verified_domains", *, empty: bool = False
    ) -> tuple[str, ...]:
        names = self.names(value, where)
        if not names and not empty:
            raise self.error(
                where, "is empty", 'list the domains the organization owns, e.g. ["example.com"]'
            )
        result = []
        for i, name in enumerate(names):
            try:
                ascii_name = name.strip(".").encode("idna").decode("ascii").lower()
            except UnicodeError:
                ascii_name = ""
            labels = ascii_name.split(".")
            if len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
                raise self.error(
                    f"{where}[{i}]", f"{name!r} is not a domain name", "write it like example.com"
                )
            result.append(ascii_name)
        return tuple(dict.fromkeys(result))

    def existing_file(self, value: Any, where: str, base: Path) -> Path:
        path = Path(self.string(value, where, "a file path")).expanduser()
        if not path.is_absolute():
            path = base / path
        if not path.is_file():
            raise self.error(where, f"{path} does not exist or is not a file", "fix the path")
        return path


def parse_duration(check: Checker, value: Any, where: str) -> timedelta:
    """``"30m"``, ``"12h"``, ``"1d"`` (or a number of seconds) as a timedelta."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return timedelta(seconds=value)
    match = _DURATION.match(value) if isinstance(value, str) else None
    if not match or float(match.group(1)) <= 0:
        raise check.error(where, f"{_show(value)} is not a duration", 'write e.g. "30m", "12h" or "1d"')
    return timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})


def _kind(value: Any) -> str:
    return {dict: "a table", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
