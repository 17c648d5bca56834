"""The shared request budget in the real Redis: a token bucket no 60 seconds of draws overrun."""

from __future__ import annotations

import threading

import pytest
import redis

from connector.net.shared_budget import Announcement
from connector.net.shared_budget import Target
from connector.net.shared_budget import target_of
from connector.workers.budget import RedisBudget

TARGET = Target("https://acme.okta.example", "c0ffee")


def most_in_a_minute(times: list[float]) -> int:
    """The most sends any 60 seconds hold (windows starting at each send)."""
    times = sorted(times)
    return max(sum(1 for t in times[i:] if t < start + 60) for i, start in enumerate(times))


def test_draws_spread_over_the_minute_within_the_budget(redis_client: redis.Redis, prefix: str) -> None:
    budget = RedisBudget(redis_client, prefix=prefix)
    budget.observe(TARGET, Announcement(200, limit=120, remaining=119, reset_in=30), 0.5)  # 60 a minute
    waits = [budget.draw(TARGET, 0.5) for _ in range(130)]
    assert waits[:6] == [0.0] * 6  # the burst: a tenth of the budget
    assert waits[6] > 0
    assert waits == sorted(waits)  # in the order they asked
    assert 59 <= most_in_a_minute(waits) <= 60  # the budget, used, never passed
    assert budget.per_minute(TARGET, 0.5) == 60


def test_workers_drawing_at_once_share_one_budget(redis_server: str, prefix: str) -> None:
    waits: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        budget = RedisBudget.from_url(redis_server, prefix=prefix, default_per_minute=100)
        mine = [budget.draw(TARGET, 1.0) for _ in range(50)]
        budget.close()
        with lock:
            waits.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(waits) == 150
    assert 95 <= most_in_a_minute(waits) <= 100  # three drawers, one budget of 100 a minute


def test_a_429_pauses_every_drawer(redis_client: redis.Redis, prefix: str) -> None:
    budget = RedisBudget(redis_client, prefix=prefix)
    other = RedisBudget(redis_client, prefix=prefix)
    assert budget.draw(TARGET, 0.5) == 0.0
    budget.observe(TARGET, Announcement(429, retry_after=20.0), 0.5)
    assert other.draw(TARGET, 0.5) == pytest.approx(20.0, abs=1.0)


def test_a_spent_share_pauses_until_the_window_resets(redis_client: redis.Redis, prefix: str) -> None:
    budget = RedisBudget(redis_client, prefix=prefix)
    budget.observe(TARGET, Announcement(200, limit=600, remaining=299, reset_in=12.0), 0.5)
    assert budget.draw(TARGET, 0.5) == pytest.approx(13.0, abs=1.0)


def test_budgets_of_two_credentials_are_apart(redis_client: redis.Redis, prefix: str) -> None:
    budget = RedisBudget(redis_client, prefix=prefix)
    one = target_of("https://acme.okta.example/api/v1/users?limit=200", ["token-one"])
    two = target_of("https://acme.okta.example/api/v1/groups", ["token-two"])
    assert one.origin == two.origin == "https://acme.okta.example"
    assert one.key != two.key
    budget.observe(one, Announcement(429, retry_after=30.0), 1.0)
    assert budget.draw(two, 1.0) == 0.0
    assert "token" not in one.credential
    assert "token-one" not in str(list(redis_client.scan_iter(f"{prefix}*")))


def test_a_budget_out_of_reach_waits_nothing_and_says_so_once(caplog: pytest.LogCaptureFixture) -> None:
    budget = RedisBudget.from_url("redis://127.0.0.1:9/0")  # nothing listens there
    with caplog.at_level("WARNING", logger="connector.workers.budget"):
        assert [budget.draw(TARGET, 0.5) for _ in range(3)] == [0.0, 0.0, 0.0]
        budget.observe(TARGET, Announcement(429, retry_after=20.0), 0.5)
    assert [r.getMessage() for r in caplog.records] == [
        "the shared request budget is out of reach (ConnectionError); pacing in this process only"
    ]
