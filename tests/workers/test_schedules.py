"""Schedules: intervals and cron expressions, each directory at its own stable offset."""

from __future__ import annotations

from datetime import datetime
from datetime import timezone

import pytest

from connector.errors import ConfigError
from connector.workers.schedules import offset
from connector.workers.schedules import parse

NOON = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc).timestamp()  # a Wednesday


@pytest.mark.parametrize("text", ["every 15m", "@every 15m", "15m", "Every  15M", "0.25h"])
def test_intervals(text: str) -> None:
    assert parse(text).interval == 900


def test_an_interval_is_first_due_at_the_offset_then_every_interval_keeping_its_phase() -> None:
    schedule = parse("every 10m")
    first = schedule.first(NOON, 42.0)
    assert first == NOON + 42
    assert schedule.following(first, first + 3, 42.0) == first + 600
    assert schedule.following(first, first + 1500, 42.0) == first + 1800  # two missed ticks stay missed


@pytest.mark.parametrize(
    ("text", "after_noon"),
    [("*/30 * * * *", 1800), ("0 2 * * *", 14 * 3600), ("@hourly", 3600), ("0 9 * * 6,0", 69 * 3600)],
)
def test_cron_expressions_in_utc(text: str, after_noon: float) -> None:
    schedule = parse(text)
    assert schedule.cron is not None
    assert schedule.first(NOON, 0.0) == NOON + after_noon
    assert schedule.following(NOON + after_noon, NOON + after_noon + 5, 0.0) > NOON + after_noon
    assert schedule.first(NOON + 20, 17.0) == NOON + after_noon + 17  # its offset after each cron time


def test_a_cron_slot_just_passed_is_still_ahead_with_its_offset() -> None:
    assert parse("*/30 * * * *").first(NOON + 5, 17.0) == NOON + 17


@pytest.mark.parametrize("text", ["", "every", "every 5s", "*/5 * *", "61 * * * *", "x y z a b", "weekly"])
def test_what_is_no_schedule_says_the_forms(text: str) -> None:
    with pytest.raises(ConfigError, match="schedule"):
        parse(text)


def test_offsets_are_stable_and_spread() -> None:
    spread = [offset("acme", f"okta-{n}", 60.0) for n in range(1000)]
    assert spread == [offset("acme", f"okta-{n}", 60.0) for n in range(1000)]
    assert all(0 <= s < 60 for s in spread)
    assert len({int(s) for s in spread}) == 60  # every second of the minute has some
    assert offset("acme", "okta-1", 60.0) != offset("globex", "okta-1", 60.0)
    assert offset("acme", "okta-1", 0.0) == 0.0
