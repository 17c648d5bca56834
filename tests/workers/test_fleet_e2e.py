"""Workers end to end: ``idp-connector worker`` processes and ``scheduler --once`` on the real Redis
(and RabbitMQ), PostgreSQL and a ``mock-idp serve`` process (benchmarks/fleet.py starts them).

* organizations of several directories each, on 3 workers: every directory synced exactly once per
  tick, and the store equal to one synced serially in the order the runs started;
* ``kill -9`` of the process running a sync: the task is given back and finished, the killed run
  marked interrupted, the store exact;
* 3 workers on one IdP whose per-minute limit is small: the mock's per-minute counter never passes
  the share of it the budget allows, and no 429 is answered;
* a run past the task's time limit: stopped, recorded failed, its lock free.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks import fleet
from connector.store import Store
from connector.workers.settings import WorkerSettings
from connector.workers.tasks import run_task

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def queue() -> str:
    return f"idpc-test-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def mock() -> Iterator[fleet.Mock]:
    served = fleet.Mock(30, 4)
    yield served
    served.stop()


def expected(orgs: int, per_org: int) -> dict[tuple[str, str], int]:
    return {(org, d): 1 for org in fleet.org_ids(orgs) for d in fleet.directory_ids(org, per_org)}


def serial_replay(fleet_url: str, serial_url: str, mock: fleet.Mock, tmp_path: Path, orgs: int) -> None:
    """Sync, in this process and one after another, each directory as often and in the order the
    fleet's runs started, into a store of the same directories."""
    config = fleet.write_config(tmp_path / "serial.toml", serial_url, mock.url)
    with Store.open(fleet_url, org="operator", register=False) as store:
        order = sorted(
            (run.run_id, org, run.directory_id)
            for org in fleet.org_ids(orgs)
            for run in store.for_org(org).runs(limit=10_000)
            if run.outcome not in ("interrupted", "running")
        )
    settings = WorkerSettings(config_path=str(config), broker_url="memory://")
    os.environ[fleet.TOKEN_ENV] = mock.token
    try:
        for _, org, directory_id in order:
            assert run_task(settings, org, directory_id)["outcome"] == "applied"
    finally:
        del os.environ[fleet.TOKEN_ENV]


def test_three_workers_sync_each_directory_once_per_tick_as_a_serial_run_would(
    pg_urls: Callable[[], str], redis_server: str, prefix: str, queue: str, mock: fleet.Mock, tmp_path: Path
) -> None:
    orgs, per_org = 4, 3
    url, serial_url = pg_urls(), pg_urls()
    fleet.populate(url, mock.url, orgs, per_org)
    fleet.populate(serial_url, mock.url, orgs, per_org)
    config = fleet.write_config(tmp_path / "connector.toml", url, mock.url)
    workers = fleet.Fleet(config, redis_server, redis_server, queue, prefix, mock.token)
    try:
        for _ in range(3):
            workers.start_worker()
        assert "12 directories enqueued" in workers.schedule_once("--jitter", "0")
        runs = fleet.wait_for_runs(url, expected(orgs, per_org), timeout=180, fleet=workers)
        assert "0 directories enqueued" in workers.schedule_once("--jitter", "0")  # the tick is taken
        time.sleep(2)
        assert fleet.runs_by_directory(url, fleet.org_ids(orgs)) == runs
    finally:
        workers.stop()
    assert all(outcomes == ["applied"] for outcomes in runs.values()), (
        runs,
        workers.output()[-3000:],
    )  # once each
    assert len({line for line in workers.output().splitlines() if "received" in line}) >= 12
    serial_replay(url, serial_url, mock, tmp_path, orgs)
    assert fleet.canonical(url, fleet.org_ids(orgs)) == fleet.canonical(serial_url, fleet.org_ids(orgs))


def children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False).stdout
    return [int(p) for p in found.split()]


def running(url: str, org: str, directory_id: str) -> bool:
    with Store.open(url, org="operator", register=False) as store:
        return any(r.outcome == "running" for r in store.for_org(org).runs(directory_id))


@pytest.fixture
def slow_mock() -> Iterator[fleet.Mock]:
    """Every Okta answer takes 0.4 s: a run lasts seconds, long enough to be killed in the middle."""
    fault = '{"kind": "latency", "dialect": "okta", "latency_ms": 400}'
    served = fleet.Mock(30, 4, extra=("--fault", fault))
    yield served
    served.stop()


