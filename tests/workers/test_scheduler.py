"""The scheduler over a store of directories as data, with its marks in the real Redis and a clock
of the test's: each tick of each directory is sent once, never while its last run is going."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from connector.api.registry import Registry
from connector.api.registry_records import DirectorySpec
from connector.store import Store
from connector.workers.marks import Marks
from connector.workers.scheduler import Scheduler
from connector.workers.settings import WorkerSettings

SETTINGS = WorkerSettings(config_path="connector.toml", time_limit=600)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_600.0  # ten minutes after a half hour

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(sqlite_url: str) -> Iterator[Store]:
    with Store.open(sqlite_url, org="operator") as opened:
        registry = Registry(opened)
        for org in ("acme", "globex"):
            registry.add_organization(org, verified_domains=[f"{org}.example"])
            for n, schedule in enumerate(("every 10m", "every 1h", None, "*/30 * * * *")):
                spec = DirectorySpec(
                    f"{org}-{n}", "scim", f"https://{org}.example/scim/v2", method="bearer",
                    secret_env="SCIM_TOKEN", schedule=schedule,
                )  # fmt: skip
                registry.add_directory(org, spec)
        registry.add_directory(
            "acme", DirectorySpec("acme-push", "scim", None, mode="push", schedule="every 10m")
        )
        registry.add_directory(
            "acme", DirectorySpec("acme-bad", "scim", "https://acme.example/scim/v2", method="bearer",
                                  secret_env="SCIM_TOKEN", schedule="every fortnight"),
        )  # fmt: skip
        registry.add_directory(
            "globex", DirectorySpec("globex-off", "scim", "https://globex.example/scim/v2", method="bearer",
                                    secret_env="SCIM_TOKEN", schedule="every 10m"),
        )  # fmt: skip
        registry.set_disabled("globex", "globex-off")
        yield opened


def scheduler(store: Store, client: redis.Redis, prefix: str, clock: Clock, sent: list) -> Scheduler:
    return Scheduler(
        store,
        Marks(client, prefix=prefix),
        lambda org, d: sent.append((org, d)),
        SETTINGS,
        jitter=30.0,
        clock=clock,
    )


def test_each_tick_of_each_directory_is_sent_once(
    store: Store, redis_client: redis.Redis, prefix: str
) -> None:
    clock, sent = Clock(), []
    first = scheduler(store, redis_client, prefix, clock, sent)
    assert first.tick() == []  # first seen: each due within the jitter, at its own offset
    clock.now += 30
    first.tick()
    intervals = {("acme", "acme-0"), ("acme", "acme-1"), ("globex", "globex-0"), ("globex", "globex-1")}
    assert set(sent) == intervals  # not the push, unscheduled, disabled or unreadable ones, nor cron yet
    assert len(sent) == 4
    second = scheduler(store, redis_client, prefix, clock, sent)  # another scheduler, or a restart
    for _ in range(3):
        first.tick()
        second.tick()
    assert len(sent) == 4  # nothing twice in one tick
    for org, directory in sent:
        first.marks.finished(org, directory)  # the runs ended
    clock.now += 600
    first.tick()
    second.tick()
    assert sorted(sent[4:]) == [("acme", "acme-0"), ("globex", "globex-0")]  # the 10-minute ones again
    clock.now += 3600
    first.tick()
    assert {("acme", "acme-3"), ("globex", "globex-3")} <= set(sent[6:])  # the cron ones came due


def test_a_tick_whose_last_run_is_going_is_skipped(
    store: Store, redis_client: redis.Redis, prefix: str
) -> None:
    clock, sent = Clock(), []
    schedule = scheduler(store, redis_client, prefix, clock, sent)
    schedule.tick()
    clock.now += 30
    schedule.tick()
    assert ("acme", "acme-0") in sent
    for org, directory in sent:
        if directory != "acme-0":
            schedule.marks.finished(org, directory)
    count = len(sent)
    clock.now += 600
    schedule.tick()
    assert ("acme", "acme-0") not in sent[count:]  # still going: this tick skipped
    assert ("globex", "globex-0") in sent[count:]
    assert schedule.tally.counts["going"] == 1
    schedule.marks.finished("acme", "acme-0")
    schedule.tick()
    assert ("acme", "acme-0") not in sent[count:]  # the skipped tick stays skipped
    clock.now += 600
    schedule.tick()
    assert ("acme", "acme-0") in sent[count:]


def test_a_failed_send_leaves_the_directory_not_going(
    store: Store, redis_client: redis.Redis, prefix: str
) -> None:
    clock = Clock()

    def refuse(org: str, directory_id: str) -> None:
        raise ConnectionError("the broker is down")

    schedule = Scheduler(store, Marks(redis_client, prefix=prefix), refuse, SETTINGS, jitter=0.0, clock=clock)
    with pytest.raises(ConnectionError):
        schedule.tick()
    assert not any(schedule.marks.going(org, f"{org}-{n}") for org in ("acme", "globex") for n in range(4))
