"""Every network habit in one place: timeouts, retries, 429 waits, pacing, error translation.

:class:`HttpClient` wraps one provider's session (see :mod:`connector.net.auth`):

* every request has a ``(connect, read)`` timeout;
* connection errors, timeouts, bodies cut off mid-stream or unreadable, and
  5xx answers (but 501) are retried up to ``max_retries`` times with
  exponential backoff and jitter (GETs only: they are idempotent);
* a 429 waits what the IdP asked for: ``Retry-After`` (seconds or an HTTP
  date, RFC 9110 §10.2.3), else Okta's ``X-Rate-Limit-Reset`` against the
  answer's ``Date`` plus one second (as Okta's SDK does), else backoff.  429s
  do not use up retries; a request gives up when the run's waits on 429s
  and 5xx, all its requests together, would pass ``max_total_wait``, or
  after ``max_rate_limit_retries`` 429s, with a
  :class:`~connector.errors.RateLimitedError` that says so;
* pacing: when ``X-Rate-Limit-Remaining`` drops to the part of the budget
  that is not ours (``1 - rate_share`` of ``X-Rate-Limit-Limit``), the next
  request waits for ``X-Rate-Limit-Reset``; with a shared budget installed
  (:mod:`connector.net.shared_budget`, the workers' Redis bucket) every request
  first draws from it and every answer tells it what the IdP announced;
* a 401 on an OAuth session renews the token once before it counts;
* every other answer becomes one error of :mod:`connector.errors`, with the
  IdP's own code, and no secret in the message.

Threads.  One client may serve two threads at once: a page prefetch
(:mod:`connector.net.prefetch`) and its consumer, which may send requests of
its own.  ``requests`` sessions and urllib3's pool take concurrent GETs; a
lock makes one thread fetch or drop an OAuth token while the other waits,
another guards the counters and waits this client keeps, and a pause for
the rate budget holds every request to its bucket until it ends, from
whichever thread.
"""

from __future__ import annotations

import contextlib
import email.utils
import logging
import random
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import InsecureRequestWarning

from connector.errors import AuthError
from connector.errors import IncompleteReadError
from connector.errors import NotFoundError
from connector.errors import ProviderError
from connector.errors import RateLimitedError
from connector.errors import RetryableError
from connector.errors import TerminalError
from connector.errors import UnreachableError
from connector.net.auth import Authenticator
from connector.net.auth import idp_words
from connector.net.auth import scrub
from connector.net.environment import environment_once_per_host
from connector.net.origins import follow_same_origin
from connector.net.origins import host_of
from connector.net.rate_buckets import rate_bucket
from connector.net.settings import HttpSettings
from connector.net.shared_budget import Announcement
from connector.net.shared_budget import Target
from connector.net.shared_budget import installed
from connector.net.shared_budget import notify
from connector.net.shared_budget import target_of
from connector.net.tls import tls_failure
from connector.net.unreachable import connection_refused
from connector.net.unreachable import why_unreachable

log = logging.getLogger(__name__)

ErrorReader = Callable[[requests.Response], tuple[str | None, str | None]]
"""Reads ``(code, message)`` out of an error body in the IdP's own shape."""

Classifier = Callable[[int, str | None], type[ProviderError] | None]
"""Picks a dialect-specific error class for ``(status, code)``, or None for the default."""

USER_AGENT = "idp-connector/0.1"


