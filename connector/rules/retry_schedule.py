"""When a failed webhook post is tried again: exponential backoff with jitter, then a dead letter.

The default schedule (docs/events.md, "Retries") waits after each failed attempt
5 s, 30 s, 2 min, 10 min, 30 min, 1 h, 3 h, 6 h and 12 h: ten attempts over about 23 hours, so a
receiver down for a night still gets every event, in order; after the tenth the event is
dead-lettered and the endpoint goes on with the next.  Each wait is drawn uniformly from
``[0.8, 1.2]`` times its step (jitter), so receivers that fail together are not retried in
lockstep.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass

DEFAULT_STEPS: tuple[float, ...] = (5, 30, 120, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600)
JITTER = 0.2


@dataclass(frozen=True)
class RetrySchedule:
    """The waits (seconds) after the 1st, 2nd, ... failed attempt; none after the last."""

    steps: tuple[float, ...] = DEFAULT_STEPS
    jitter: float = JITTER

    def __post_init__(self) -> None:
        if any(step < 0 for step in self.steps) or not 0 <= self.jitter < 1:
            raise ValueError("retry steps must not be negative and the jitter must be in [0, 1)")

    @property
    def attempts(self) -> int:
        """How many times an event is posted at most."""
        return len(self.steps) + 1

    def wait_after(self, failed: int, draw: Callable[[], float] = random.random) -> float | None:
        """Seconds to wait after the ``failed``-th failed attempt (1-based); None when it was the
        last: dead-letter the event."""
        if failed < 1:
            raise ValueError(f"attempts count from 1, got {failed}")
        if failed > len(self.steps):
            return None
        step = self.steps[failed - 1]
        return step * (1 - self.jitter + 2 * self.jitter * draw())

    @classmethod
    def of(cls, steps: Sequence[float]) -> RetrySchedule:
        return cls(tuple(float(s) for s in steps))
