"""What the built-in adapters share: settings checks, the session, the HTTP client, timestamps."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from typing import Any
from typing import TypeVar

from connector.errors import ConfigError
from connector.errors import CursorExpiredError
from connector.errors import IncompleteReadError
from connector.errors import MalformedObjectError
from connector.model import ReadProblem
from connector.net.auth import build_authenticator
from connector.net.http import Classifier
from connector.net.http import ErrorReader
from connector.net.http import HttpClient
from connector.providers.base import ProviderSettings

T = TypeVar("T")
log = logging.getLogger(__name__)

CURSOR_OVERLAP = timedelta(seconds=60)
"""Timestamp cursors look back this far, for clock skew and late writes at the IdP."""


class HttpProvider:
    """Base of the built-in adapters: one authenticated session and one HTTP client.

    Subclasses set ``name``, the auth methods they allow, their default token
    URL and scopes, and the dialect's error reader; then they call
    :meth:`_connect` from ``__init__``.
    """

    name = "http"
    supports_changes = False

    def __init__(self, settings: ProviderSettings) -> None:
        if not settings.base_url or not settings.base_url.startswith(("http://", "https://")):
            raise ConfigError(f"base_url must be an http(s) URL, got {settings.base_url!r}")
        if settings.page_size is not None and settings.page_size < 1:
            raise ConfigError(f"page_size must be a positive integer, got {settings.page_size!r}")
        self.settings = settings
        self.directory_id = settings.directory_id
        self.base_url = settings.base_url.rstrip("/")
        self.problems: list[ReadProblem] = []

    def _connect(
        self,
        *,
        allowed: tuple[str, ...],
        default_token_url: str | None,
        default_scopes: tuple[str, ...],
        read_error: ErrorReader,
        optional_scopes: tuple[str, ...] = (),
        classify: Classifier | None = None,
        accept: str = "application/json",
        sleep: Callable[[float], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        http_settings = self.settings.http
        timeout = (http_settings.connect_timeout, http_settings.read_timeout)
        auth = build_authenticator(
            self.settings.auth,
            default_token_url=default_token_url,
            default_scopes=default_scopes,
            optional_scopes=optional_scopes,
            allowed=allowed,
            translate=lambda response: self.http.translate(response),
            timeout=timeout,
        )
        extra: dict[str, Any] = {}
        if sleep is not None:
            extra["sleep"] = sleep
        self.http = HttpClient(
            auth,
            http_settings,
            read_error=read_error,
            classify=classify,
            directory_id=self.directory_id,
            accept=accept,
            rng=rng,
            **extra,
        )

    @classmethod
    def from_settings(cls, settings: ProviderSettings) -> Any:
        """Build the adapter; no network traffic until the first read."""
        return cls(settings)

    @property
    def request_count(self) -> int:
        """HTTP requests sent so far, token requests and retries included."""
        return self.http.request_count

    def kept(self, mapper: Callable[[Any], T], raw: Any) -> T | None:
        """``mapper(raw)``, or None when the object is malformed: then it is skipped, and reported
        in :attr:`problems` and on the logger (docs/contract.md, "2. Map")."""
        try:
            return mapper(raw)
        except MalformedObjectError as exc:
            self.report(ReadProblem(exc.kind, exc.object_id, str(exc)))
            return None

    def report(self, problem: ReadProblem) -> None:
        """Note something the read could not take as the IdP's word."""
        self.problems.append(problem)
        log.warning("directory %s: %s (skipped)", self.directory_id, problem.reason)

    def page(self, maximum: int) -> int:
        """The page size: the configured one, capped at what the IdP allows."""
        return min(self.settings.page_size or maximum, maximum)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(directory_id={self.directory_id!r}, base_url={self.base_url!r})"


def parse_time(value: Any, what: str, directory_id: str | None = None) -> datetime | None:
    """An ISO-8601 timestamp (``Z`` or offset) as an aware datetime; None stays None."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise IncompleteReadError(
            f"{what} is not an ISO-8601 time: {value!r}", directory_id=directory_id
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def format_cursor(moment: datetime) -> str:
    """A timestamp cursor: UTC, millisecond precision, ``Z`` suffix (Okta's format)."""
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_cursor(cursor: str, directory_id: str | None) -> datetime:
    """The moment a timestamp cursor marks; a cursor that is not one is a config problem."""
    try:
        moment = datetime.fromisoformat(cursor.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        raise CursorExpiredError(
            "the stored change cursor is not a timestamp; a full read is needed", directory_id=directory_id
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def require(record: dict[str, Any], key: str, what: str, directory_id: str | None, *about: object) -> Any:
    """``record[key]``, or IncompleteReadError naming the missing field.

    ``what`` names the record; its ``{}`` are filled from ``about`` only when the
    field is missing (a read calls this a few times per object).
    """
    value = record.get(key) if isinstance(record, dict) else None
    if value is None or value == "":
        raise IncompleteReadError(f"{what.format(*about)} lacks {key!r}", directory_id=directory_id)
    return value