@pytest.mark.parametrize("broker", ["redis", "rabbitmq"])
def test_a_worker_killed_mid_run_leaves_its_task_to_another(
    broker: str,
    pg_urls: Callable[[], str],
    redis_server: str,
    prefix: str,
    queue: str,
    slow_mock: fleet.Mock,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    """On Redis the child process running the task is killed (its worker gives the message back at
    once); on RabbitMQ the whole worker (the broker gives it back when the connection drops)."""
    broker_url = redis_server if broker == "redis" else request.getfixturevalue("rabbitmq_server")
    url, serial_url = pg_urls(), pg_urls()
    fleet.populate(url, slow_mock.url, 1, 1)
    fleet.populate(serial_url, slow_mock.url, 1, 1)
    config = fleet.write_config(tmp_path / "connector.toml", url, slow_mock.url)
    workers = fleet.Fleet(config, broker_url, redis_server, queue, prefix, slow_mock.token)
    org, directory_id = "org-000", "org-000-okta-000"
    try:
        first = workers.start_worker()
        time.sleep(4)  # the first worker is up alone: the task is its
        assert "1 directories enqueued" in workers.schedule_once("--jitter", "0")
        deadline = time.monotonic() + 60
        while not running(url, org, directory_id):
            assert time.monotonic() < deadline, workers.output()[-3000:]
            time.sleep(0.1)
        time.sleep(0.5)
        workers.start_worker()
        victims = children(first.pid) if broker == "redis" else [first.pid, *children(first.pid)]
        assert victims
        for pid in victims:
            os.kill(pid, signal.SIGKILL)
        runs = fleet.wait_for_runs(url, {(org, directory_id): 1}, timeout=120, fleet=workers)
    finally:
        workers.stop()
    assert runs[(org, directory_id)] == ["interrupted", "applied"], runs
    if broker == "rabbitmq":
        assert "received" in workers.logs[1].read_text()  # the other worker finished it
    serial_replay(url, serial_url, slow_mock, tmp_path, 1)
    assert fleet.canonical(url, ["org-000"]) == fleet.canonical(serial_url, ["org-000"])


class Counter:
    """Polls the mock's per-minute windows: when each request it counted was (to the poll)."""

    def __init__(self, mock: fleet.Mock) -> None:
        self.mock = mock
        self.series: list[tuple[float, int]] = []  # (monotonic time, requests so far)
        self.per_window: dict[int, int] = {}  # the mock's minute window (its reset) -> requests in it
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        total, last = 0, (None, 0)
        while not self.stop.is_set():
            windows = self.mock.rate_windows()
            okta = [w for key, w in windows.items() if key.startswith("okta:")]
            reset = max((w["reset"] for w in okta), default=None)
            used = sum(w["used"] for w in okta if w["reset"] == reset)
            total += used - last[1] if reset == last[0] else used
            last = (reset, used)
            if reset is not None:
                self.per_window[reset] = used
            self.series.append((time.monotonic(), total))
            time.sleep(0.2)

    def most_within(self, seconds: float) -> int:
        """The most requests any ``seconds`` held (to a poll's precision)."""
        series = self.series
        return max(
            (b[1] - a[1] for i, a in enumerate(series) for b in series[i:] if b[0] - a[0] <= seconds),
            default=0,
        )


def test_three_workers_on_one_idp_stay_within_its_shared_budget(
    pg_urls: Callable[[], str], redis_server: str, prefix: str, queue: str, tmp_path: Path
) -> None:
    """The mock allows 240 requests a minute; the workers' share is half (rate_share 0.5): a
    bucket of 12 filled at 1.8 a second, so no 10 seconds see more than 30 requests and no minute
    more than 120.  36 requests unpaced would take about 3 seconds."""
    limit, orgs, per_org = 240, 3, 2
    mock = fleet.Mock(30, 4, rate_limit=limit)
    url = pg_urls()
    counter = Counter(mock)
    try:
        fleet.populate(url, mock.url, orgs, per_org)
        config = fleet.write_config(tmp_path / "connector.toml", url, mock.url)
        workers = fleet.Fleet(config, redis_server, redis_server, queue, prefix, mock.token)
        try:
            for _ in range(3):
                workers.start_worker("--default-limit", str(limit))
            time.sleep(3)
            counter.thread.start()
            started = time.monotonic()
            workers.schedule_once("--jitter", "0")
            runs = fleet.wait_for_runs(url, expected(orgs, per_org), timeout=180, fleet=workers)
            took = time.monotonic() - started
            time.sleep(0.5)
        finally:
            counter.stop.set()
            workers.stop()
    finally:
        mock.stop()
    assert all(outcomes == ["applied"] for outcomes in runs.values()), runs
    total = counter.series[-1][1]
    assert total >= 36  # six directories, six requests each at least
    assert max(counter.per_window.values()) <= limit // 2  # the share, by all three workers together
    assert counter.most_within(10.0) <= 12 + 18 + 1  # the bucket: its burst and 10 s of filling (+1: polls)
    assert took >= (total - 12) / 1.8 * 0.8  # paced by the bucket, not by the mock's answers
    assert "rate limited (429)" not in workers.output()  # what a worker logs of a 429


def test_a_run_past_its_time_limit_is_stopped_and_recorded(
    pg_urls: Callable[[], str], redis_server: str, prefix: str, queue: str, tmp_path: Path
) -> None:
    """``--time-limit 10``: the soft limit stops the run at 9 s (each Okta answer takes 2.5 s here);
    the run is recorded failed, the task's outcome is ``timeout``, and the lock is free again."""
    fault = '{"kind": "latency", "dialect": "okta", "latency_ms": 2500}'
    mock = fleet.Mock(30, 4, extra=("--fault", fault))
    url = pg_urls()
    try:
        fleet.populate(url, mock.url, 1, 1)
        config = fleet.write_config(tmp_path / "connector.toml", url, mock.url)
        workers = fleet.Fleet(config, redis_server, redis_server, queue, prefix, mock.token, time_limit=10)
        try:
            workers.start_worker()
            workers.schedule_once("--jitter", "0")
            runs = fleet.wait_for_runs(url, {("org-000", "org-000-okta-000"): 1}, timeout=60, fleet=workers)
            time.sleep(1)
        finally:
            workers.stop()
    finally:
        mock.stop()
    assert runs[("org-000", "org-000-okta-000")] == ["failed"]
    with Store.open(url, org="org-000", register=False) as store:
        (run,) = store.runs("org-000-okta-000")
        assert "SoftTimeLimitExceeded" in (run.detail or "")
        with store.run_lock("org-000-okta-000"):  # free: nobody holds it
            pass
    assert "org-000-okta-000 of org-000: timeout" in workers.output()
