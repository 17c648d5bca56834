"""A small SCIM HTTP client: bearer token, keep-alive, retries on 429/5xx, and a report.

Okta's documented 429 handling (its "Understanding SCIM" concepts page): wait for an
integer ``Retry-After`` (seconds), otherwise a default wait; each retry doubles the wait;
give up after 10 attempts.  Entra documents none; a failed object is retried in a later
cycle.  A test tool cannot wait five minutes, so every wait is capped by ``max_wait``.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from urllib.parse import quote
from urllib.parse import urlencode

import requests

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts a request gets and how long to wait between them."""

    attempts: int
    default_wait: float
    max_wait: float

    def wait(self, attempt: int, retry_after: str | None) -> float:
        """Seconds to wait before attempt ``attempt + 1`` (``attempt`` counts from 1)."""
        if retry_after is not None and retry_after.strip().isdigit():
            base = float(retry_after.strip())
        else:
            base = self.default_wait
        return min(self.max_wait, base * (2 ** (attempt - 1)))


@dataclass(frozen=True)
class Failure:
    """A request that failed for good: what was asked and what came back."""

    method: str
    path: str
    status: int | None
    body: str

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method, "path": self.path, "status": self.status, "body": self.body}


@dataclass
class Report:
    """What a push sent: requests by method, retries, failures, and the objects it touched."""

    requests: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    failures: list[Failure] = field(default_factory=list)
    actions: Counter[str] = field(default_factory=Counter)

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": dict(sorted(self.requests.items())),
            "retries": self.retries,
            "actions": dict(sorted(self.actions.items())),
            "failures": [f.to_json() for f in self.failures],
        }


class ScimClient:
    """Sends SCIM requests under one base URL with ``Authorization: Bearer <token>``.

    Query strings are encoded with ``%20`` for spaces, as Okta documents its filters.
    The token is never logged or reported.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        policy: RetryPolicy,
        headers: dict[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        session: requests.Session | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.policy = policy
        self.report = Report()
        self._sleep = sleep
        self._timeout = timeout  # both vendors give a service 60 s to answer
        self.session = session or requests.Session()
        self.session.headers.update(headers or {})
        self.session.headers["Authorization"] = f"Bearer {token}"

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        accept: tuple[int, ...] = (),
    ) -> requests.Response | None:
        """Send, retrying per the policy; the final answer, or None when it failed (reported).

        A status in ``accept`` (e.g. a 404 for a filter that matches nothing) is not a failure.
        """
        url = self.base_url + path
        if params:
            url += "?" + urlencode(params, quote_via=quote)
        for attempt in range(1, self.policy.attempts + 1):
            self.report.requests[method] += 1
            try:
                response = self.session.request(method, url, json=body, timeout=self._timeout)
            except requests.RequestException as exc:
                if attempt == self.policy.attempts:
                    self.report.failures.append(Failure(method, path, None, type(exc).__name__))
                    return None
                self.report.retries += 1
                self._sleep(self.policy.wait(attempt, None))
                continue
            if response.status_code in RETRY_STATUSES and attempt < self.policy.attempts:
                self.report.retries += 1
                self._sleep(self.policy.wait(attempt, response.headers.get("Retry-After")))
                continue
            if response.status_code >= 400 and response.status_code not in accept:
                excerpt = response.text[:300]
                self.report.failures.append(Failure(method, path, response.status_code, excerpt))
                return None
            return response
        return None  # pragma: no cover (the loop always returns)
