"""A request budget shared by every process that reads one IdP: the hook the HTTP client calls.

:class:`~connector.net.http.HttpClient` paces itself (``X-Rate-Limit-Remaining``, 429 waits), but a
process sees only its own requests.  When several workers read directories of one IdP with one
credential, they must draw from one budget: a :class:`RequestBudget` installed in the process
(:func:`install`) is asked before every request how long to wait (:meth:`RequestBudget.draw`),
and told what the IdP announced after every answer (:meth:`RequestBudget.observe`).  The budget
is keyed by a :class:`Target`: the IdP's origin and a digest of the credential, never the
credential.  No budget installed: the in-process pacing alone, as for the CLI.

The Redis implementation lives in :mod:`connector.workers.budget`; this module knows no Redis.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Target:
    """Whose budget a request draws from: an IdP origin and one credential there."""

    origin: str
    """``scheme://host[:port]``: a metrics label too (it holds no secret)."""
    credential: str
    """A digest naming the credential (its client id, else its secret): never the credential."""

    @property
    def key(self) -> str:
        """A short, stable name of the pair for a shared store."""
        return hashlib.sha256(f"{self.origin}\0{self.credential}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Announcement:
    """What one answer said about the budget: ``X-Rate-Limit-*`` and ``Retry-After``, if anything."""

    status: int
    limit: int | None = None
    """Requests per minute the IdP allows (``X-Rate-Limit-Limit``)."""
    remaining: int | None = None
    reset_in: float | None = None
    """Seconds until the IdP's window resets (``X-Rate-Limit-Reset`` against the answer's date)."""
    retry_after: float | None = None
    """Seconds a 429 asked for."""


class RequestBudget(Protocol):
    """A budget every process reading one IdP draws from."""

    def draw(self, target: Target, share: float) -> float:
        """Take one request from ``target``'s budget (``share`` of what the IdP announced); the
        seconds to wait before sending it."""
        ...

    def observe(self, target: Target, announced: Announcement, share: float) -> None:
        """Learn from an answer: the announced limit, and a pause after a 429 or a spent share."""
        ...


class RequestListener(Protocol):
    """Told of every answer (metrics): the target and the HTTP status."""

    def __call__(self, target: Target, status: int) -> None: ...


_lock = threading.Lock()
_budget: RequestBudget | None = None
_listeners: list[RequestListener] = []


def install(budget: RequestBudget | None) -> None:
    """Make ``budget`` the one every HTTP client of this process draws from (None: none)."""
    global _budget
    with _lock:
        _budget = budget


def installed() -> RequestBudget | None:
    """The process's shared budget, if one is installed."""
    return _budget


def listen(listener: RequestListener) -> None:
    """Tell ``listener`` of every answer any HTTP client of this process gets."""
    with _lock:
        if listener not in _listeners:
            _listeners.append(listener)


def unlisten(listener: RequestListener) -> None:
    with _lock:
        if listener in _listeners:
            _listeners.remove(listener)


def notify(target: Target, status: int) -> None:
    """Tell every listener of one answer."""
    for listener in list(_listeners):
        listener(target, status)


def target_of(url: str, credentials: Iterable[str]) -> Target:
    """The :class:`Target` of a request to ``url`` made with ``credentials`` (client id or secrets:
    only their digest is kept)."""
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}".lower()
    digest = hashlib.sha256("\0".join(credentials).encode()).hexdigest()[:32]
    return Target(origin, digest)
