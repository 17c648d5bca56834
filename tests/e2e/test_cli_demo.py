"""``idp-connector demo`` on a fresh folder, twice: the second sync changes nothing."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def demo(folder: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "connector", "demo", "--dir", str(folder), "--users", "30"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_demo_twice(tmp_path: Path):
    folder = tmp_path / "demo"
    first = demo(folder)
    assert "Invited by hand before provisioning" in first
    for directory in ("demo-okta", "demo-entra", "demo-scim"):
        assert f"{directory} (" in first
        with (folder / f"review-{directory}.csv").open(newline="") as handle:
            header = next(csv.reader(handle))
        assert header == ["email", "unique_identifier", "active", "groups", "action", "account_id", "note"]
    assert "accounts created" in first and "existing accounts linked" in first
    assert "guard: passed" in first
    assert "Billing:" in first and "changes applied" in first
    config = (folder / "connector.toml").read_text()
    for secret in (folder / "secrets").iterdir():  # referenced by path, never inline
        assert secret.read_text().strip() not in config
        assert f'"secrets/{secret.name}"' in config
        assert secret.stat().st_mode & 0o077 == 0

    second = demo(folder)
    assert "Second run over the same store" in second
    assert second.count(": no changes") == 3
    assert "Done: nothing changed." in second
