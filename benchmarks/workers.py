"""Directories per minute on 1, 2 and 3 workers, and the shared budget's cost per request.

    python benchmarks/workers.py       # 10 organizations x 20 directories x 500 users, 1, 2, 3 workers
    python benchmarks/workers.py --orgs 2 --per-org 2 --users 20 --workers 1,2

One ``mock-idp serve`` process serves a directory of ``--users`` users (Okta dialect, no rate
limit); the store (PostgreSQL) holds ``--orgs`` organizations of ``--per-org`` directories each,
all reading it.  For each worker count, a fresh store: that many ``idp-connector worker``
processes, ``scheduler --once --jitter 0`` enqueues every directory, and the clock runs until each
has its run (a first sync: every account created).  Then the budget: ``--draws`` draws from one
bucket in Redis (the Lua script every request of a worker runs first), and as many answers told
to it, timed one after another in this process.  Figures only; docs/benchmarks.md records them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine  # noqa: E402
from sqlalchemy import text  # noqa: E402

from benchmarks import fleet  # noqa: E402
from connector.net.shared_budget import Announcement  # noqa: E402
from connector.net.shared_budget import Target  # noqa: E402
from connector.workers.budget import RedisBudget  # noqa: E402

PG_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


class Schemas:
    """Fresh PostgreSQL schemas, dropped at the end."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_engine(url)
        self.made: list[str] = []

    def new(self) -> str:
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        with self.engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        self.made.append(schema)
        return f"{self.url}?options={quote(f'-csearch_path={schema}')}"

    def drop(self) -> None:
        with self.engine.begin() as conn:
            for schema in self.made:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        self.engine.dispose()


def fleet_pass(
    workers: int, args: argparse.Namespace, mock: fleet.Mock, schemas: Schemas, work: Path
) -> dict[str, Any]:
    """One worker count: the wall time from the enqueue to the last run's end."""
    url = schemas.new()
    fleet.populate(url, mock.url, args.orgs, args.per_org)
    config = fleet.write_config(work / f"connector-{workers}.toml", url, mock.url)
    tag = f"bench-{uuid.uuid4().hex[:8]}"
    running = fleet.Fleet(config, REDIS_URL, REDIS_URL, tag, tag, mock.token, time_limit=3600)
    directories = args.orgs * args.per_org
    try:
        for _ in range(workers):
            running.start_worker()
        time.sleep(5)  # the workers are up
        started = time.perf_counter()
        running.schedule_once("--jitter", "0")
        expected = {(o, d): 1 for o in fleet.org_ids(args.orgs) for d in fleet.directory_ids(o, args.per_org)}
        runs = fleet.wait_for_runs(url, expected, timeout=args.timeout, fleet=running)
        wall = time.perf_counter() - started
    finally:
        running.stop()
    outcomes = [o for outcomes in runs.values() for o in outcomes]
    return {
        "workers": workers,
        "directories": directories,
        "wall": round(wall, 1),
        "per_minute": round(directories / wall * 60, 1),
        "outcomes": {o: outcomes.count(o) for o in sorted(set(outcomes))},
    }


def budget_cost(draws: int) -> dict[str, Any]:
    """Microseconds per draw and per answer told, one after another, against the local Redis."""
    budget = RedisBudget.from_url(REDIS_URL, prefix=f"bench-{uuid.uuid4().hex[:8]}", default_per_minute=10**9)
    target = Target("https://bench.okta.example", "bench")
    announced = Announcement(200, limit=10**9, remaining=10**9 - 1, reset_in=30.0)
    try:
        budget.draw(target, 1.0)
        samples_draw, samples_observe = [], []
        for _ in range(draws):
            t0 = time.perf_counter()
            budget.draw(target, 1.0)
            t1 = time.perf_counter()
            budget.observe(target, announced, 1.0)
            samples_draw.append(t1 - t0)
            samples_observe.append(time.perf_counter() - t1)
    finally:
        for key in budget.client.scan_iter(f"{budget.prefix}*"):
            budget.client.delete(key)
        budget.close()
    return {
        "draws": draws,
        "draw_us_median": round(statistics.median(samples_draw) * 1e6, 1),
        "draw_us_p99": round(sorted(samples_draw)[int(draws * 0.99) - 1] * 1e6, 1),
        "observe_us_median": round(statistics.median(samples_observe) * 1e6, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, default=10)
    parser.add_argument("--per-org", type=int, default=20)
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--groups", type=int, default=20)
    parser.add_argument("--workers", default="1,2,3", help="worker counts, comma-separated")
    parser.add_argument("--draws", type=int, default=5000)
    parser.add_argument("--timeout", type=float, default=7200)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    result: dict[str, Any] = {
        "orgs": args.orgs,
        "per_org": args.per_org,
        "users": args.users,
        "groups": args.groups,
        "passes": [],
    }
    schemas = Schemas(PG_URL)
    mock = fleet.Mock(args.users, args.groups)
    work = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-workers-{uuid.uuid4().hex[:6]}"
    work.mkdir(parents=True)
    try:
        for count in (int(n) for n in args.workers.split(",")):
            row = fleet_pass(count, args, mock, schemas, work)
            result["passes"].append(row)
            print(
                f"{count} worker(s): {row['directories']} directories of {args.users} users in "
                f"{row['wall']:.1f} s = {row['per_minute']:.1f} directories/minute {row['outcomes']}",
                flush=True,
            )
    finally:
        mock.stop()
        schemas.drop()
    cost = result["budget"] = budget_cost(args.draws)
    print(
        f"budget: {cost['draw_us_median']:.0f} us per draw (median; p99 {cost['draw_us_p99']:.0f} us), "
        f"{cost['observe_us_median']:.0f} us per answer told, over {cost['draws']} requests"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
