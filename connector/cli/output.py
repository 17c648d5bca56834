"""How the CLI speaks: tables, stable JSON, progress, and logs with secrets redacted.

On a terminal, long reads and applies show rich progress bars; otherwise
each stage is a plain log line, so cron and CI logs stay readable.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Sequence
from datetime import datetime
from datetime import timezone
from typing import Any
from typing import TextIO

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn
from rich.progress import MofNCompleteColumn
from rich.progress import Progress as ProgressBars
from rich.progress import TaskID
from rich.progress import TextColumn
from rich.progress import TimeElapsedColumn
from rich.table import Table

from connector.net.settings import Secret
from connector.progress import Progress

log = logging.getLogger("connector")


JSON_SCHEMA_VERSION = 1
"""Bumped only when a ``--json`` field changes meaning or goes away (docs/cli.md)."""

REDACTED = "**********"
MIN_SECRET_LENGTH = 4  # shorter known values are not searched for: they would mask ordinary words
_FIELDS = "client_secret|client_assertion|access_token|refresh_token|id_token|password|token"
# Credentials that can show up in a debug line of an HTTP library: headers, form fields, JSON.
# Values only: the words of a sentence that names a field ("client_secret: secrets are ...") stay.
_CREDENTIAL_PATTERNS = (
    re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?(?:bearer|ssws|basic|dpop)?\s*)[^\s'\",]+"),
    # a form field or query parameter: ``client_secret=...``
    re.compile(r"(?i)(\b(?:" + _FIELDS + r")=)[^\s'\"&,}]+"),
    # a JSON or dict field: ``"access_token": "..."`` (the quotes tell it from words in a sentence)
    re.compile(r"(?i)(['\"](?:" + _FIELDS + r")['\"]\s*:\s*['\"]?)[^\s'\"&,}]+"),
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S),
)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every known secret value and every credential-looking field masked."""
    for value in secrets:
        if len(value) >= MIN_SECRET_LENGTH:
            text = text.replace(value, REDACTED)
    for pattern in _CREDENTIAL_PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + REDACTED, text)
    return text


class RedactingFilter(logging.Filter):
    """A handler filter that masks secrets in the formatted message of every record."""

    def __init__(self, secrets: Iterable[Secret] = ()) -> None:
        super().__init__()
        self._secrets = [s.reveal() for s in secrets]

    def add(self, secrets: Iterable[Secret]) -> None:
        self._secrets.extend(s.reveal() for s in secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message, self._secrets)
        if record.exc_info and record.exc_info[1] is not None:
            cleaned += "\n" + redact(logging.Formatter().formatException(record.exc_info), self._secrets)
            record.exc_info = None
            record.exc_text = None
        record.msg, record.args = cleaned, None
        return True


def setup_logging(verbose: int, stream: TextIO | None = None, *, quiet: bool = False) -> RedactingFilter:
    """Log to stderr: INFO by default, DEBUG (libraries too) with ``-v``, warnings and errors only
    with ``quiet``; returns the filter.

    :func:`teardown_logging` takes the handler away and restores the levels.
    """
    teardown_logging()
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    redactor = RedactingFilter()
    handler.addFilter(redactor)
    root = logging.getLogger()
    handler._connector_restore = (root.level, log.level)  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)
    log.setLevel(logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO)
    return redactor


def teardown_logging() -> None:
    """Remove the handler :func:`setup_logging` added (its stream may be gone next time)."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if hasattr(h, "_connector_restore")]:
        root.removeHandler(old)
        root_level, connector_level = old._connector_restore  # type: ignore[attr-defined]
        root.setLevel(root_level)
        log.setLevel(connector_level)


def emit_json(data: Any, stream: TextIO | None = None) -> None:
    """Print ``data`` as stable JSON: sorted keys, two-space indent, ISO dates."""
    print(json.dumps(data, indent=2, sort_keys=True, default=_json_default), file=stream or sys.stdout)


def _json_default(value: Any) -> Any:
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, datetime):
        return utc_iso(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if hasattr(value, "value"):  # enums
        return value.value
    return str(value)


def utc_iso(moment: datetime) -> str:
    """ISO 8601 in UTC with ``Z``; a time without a zone is UTC (the store writes UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def console(stream: TextIO | None = None) -> Console:
    """A console on stdout that only colours a real terminal."""
    return Console(file=stream or sys.stdout, highlight=False, soft_wrap=True)


def print_table(
    title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]], out: Console | None = None
) -> None:
    """A readable table; empty cells for None."""
    table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*("" if v is None else escape(str(v)) for v in row))  # [tls] is text, not markup
    (out or console()).print(table)


@contextlib.contextmanager
def progress_reporter(*, interactive: bool | None = None) -> Iterator[Progress]:
    """A ``progress(stage, done, total)`` callback for the engine.

    With a terminal on stderr it drives rich progress bars (one per stage);
    otherwise it logs one line per stage when it starts and when it ends.
    """
    if interactive is None:
        interactive = sys.stderr.isatty()
    if not interactive:
        yield _LogProgress()
        return
    columns = (
        TextColumn("{task.description:<22}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with ProgressBars(
        *columns, console=Console(file=sys.stderr, force_terminal=True), transient=True
    ) as bars:
        tasks: dict[str, TaskID] = {}

        def update(stage: str, done: int, total: int | None) -> None:
            if stage not in tasks:
                tasks[stage] = bars.add_task(stage, total=total)
            bars.update(tasks[stage], completed=done, total=total)

        yield update


class _LogProgress:
    """Plain progress: a log line when a stage starts, and when its total is reached."""

    def __init__(self) -> None:
        self._started: set[str] = set()
        self._finished: set[str] = set()

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        if stage not in self._started:
            self._started.add(stage)
            log.info("%s: started", stage)
        if total is not None and done >= total and stage not in self._finished:
            self._finished.add(stage)
            log.info("%s: %d/%d done", stage, done, total)
