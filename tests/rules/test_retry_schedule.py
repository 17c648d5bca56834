"""The webhook retry schedule: jittered exponential waits, then a dead letter."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.rules.retry_schedule import DEFAULT_STEPS
from connector.rules.retry_schedule import RetrySchedule


@given(failed=st.integers(1, 30), draw=st.floats(0, 1, exclude_max=True))
def test_each_wait_is_its_step_within_the_jitter_and_none_after_the_last(failed: int, draw: float) -> None:
    schedule = RetrySchedule()
    wait = schedule.wait_after(failed, lambda: draw)
    if failed > len(DEFAULT_STEPS):
        assert wait is None
    else:
        step = DEFAULT_STEPS[failed - 1]
        assert wait is not None and 0.8 * step <= wait <= 1.2 * step


def test_the_default_schedule_grows_and_spans_about_a_day() -> None:
    assert list(DEFAULT_STEPS) == sorted(DEFAULT_STEPS)
    assert RetrySchedule().attempts == 10
    assert 20 * 3600 < sum(DEFAULT_STEPS) < 26 * 3600


def test_a_schedule_of_steps_from_the_command_line() -> None:
    schedule = RetrySchedule.of([0, 0.5])
    assert schedule.attempts == 3 and schedule.wait_after(2, lambda: 0.5) == 0.5
    assert schedule.wait_after(3) is None
    with pytest.raises(ValueError):
        RetrySchedule.of([-1])
    with pytest.raises(ValueError):
        schedule.wait_after(0)
