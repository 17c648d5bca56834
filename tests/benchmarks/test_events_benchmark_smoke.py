"""benchmarks/events.py at a tiny size: both syncs run, the outbox's events are counted, and the
sink gets every delivery.  No timing is asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e


def test_events_benchmark_at_a_tiny_size(tmp_path: Path) -> None:
    out = tmp_path / "events.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "events.py"), "--users", "60", "--groups", "3",
         "--stores", "sqlite", "--deliveries", "40", "--json", str(out)],
        capture_output=True, text=True, timeout=300, check=False, cwd=ROOT / "benchmarks",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(out.read_text())
    [row] = figures["outbox"]
    assert row["users"] == 60 and row["events"] > row["changes"] > 60  # every change, and the run's end
    assert row["seconds"] > 0 and row["seconds_without"] > 0 and row["events_per_second_of_apply"] > 0
    assert figures["deliveries"]["deliveries"] == figures["deliveries"]["received"] == 40
    assert "deliveries: 40 in" in done.stdout
