"""benchmarks/curve.py on two runs of one size and one of another: best of the runs, a table, a PNG."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "curve.py"


def _run(path: Path, users: int, seconds: float, rss: float) -> Path:
    rows = [{"dialect": "okta", "case": "full sqlite", "seconds": seconds, "peak_rss_mb": rss}]
    path.write_text(json.dumps({"sizes": {"users": users}, "rows": rows}))
    return path


def _curve(tmp_path: Path, *extra: str) -> str:
    files = [
        _run(tmp_path / "a.json", 1000, 3.0, 120.0),
        _run(tmp_path / "b.json", 1000, 2.0, 130.0),
        _run(tmp_path / "c.json", 10000, 20.0, 200.0),
    ]
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, files), *extra],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_the_table_keeps_the_best_of_each_size(tmp_path: Path) -> None:
    lines = _curve(tmp_path).splitlines()
    assert lines[1].split() == ["okta", "full", "sqlite", "1,000", "2.0", "120", "2"]
    assert lines[2].split() == ["okta", "full", "sqlite", "10,000", "20.0", "200", "1"]


def test_the_png_is_drawn(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    png = tmp_path / "curve.png"
    _curve(tmp_path, "--png", str(png))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