class CountingAdapter(HTTPAdapter):
    """A transport adapter that counts every request it sends (token calls too)."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0
        self._count_lock = threading.Lock()

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        with self._count_lock:
            self.count += 1
        return super().send(request, *args, **kwargs)


def no_error_body(response: requests.Response) -> tuple[str | None, str | None]:
    """An :data:`ErrorReader` for IdPs whose error bodies say nothing useful."""
    return None, None


class HttpClient:
    """GETs with the habits above, for one provider; safe from two threads (see "Threads" above)."""

    def __init__(
        self,
        auth: Authenticator,
        settings: HttpSettings,
        *,
        read_error: ErrorReader = no_error_body,
        classify: Classifier | None = None,
        directory_id: str | None = None,
        accept: str = "application/json",
        sleep: Callable[[float], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        wallclock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self.auth = auth
        self.settings = settings
        self.session = auth.session
        self.read_error = read_error
        self.classify = classify
        self.directory_id = directory_id
        self._sleep = sleep or _sleep
        self._monotonic = monotonic
        self._wallclock = wallclock
        self._rng = rng or random.Random()
        self._resume_at: dict[str, float] = {}  # per rate bucket: when its next request may go
        self._auth_lock = threading.Lock()  # one thread fetches or drops a token at a time
        self._waits_lock = threading.Lock()  # the two counters below
        self.waited = 0.0  # seconds spent waiting on 429s, 5xx and pacing, in all
        self.retry_waited = 0.0  # seconds spent waiting on 429s and 5xx: the run's max_total_wait budget
        self.adapter = CountingAdapter()
        self.session.mount("https://", self.adapter)
        self.session.mount("http://", self.adapter)
        environment_once_per_host(self.session)
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.headers["Accept"] = accept
        if not settings.verify_tls:
            log.warning("TLS verification is off for directory %s", directory_id)
            self.session.verify = False
        elif settings.ca_bundle:
            self.session.verify = settings.ca_bundle
        self.timeout = (settings.connect_timeout, settings.read_timeout)
        self._targets: dict[str, Target] = {}  # per origin: whose shared budget its requests draw from

    @property
    def request_count(self) -> int:
        """Requests sent on the wire so far, token requests and retries included."""
        return self.adapter.count

    def close(self) -> None:
        self.auth.close()

    # ------------------------------------------------------------------ the request loop

    def get_json(
        self, url: str, params: dict[str, Any] | None = None, headers: dict[str, str] | None = None
    ) -> tuple[Any, requests.Response]:
        """GET ``url`` and parse its JSON body, with every habit of this module.

        Raises :class:`RetryableError` when retries run out,
        :class:`IncompleteReadError` when the body stays unreadable, and the
        translated error for any other non-2xx answer.
        """
        s = self.settings
        retries = 0
        rate_limited = 0
        renewed = False
        while True:
            self._wait_for_pace(url)
            self._draw_shared(url)
            try:
                with warnings.catch_warnings() if not s.verify_tls else contextlib.nullcontext():
                    if not s.verify_tls:
                        warnings.simplefilter("ignore", InsecureRequestWarning)
                    with self._auth_lock:
                        self.auth.ensure()
                    response = self._send(url, params, headers)
                self._observe(url, response)
                if response.status_code < 300:
                    return self._parse(response), response
                raise self.translate(response)
            except RateLimitedError as exc:
                rate_limited += 1
                wait = exc.retry_after if exc.retry_after is not None else self._backoff(rate_limited)
                reason = "rate limited (429)"
                if rate_limited > s.max_rate_limit_retries or self.retry_waited + wait > s.max_total_wait:
                    raise RateLimitedError(
                        f"gave up on {_where(url)} after {rate_limited} rate-limited answers and "
                        f"{self.retry_waited:.1f}s of waiting in this run "
                        f"(the IdP asked for {wait:.1f}s more; "
                        f"budget {s.max_total_wait:.0f}s)",
                        retry_after=wait,
                        status=exc.status,
                        code=exc.code,
                        directory_id=self.directory_id,
                    ) from exc
            except AuthError as exc:
                if exc.status == 401 and self.auth.is_oauth and not renewed:
                    with self._auth_lock:
                        renewed = self.auth.renew()
                    continue
                raise
            except (RetryableError, _Unreadable) as exc:
                if isinstance(exc, UnreachableError) and exc.refused and not s.retry_refused:
                    raise
                retries += 1
                wait = getattr(exc, "retry_after", None) or self._backoff(retries)
                status = getattr(exc, "status", None)
                # what failed: a status, an unreadable body, or the error's own words (an unreachable
                # token endpoint is no "unreadable answer")
                reason = (
                    f"answered {status}"
                    if status
                    else "unreadable answer"
                    if isinstance(exc, _Unreadable)
                    else str(exc)
                )
                if retries > s.max_retries or self.retry_waited + wait > s.max_total_wait:
                    if isinstance(exc, _Unreadable):
                        raise IncompleteReadError(
                            f"{_where(url)}: {exc} (after {retries} attempts)",
                            directory_id=self.directory_id,
                        ) from None
                    raise type(exc)(
                        f"{exc} (gave up after {retries} attempts)",
                        status=exc.status,
                        code=exc.code,
                        directory_id=self.directory_id,
                    ) from exc
            except requests.exceptions.SSLError as exc:
                raise tls_failure(exc, host_of(url), self.directory_id) from None
            except (requests.ConnectionError, requests.Timeout) as exc:
                refused = connection_refused(exc)
                reason = f"cannot reach {host_of(url)} ({why_unreachable(exc)})"
                if refused and not s.retry_refused:
                    raise UnreachableError(
                        f"{_where(url)}: {reason}", refused=True, directory_id=self.directory_id
                    ) from None
                retries += 1
                wait = self._backoff(retries)
                if retries > s.max_retries or self.retry_waited + wait > s.max_total_wait:
                    raise UnreachableError(
                        f"{_where(url)}: {reason} (gave up after {retries} attempts)",
                        refused=refused,
                        directory_id=self.directory_id,
                    ) from None
            log.info("%s: %s; retrying in %.1fs", _where(url), reason, wait)
            self._sleep(wait)
            self._waited(wait, retry=True)

    def _send(
        self, url: str, params: dict[str, Any] | None, headers: dict[str, str] | None
    ) -> requests.Response:
        try:
            response = self._get(url, params, headers)
            return follow_same_origin(
                response, lambda target: self._get(target, None, headers), self.directory_id
            )
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError) as exc:
            raise _Unreadable(f"the answer was cut off or garbled ({type(exc).__name__})") from None

    def _get(
        self, url: str, params: dict[str, Any] | None, headers: dict[str, str] | None
    ) -> requests.Response:
        # redirects are followed by follow_same_origin, not by requests; verify given explicitly: a
        # REQUESTS_CA_BUNDLE in the environment must not override it
        return self.session.get(
            url,
            params=params,
            headers=headers,
            timeout=self.timeout,
            verify=self.session.verify,
            allow_redirects=False,
        )

    def _parse(self, response: requests.Response) -> Any:
        try:
            return response.json()
        except (ValueError, RecursionError):  # RecursionError: JSON nested deeper than Python parses
            raise _Unreadable(f"answer {response.status_code} has a malformed JSON body") from None

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with equal jitter: half fixed, half random."""
        cap = min(self.settings.backoff_max, self.settings.backoff_base * 2 ** (attempt - 1))
        return cap / 2 + self._rng.uniform(0, cap / 2)

    # ------------------------------------------------------------------ pacing

    def _target(self, url: str) -> Target:
        origin = urlsplit(url).netloc
        target = self._targets.get(origin)
        if target is None:
            target = self._targets[origin] = target_of(url, self.auth.secret_values()[:1])
        return target

    def _draw_shared(self, url: str) -> None:
        budget = installed()
        if budget is None:
            return
        wait = budget.draw(self._target(url), self.settings.rate_share)
        if wait > 0:
            self._sleep(wait)
            self._waited(wait)

    def _observe(self, url: str, response: requests.Response) -> None:
        headers = response.headers
        limit = _int(headers.get("X-Rate-Limit-Limit"))
        remaining = _int(headers.get("X-Rate-Limit-Remaining"))
        reset = _int(headers.get("X-Rate-Limit-Reset"))
        target = self._target(url)
        notify(target, response.status_code)
        budget = installed()
        if budget is not None:
            announced = Announcement(
                status=response.status_code,
                limit=limit,
                remaining=remaining,
                reset_in=max(0.0, reset - self._server_now(response)) if reset is not None else None,
                retry_after=self.retry_after(response) if response.status_code == 429 else None,
            )
            budget.observe(target, announced, self.settings.rate_share)
        if limit is None or remaining is None or reset is None:
            return
        reserved = limit * (1.0 - self.settings.rate_share)
        if remaining <= reserved:
            wait = max(0.0, reset - self._server_now(response)) + 1.0
            bucket = rate_bucket(url)
            self._resume_at[bucket] = self._monotonic() + wait
            log.info(
                "rate budget share of %s used (%s of %s left); pausing it %.1fs",
                bucket,
                remaining,
                limit,
                wait,
            )

    def _wait_for_pace(self, url: str) -> None:
        # read, not popped: a second thread's request to the bucket waits for the same moment
        resume_at = self._resume_at.get(rate_bucket(url))
        wait = resume_at - self._monotonic() if resume_at is not None else 0.0
        if wait > 0:
            self._sleep(wait)
            self._waited(wait)

    def _waited(self, seconds: float, *, retry: bool = False) -> None:
        """Count a wait; ``retry`` ones (429s, 5xx) also against ``max_total_wait``."""
        with self._waits_lock:
            self.waited += seconds
            if retry:
                self.retry_waited += seconds

    def _server_now(self, response: requests.Response) -> float:
        date = response.headers.get("Date")
        if date:
            try:
                return email.utils.parsedate_to_datetime(date).timestamp()
            except (TypeError, ValueError):
                pass
        return self._wallclock()

    # ------------------------------------------------------------------ translation

    def retry_after(self, response: requests.Response) -> float | None:
        """Seconds the IdP asked us to wait: ``Retry-After``, else ``X-Rate-Limit-Reset``."""
        value = response.headers.get("Retry-After")
        if value:
            try:
                return max(0.0, float(value))
            except ValueError:
                try:
                    when = email.utils.parsedate_to_datetime(value).timestamp()
                    return max(0.0, when - self._server_now(response))
                except (TypeError, ValueError):
                    pass
        reset = _int(response.headers.get("X-Rate-Limit-Reset"))
        if reset is not None:
            return max(0.0, reset - self._server_now(response)) + 1.0
        return None

    def translate(self, response: requests.Response) -> ProviderError:
        """The error for a non-2xx answer, with the IdP's code and no secret."""
        status = response.status_code
        try:
            code, detail = self.read_error(response)
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            code, detail = None, None
        code = idp_words(code, 64) if code not in (None, "") else None  # of any type and length
        text = f"{response.request.method} {_where(response.url)} answered {status}"
        if code:
            text += f" {code}"
        if detail:
            text += f": {idp_words(detail, 300)}"
        text = self.scrub(text)
        kwargs: dict[str, Any] = {"status": status, "code": code, "directory_id": self.directory_id}
        special = self.classify(status, code) if self.classify else None
        if special is not None:
            return special(text, **kwargs)
        if status == 429:
            return RateLimitedError(text, retry_after=self.retry_after(response), **kwargs)
        if status in (401, 403):
            return AuthError(text, **kwargs)
        if status == 404:
            return NotFoundError(text, **kwargs)
        if status >= 500 and status != 501:
            error = RetryableError(text, **kwargs)
            # only an explicit Retry-After: Okta's X-Rate-Limit-Reset on a 503 is the rate window, not a hint
            hint = (
                self.retry_after(response) if status == 503 and response.headers.get("Retry-After") else None
            )
            error.retry_after = hint  # type: ignore[attr-defined]
            return error
        return TerminalError(text, **kwargs)

    def scrub(self, text: str) -> str:
        """``text`` with every secret in play replaced by stars."""
        return scrub(text, self.auth.secret_values())


class _Unreadable(Exception):
    """A 2xx answer whose body could not be parsed; retried, then IncompleteReadError."""

    retry_after = None


def _sleep(seconds: float) -> None:
    time.sleep(seconds)  # looked up at call time, so a test can patch time.sleep


def _where(url: str | None) -> str:
    """The path of ``url``, without host or query (short, and free of tokens)."""
    return urlsplit(url or "").path or "/"


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(float(value))
    except ValueError:
        return None
