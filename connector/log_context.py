"""Who a log line is about: the organization, directory and run at hand, in context variables.

The workers set them around each task (:func:`about`), the run sets its run id once the store
gave it one (:func:`set_run`), and the JSON log lines (:mod:`connector.ops.logs`) carry them.
Context variables follow threads and tasks: two runs in one process never mix their lines.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

_org: ContextVar[str | None] = ContextVar("connector_org", default=None)
_directory: ContextVar[str | None] = ContextVar("connector_directory", default=None)
_run: ContextVar[int | None] = ContextVar("connector_run", default=None)


@contextlib.contextmanager
def about(org: str | None, directory: str | None) -> Iterator[None]:
    """Lines logged inside are about ``directory`` of ``org`` (and the run it starts)."""
    tokens = (_org.set(org), _directory.set(directory), _run.set(None))
    try:
        yield
    finally:
        _run.reset(tokens[2])
        _directory.reset(tokens[1])
        _org.reset(tokens[0])


def set_run(run_id: int | None) -> None:
    """The run now under way (its id in the store's run records)."""
    _run.set(run_id)


@contextlib.contextmanager
def running(run_id: int | None) -> Iterator[None]:
    """Lines logged inside are about run ``run_id``; after it, about what they were before (a
    thread that serves request after request never carries a finished run's id)."""
    token = _run.set(run_id)
    try:
        yield
    finally:
        _run.reset(token)


def current() -> dict[str, Any]:
    """``{"org", "directory", "run_id"}``, the ones known."""
    fields = {"org": _org.get(), "directory": _directory.get(), "run_id": _run.get()}
    return {k: v for k, v in fields.items() if v is not None}
