"""benchmarks/workers.py at a tiny size: it runs on the real PostgreSQL and Redis, every directory
is synced once per worker count, and its figures add up (no timing asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.slow]


def test_two_organizations_of_two_directories_on_one_and_two_workers(
    tmp_path: Path, pg_server: str, redis_server: str
) -> None:
    out = tmp_path / "workers.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "workers.py"), "--orgs", "2", "--per-org", "2",
         "--users", "20", "--groups", "3", "--workers", "1,2", "--draws", "200", "--timeout", "120",
         "--json", str(out)],
        capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "BENCH_PG_URL": pg_server, "BENCH_REDIS_URL": redis_server},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(out.read_text())
    assert [p["workers"] for p in result["passes"]] == [1, 2]
    assert all(p["outcomes"] == {"applied": 4} for p in result["passes"])
    assert all(p["per_minute"] == pytest.approx(4 / p["wall"] * 60, rel=0.05) for p in result["passes"])
    assert result["budget"]["draws"] == 200 and result["budget"]["draw_us_median"] > 0
    assert "2 worker(s): 4 directories of 20 users" in done.stdout
