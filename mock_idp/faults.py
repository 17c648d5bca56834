"""Injected faults and per-dialect rate limits.  No Flask: ``app.py`` applies them.

A :class:`FaultRule` matches requests by dialect, HTTP method and a path
regex (``re.search`` on the path).  Rules are tried in order; ``latency``
and ``truncate`` take effect and let matching go on, the first ``status``,
``rate_limit`` or ``drop`` rule that fires ends it.  ``count`` (None =
forever) is decremented each time a rule fires; ``probability`` is drawn from
a per-rule RNG seeded with ``seed``, so a test sees the same sequence every run.

:class:`RateLimiter` keeps a fixed one-minute window per bucket that resets
at the next minute boundary (epoch seconds), as Okta's per-minute limits do
(idp-wire-protocols.md §1.8).  Okta requests fall into Okta's own endpoint
buckets (``users``, ``user``, ``groups``, ``group``, ``logs``, ``api``, ``oauth2``);
Graph and SCIM into one bucket each (``api``) plus ``token`` for token
endpoints.  A bucket's budget is its own limit if one is set
(``okta:users=100``), else the dialect's (``okta=600``).
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from mock_idp.state.directory import DIALECTS

FAULT_KINDS: tuple[str, ...] = ("status", "rate_limit", "latency", "truncate", "drop", "rewrite")
TERMINAL_KINDS = frozenset({"status", "rate_limit", "drop"})
DEFAULT_LIMIT = 10_000
"""Per-minute budget of every bucket unless configured: high, so headers are real but never in the way."""


class FaultError(ValueError):
    """A fault rule or rate limit that makes no sense; the message names the field."""


@dataclass
class FaultRule:
    """One fault.  ``kind`` is one of :data:`FAULT_KINDS`:

    * ``status``: answer ``status`` in the dialect's error shape;
    * ``rate_limit``: the dialect's 429 with ``retry_after`` seconds;
    * ``latency``: sleep ``latency_ms`` then go on;
    * ``truncate``: the page sequence ends early (no next link, short SCIM page);
    * ``drop``: close the connection without an answer;
    * ``rewrite``: answer as usual, with the JSON objects of the answer (each item of a list,
      Graph's ``value`` or SCIM's ``Resources``; else the object itself) that hold ``where``'s
      values given ``set``'s fields and stripped of ``unset``'s: a malformed or incomplete
      answer from an otherwise faithful IdP.
    """

    kind: str
    dialect: str | None = None
    path: str = ""
    method: str | None = None
    count: int | None = None
    probability: float = 1.0
    status: int = 503
    latency_ms: int = 0
    retry_after: int = 1
    seed: int = 0
    set: dict[str, Any] = field(default_factory=dict)
    unset: list[str] = field(default_factory=list)
    where: dict[str, Any] = field(default_factory=dict)
    fired: int = 0
    _pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)
    _rng: random.Random = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise FaultError(f"kind: unknown fault kind {self.kind!r}; one of {', '.join(FAULT_KINDS)}")
        if self.dialect is not None and self.dialect not in DIALECTS:
            raise FaultError(f"dialect: unknown dialect {self.dialect!r}; one of {', '.join(DIALECTS)}")
        try:
            self._pattern = re.compile(self.path)
        except re.error as exc:
            raise FaultError(f"path: not a regular expression: {exc}") from None
        if self.count is not None and self.count < 0:
            raise FaultError("count: must be 0 or more (or null for forever)")
        if not 0.0 <= self.probability <= 1.0:
            raise FaultError("probability: must be between 0 and 1")
        if not 100 <= self.status <= 599:
            raise FaultError("status: must be an HTTP status between 100 and 599")
        if self.latency_ms < 0 or self.retry_after < 0:
            raise FaultError("latency_ms and retry_after must not be negative")
        self.method = self.method.upper() if self.method else None
        self._rng = random.Random(self.seed)

    def rewrite(self, body: Any) -> Any:
        """``body`` (parsed JSON) with this ``rewrite`` rule applied to its objects."""
        items = body
        if isinstance(body, dict):
            items = body.get("value", body.get("Resources", [body]))
        for item in items if isinstance(items, list) else ():
            if isinstance(item, dict) and all(item.get(k) == v for k, v in self.where.items()):
                item.update(self.set)
                for key in self.unset:
                    item.pop(key, None)
        return body

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FaultRule:
        """Build a rule from JSON; unknown keys and wrong types are a :class:`FaultError`."""
        if not isinstance(data, Mapping):
            raise FaultError("a fault rule must be a JSON object")
        fields = {"kind", "dialect", "path", "method", "count", "probability", "status"}
        fields |= {"latency_ms", "retry_after", "seed", "set", "unset", "where"}
        unknown = set(data) - fields
        if unknown:
            raise FaultError(f"unknown fault rule keys: {', '.join(sorted(unknown))}")
        if "kind" not in data:
            raise FaultError("kind: required")
        types: dict[str, tuple[type, ...]] = {
            "kind": (str,),
            "dialect": (str, type(None)),
            "path": (str,),
            "method": (str, type(None)),
            "count": (int, type(None)),
            "probability": (int, float),
            "status": (int,),
            "latency_ms": (int,),
            "retry_after": (int,),
            "seed": (int,),
            "set": (dict,),
            "unset": (list,),
            "where": (dict,),
        }
        for key, value in data.items():
            if isinstance(value, bool) or not isinstance(value, types[key]):
                raise FaultError(f"{key}: wrong type {type(value).__name__}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "dialect": self.dialect,
            "path": self.path,
            "method": self.method,
            "count": self.count,
            "probability": self.probability,
            "status": self.status,
            "latency_ms": self.latency_ms,
            "retry_after": self.retry_after,
            "seed": self.seed,
            "set": dict(self.set),
            "unset": list(self.unset),
            "where": dict(self.where),
            "fired": self.fired,
        }

    def matches(self, dialect: str | None, method: str, path: str) -> bool:
        if self.count == 0:
            return False
        if self.dialect is not None and self.dialect != dialect:
            return False
        if self.method is not None and self.method != method.upper():
            return False
        return self._pattern.search(path) is not None

    def fire(self) -> bool:
        """Draw against ``probability``; on a hit, spend one of ``count``."""
        if self.probability < 1.0 and self._rng.random() >= self.probability:
            return False
        if self.count is not None:
            self.count -= 1
        self.fired += 1
        return True


class FaultEngine:
    """The ordered fault rules of one app, plus its :class:`RateLimiter`. Thread-safe."""

    def __init__(self, rules: list[FaultRule] | None = None, limiter: RateLimiter | None = None) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = list(rules or ())
        self.limiter = limiter or RateLimiter()

    @property
    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def add(self, rule: FaultRule) -> FaultRule:
        with self._lock:
            self._rules.append(rule)
            return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def select(self, dialect: str | None, method: str, path: str) -> list[FaultRule]:
        """The rules that fire for this request, in order, ending at the first terminal one."""
        fired: list[FaultRule] = []
        with self._lock:
            for rule in self._rules:
                if rule.matches(dialect, method, path) and rule.fire():
                    fired.append(rule)
                    if rule.kind in TERMINAL_KINDS:
                        break
        return fired


@dataclass(frozen=True)
class RateDecision:
    """One request's place in its bucket's window."""

    bucket: str
    limit: int
    remaining: int
    reset_epoch: int
    allowed: bool

    def retry_after(self, now: float) -> int:
        """Whole seconds until the window resets (at least 1)."""
        return max(1, int(self.reset_epoch - now + 0.999))


_OKTA_BUCKETS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^/api/v1/users/?$"), "users"),
    (re.compile(r"^/api/v1/users/[^/]+/?$"), "user"),
    (re.compile(r"^/api/v1/groups/?$"), "groups"),
    (re.compile(r"^/api/v1/groups/[^/]+/?$"), "group"),
    (re.compile(r"^/api/v1/logs/?$"), "logs"),
    (re.compile(r"^/oauth2/"), "oauth2"),
)


def bucket_for(dialect: str, path: str) -> str:
    """The rate-limit bucket of a request (Okta's endpoint buckets, idp-wire-protocols.md §1.8)."""
    if dialect == "okta":
        for pattern, name in _OKTA_BUCKETS:
            if pattern.match(path):
                return name
        return "api"
    if "token" in path.rsplit("/", 1)[-1] or "/oauth2/" in path:
        return "token"
    return "api"


class RateLimiter:
    """Fixed one-minute windows per ``(dialect, bucket)``; ``clock`` gives epoch seconds."""

    def __init__(
        self,
        limits: Mapping[str, int] | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._limits: dict[str, int] = {}
        self._windows: dict[tuple[str, str], tuple[int, int]] = {}  # -> (window start, used)
        self.update(limits or {})

    @property
    def limits(self) -> dict[str, int]:
        """Configured budgets, keyed ``dialect`` or ``dialect:bucket``."""
        with self._lock:
            return dict(self._limits)

    def update(self, limits: Mapping[str, int]) -> None:
        """Set budgets (``{"okta": 600, "okta:users": 100}``); a value of None drops a key."""
        checked: dict[str, int | None] = {}
        for key, value in limits.items():
            dialect = key.split(":", 1)[0]
            if dialect not in DIALECTS:
                raise FaultError(
                    f"rate limit {key!r}: unknown dialect {dialect!r}; one of {', '.join(DIALECTS)}"
                )
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise FaultError(
                    f"rate limit {key!r}: the per-minute budget must be a whole number of at least 1"
                )
            checked[key] = value
        with self._lock:
            for key, value in checked.items():
                if value is None:
                    self._limits.pop(key, None)
                else:
                    self._limits[key] = value
            self._windows.clear()

    def limit_for(self, dialect: str, bucket: str) -> int:
        with self._lock:
            return self._limits.get(f"{dialect}:{bucket}", self._limits.get(dialect, DEFAULT_LIMIT))

    def hit(self, dialect: str, path: str) -> RateDecision:
        """Count one request; ``allowed`` is False (and nothing is counted) once the window is spent."""
        bucket = bucket_for(dialect, path)
        limit = self.limit_for(dialect, bucket)
        now = self._clock()
        start = int(now // 60) * 60
        with self._lock:
            window, used = self._windows.get((dialect, bucket), (start, 0))
            if window != start:
                used = 0
            allowed = used < limit
            if allowed:
                used += 1
            self._windows[(dialect, bucket)] = (start, used)
        return RateDecision(bucket, limit, max(0, limit - used), start + 60, allowed)

    def now(self) -> float:
        return self._clock()

    def snapshot(self) -> dict[str, Any]:
        """Limits and the current window of each bucket seen, for ``GET /_admin/state``."""
        with self._lock:
            return {
                "limits": dict(self._limits),
                "default": DEFAULT_LIMIT,
                "windows": {
                    f"{d}:{b}": {"used": used, "reset": start + 60}
                    for (d, b), (start, used) in self._windows.items()
                },
            }


def parse_rate_limit(text: str) -> tuple[str, int]:
    """``"okta=600"`` or ``"okta:users=100"`` -> key and budget (the CLI's ``--rate-limit``)."""
    key, sep, value = text.partition("=")
    if not sep or not value.strip().isdigit():
        raise FaultError(f"rate limit {text!r}: expected DIALECT=PER_MINUTE or DIALECT:BUCKET=PER_MINUTE")
    return key.strip(), int(value)
