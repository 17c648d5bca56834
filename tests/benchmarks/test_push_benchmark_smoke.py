"""benchmarks/push.py at a tiny size: it runs on SQLite and its figures are there.

No timing is asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e


def test_push_benchmark_at_a_tiny_size(tmp_path: Path) -> None:
    out = tmp_path / "push.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "push.py"), "--store", "sqlite", "--users", "110",
         "--groups", "2", "--push-users", "20", "--repeat", "1", "--json", str(out)],
        capture_output=True, text=True, timeout=300, check=False, cwd=ROOT / "benchmarks",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(out.read_text())["sqlite"]
    assert figures["creates_per_second"] > 0 and figures["patches_per_second"] > 0
    push = figures["initial_push"]
    assert push["seconds"] > 0 and push["actions"]["user created"] == 20
    assert "sqlite:" in done.stdout and "initial push of 20 users" in done.stdout
