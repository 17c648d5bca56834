"""Why a request got no answer at all: refused, timed out, or another connection failure.

requests wraps the socket's error in urllib3's (``MaxRetryError`` around ``NewConnectionError``
around ``ConnectionRefusedError``); these walk that chain so a message can say what happened and
``check`` can stop at once on a port where nothing listens.
"""

from __future__ import annotations

from collections.abc import Iterator

import requests


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo.extend(e for e in (current.__cause__, current.__context__) if e is not None)
        todo.extend(a for a in getattr(current, "args", ()) if isinstance(a, BaseException))
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            todo.append(reason)


def connection_refused(exc: BaseException) -> bool:
    """True when the host refused the connection (nothing listens on that port)."""
    return any(isinstance(e, ConnectionRefusedError) for e in _chain(exc))


def why_unreachable(exc: BaseException) -> str:
    """A few words for a failed connection: ``connection refused``, ``timed out``, or the error's type."""
    if connection_refused(exc):
        return "connection refused"
    if isinstance(exc, requests.Timeout):
        return "timed out"
    return type(exc).__name__
