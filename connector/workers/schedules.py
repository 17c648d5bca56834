"""A directory's ``schedule`` (the ``directories.schedule`` column): when the scheduler enqueues it.

Two forms:

* an interval: ``every 15m`` (or ``@every 15m``, or ``15m``; units ``s``, ``m``, ``h``, ``d``);
* a cron expression of five fields, ``minute hour day-of-month month day-of-week``
  (``*/30 * * * *``, ``0 2 * * 1-5``), in UTC, or ``@hourly``, ``@daily``, ``@weekly``.

Each directory runs at its own offset (:func:`offset`, a stable hash of organization and
directory, below the scheduler's ``jitter``): a directory with an interval is first due that long
after the scheduler first sees it, then every interval; one with a cron expression that long after
each cron time.  So thousands of directories with one schedule do not start in one second, and
the due times live in Redis (:mod:`connector.workers.marks`): a scheduler that restarts keeps
them.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from datetime import datetime
from datetime import timezone

from celery.schedules import crontab

from connector.errors import ConfigError

_INTERVAL = re.compile(r"^(?:@?every\s+)?(\d+(?:\.\d+)?)\s*([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_ALIASES = {"@hourly": "0 * * * *", "@daily": "0 0 * * *", "@weekly": "0 0 * * 0", "@midnight": "0 0 * * *"}
MIN_INTERVAL = 10.0


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule: ``interval`` seconds, or a ``cron`` expression."""

    text: str
    interval: float | None = None
    cron: crontab | None = None

    def first(self, now: float, offset_seconds: float) -> float:
        """When a directory first seen at ``now`` is first due."""
        if self.interval is not None:
            return now + offset_seconds
        return self._cron_after(now - offset_seconds) + offset_seconds

    def following(self, due: float, now: float, offset_seconds: float) -> float:
        """When it is due next, after a tick that was due at ``due`` and taken at ``now``."""
        if self.interval is not None:
            steps = max(1, math.floor((now - due) / self.interval) + 1)  # skipped ticks stay skipped
            return due + steps * self.interval
        return self._cron_after(now - offset_seconds) + offset_seconds

    def _cron_after(self, moment: float) -> float:
        assert self.cron is not None
        at = datetime.fromtimestamp(moment, timezone.utc)
        cron = crontab(**_fields(self.text), nowfun=lambda: at)
        return moment + cron.remaining_estimate(at).total_seconds()


def parse(text: str) -> Schedule:
    """The schedule ``text`` says; ConfigError naming the forms otherwise."""
    cleaned = " ".join(str(text).split()).lower()
    match = _INTERVAL.match(cleaned)
    if match:
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
        if seconds < MIN_INTERVAL:
            raise ConfigError(f"schedule {text!r}: the interval must be at least {MIN_INTERVAL:.0f}s")
        return Schedule(text, interval=seconds)
    cleaned = _ALIASES.get(cleaned, cleaned)
    try:
        return Schedule(cleaned, cron=crontab(**_fields(cleaned)))
    except (ValueError, TypeError, IndexError):
        raise ConfigError(
            f"schedule {text!r} is neither an interval ('every 15m', units s m h d) nor a cron "
            "expression of five fields ('*/30 * * * *', '0 2 * * 1-5', '@hourly', '@daily')"
        ) from None


def _fields(text: str) -> dict[str, str]:
    """A cron line's five fields as Celery's ``crontab`` keywords (its positional order differs)."""
    fields = text.split()
    if len(fields) != 5:
        raise ValueError("five fields")
    return dict(zip(("minute", "hour", "day_of_month", "month_of_year", "day_of_week"), fields, strict=True))


def offset(org: str, directory_id: str, spread: float) -> float:
    """A directory's stable offset in ``[0, spread)`` seconds."""
    if spread <= 0:
        return 0.0
    digest = hashlib.sha256(f"{org}\0{directory_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 * spread
