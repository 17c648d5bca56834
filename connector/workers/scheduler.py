"""The scheduler: enqueues each scheduled directory of the store when its schedule says.

Directories are data (:mod:`connector.store.registry`): every pull directory with a ``schedule``
that is not disabled is scheduled, in every organization of the store; the list is read again
every ``refresh`` seconds, so a directory added, disabled or rescheduled is picked up without a
restart.  Each tick of each directory is claimed in Redis (:mod:`connector.workers.marks`): it
is sent once, even with two schedulers, and not at all while the directory's last run is still
going.  Due times live in Redis too, so a restarted scheduler neither repeats nor forgets a tick.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field

from connector.errors import ConfigError
from connector.store import Store
from connector.store.registry import DirectoryEntry
from connector.workers import schedules
from connector.workers.marks import Marks
from connector.workers.settings import WorkerSettings

log = logging.getLogger(__name__)

Send = Callable[[str, str], None]
"""Enqueue the sync of ``(org, directory_id)``."""
DEFAULT_DELIVER_EVERY = 5.0
"""Seconds between two webhook delivery tasks the scheduler sends (each one pass over every
organization's endpoints; the endpoints' leases keep two passes off one endpoint)."""

DEFAULT_JITTER = 60.0
"""A directory starts up to this many seconds after its cron time, or after it is first seen."""


@dataclass
class Tally:
    """What the scheduler did, per outcome of a claim (``enqueue``, ``going``, ``taken``)."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, outcome: str) -> None:
        self.counts[outcome] = self.counts.get(outcome, 0) + 1


class Scheduler:
    """Reads the scheduled directories from ``store`` and sends the due ones with ``send``."""

    def __init__(
        self,
        store: Store,
        marks: Marks,
        send: Send,
        settings: WorkerSettings,
        *,
        jitter: float = DEFAULT_JITTER,
        refresh: float = 30.0,
        clock: Callable[[], float] = time.time,
        deliver: Callable[[], None] | None = None,
        deliver_every: float = DEFAULT_DELIVER_EVERY,
    ) -> None:
        self.store = store
        self.deliver = deliver
        self.deliver_every = deliver_every
        self.marks = marks
        self.send = send
        self.settings = settings
        self.jitter = jitter
        self.refresh = refresh
        self.clock = clock
        self.tally = Tally()
        self._entries: list[tuple[DirectoryEntry, schedules.Schedule]] = []
        self._read_at: float | None = None
        self._bad: set[tuple[str, str]] = set()

    def scheduled(self) -> list[tuple[DirectoryEntry, schedules.Schedule]]:
        """The scheduled directories (read again after ``refresh`` seconds)."""
        now = self.clock()
        if self._read_at is None or now - self._read_at >= self.refresh:
            self._entries = self._read()
            self._read_at = now
        return self._entries

    def _read(self) -> list[tuple[DirectoryEntry, schedules.Schedule]]:
        found = []
        for entry in self.store.directory_entries():
            if entry.disabled or entry.mode != "pull" or not entry.schedule:
                continue
            try:
                found.append((entry, schedules.parse(entry.schedule)))
            except ConfigError as exc:
                if (entry.org_id, entry.directory_id) not in self._bad:
                    log.error(
                        "directory %s of %s is not scheduled: %s", entry.directory_id, entry.org_id, exc
                    )
                    self._bad.add((entry.org_id, entry.directory_id))
        return found

    def _offset(self, entry: DirectoryEntry, schedule: schedules.Schedule) -> float:
        spread = min(self.jitter, schedule.interval) if schedule.interval is not None else self.jitter
        return schedules.offset(entry.org_id, entry.directory_id, spread)

    def tick(self) -> list[tuple[str, str]]:
        """Send every directory due now, and a delivery task once per ``deliver_every`` (across
        schedulers); the ``(org, directory)`` pairs sent."""
        if (
            self.deliver is not None
            and self.deliver_every > 0
            and self.marks.every("deliver", self.deliver_every)
        ):
            self.deliver()
            self.tally.add("deliver")
        now = self.clock()
        sent = []
        # by a hash, not by organization: a batch due together interleaves the organizations
        entries = sorted(
            self.scheduled(), key=lambda e: schedules.offset(e[0].org_id, e[0].directory_id, 1.0)
        )
        for entry, schedule in entries:
            org, directory_id = entry.org_id, entry.directory_id
            offset = self._offset(entry, schedule)
            due = self.marks.first_seen(org, directory_id, schedule.first(now, offset))
            if now < due:
                continue
            following = schedule.following(due, now, offset)
            ttl = self.settings.time_limit + 300
            outcome = self.marks.claim(org, directory_id, due, following, ttl)
            self.tally.add(outcome)
            if outcome == "going":
                log.warning(
                    "directory %s of %s: its last run is still going; this tick is skipped", directory_id, org
                )
            if outcome != "enqueue":
                continue
            try:
                self.send(org, directory_id)
            except Exception:
                self.marks.finished(org, directory_id)  # not sent: not going
                raise
            sent.append((org, directory_id))
            log.info("enqueued directory %s of %s", directory_id, org)
        return sent

    def run(self, stop: threading.Event, *, every: float = 1.0) -> None:
        """Tick every ``every`` seconds until ``stop`` is set."""
        while not stop.is_set():
            started = self.clock()
            try:
                self.tick()
            except Exception:  # a store or broker hiccup: said, and tried again at the next tick
                log.exception("the scheduler's tick failed; trying again")
            stop.wait(max(0.0, every - (self.clock() - started)))
