"""The benchmark script at a tiny size, so it cannot rot: every case runs and its figures add up.

No timing is asserted: only that the run completes, reads the whole
directory, asks no more than the minimum requests, and that the second
full sync writes nothing while the incremental one sees the churn.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "run.py"

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    args = ["--users", "40", "--groups", "4", "--seed", "3", "--dialects", "scim", "--stores", "sqlite"]
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *args, "--no-sdk", "--churn", "0.1", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    data = json.loads(out.read_text())
    data["stdout"] = done.stdout
    return data


@pytest.fixture
def rows(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["case"]: row for row in result["rows"]}


def test_every_case_ran(rows):
    assert list(rows) == ["floor", "full sqlite", "again sqlite", "delta sqlite"]
    for row in rows.values():
        assert row["seconds"] > 0
        assert row["peak_rss_mb"] > 10


def test_floor_reads_the_whole_directory_in_the_minimum_requests(rows):
    floor = rows["floor"]
    assert (floor["users"], floor["groups"]) == (40, 4)
    assert floor["memberships"] > 0
    assert floor["requests"] == floor["minimum_requests"]


def test_full_sync_reads_every_user_and_writes_them(rows):
    full, floor = rows["full sqlite"], rows["floor"]
    assert full["users"] == 40
    assert full["full_read"] is True
    assert full["outcome"] == "applied"
    assert full["changes"] > 0
    assert full["written"]["idp_users"] == 40
    assert floor["minimum_requests"] <= full["requests"] <= floor["minimum_requests"] + 3


def test_second_full_sync_writes_no_data(rows):
    again = rows["again sqlite"]
    assert again["full_read"] is True
    assert again["changes"] == 0
    assert "planned only the 0 identities that differ from the last read" in again["read_reason"]
    data = {"accounts", "links", "groups", "memberships", "idp_users", "idp_groups", "idp_members"}
    assert not data & {table for table, n in again["written"].items() if n}


def test_delta_reads_only_the_churn(rows):
    delta = rows["delta sqlite"]
    assert delta["full_read"] is False
    assert delta["requests"] < rows["full sqlite"]["requests"]
    assert delta["changes"] > 0
    assert delta["churn"]["users"] == 4
    assert "planned only the" in delta["read_reason"]  # the store is as the last run left it


def test_report_prints_ratios_and_targets(result):
    assert "full/floor" in result["ratios"]["scim sqlite"]
    assert "delta/full" in result["ratios"]["scim sqlite"]
    assert "targets:" in result["stdout"]
    assert "peak RSS" in result["stdout"]
    assert "how the runs after the first planned:" in result["stdout"]
