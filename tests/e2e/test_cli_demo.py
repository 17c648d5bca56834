"""``idp-connector demo`` on a fresh folder, twice: the second sync changes nothing."""

from __future__ import annotations

import csv
import json
import re
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
    assert "Organization acme" in first and "Organization globex" in first
    for directory in ("acme-okta", "globex-entra", "globex-scim"):
        assert f"{directory} (" in first
        with (folder / f"review-{directory}.csv").open(newline="") as handle:
            header = next(csv.reader(handle))
        assert header == ["email", "unique_identifier", "active", "groups", "action", "account_id", "note"]
    assert "accounts created" in first and "existing accounts linked" in first
    assert "guard: passed" in first
    assert "Billing of acme:" in first and "Billing of globex:" in first and "changes applied" in first
    shared = re.search(r"^(\S+) is in both organizations: two accounts, billed by acme", first, re.M)
    assert shared is not None
    config = (folder / "connector.toml").read_text()
    assert config.count("[[organizations]]") == 2
    secrets = [p for p in (folder / "secrets").rglob("*") if p.is_file()]
    assert {p.parent.name for p in secrets} == {"acme", "globex"}
    for secret in secrets:  # referenced by path, never inline
        assert secret.read_text().strip() not in config
        assert f'"secrets/{secret.parent.name}/{secret.name}"' in config
        assert secret.stat().st_mode & 0o077 == 0

    billing = subprocess.run(
        [sys.executable, "-m", "connector", "--config", str(folder / "connector.toml"),
         "billing", "--all-orgs", "--json"],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    per_org = {o["org_id"]: o["billing"]["billable"] for o in json.loads(billing.stdout)["organizations"]}
    assert set(per_org) == {"acme", "globex"} and all(n > 0 for n in per_org.values())
    email = shared.group(1)
    for org in ("acme", "globex"):  # one account in each organization
        exported = subprocess.run(
            [sys.executable, "-m", "connector", "--config", str(folder / "connector.toml"), "--org", org,
             "accounts", "export"],
            capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
        rows = list(csv.DictReader(exported.stdout.splitlines()))
        assert [r["email"].lower() for r in rows].count(email.lower()) == 1, org

    second = demo(folder)
    assert "Second run over the same store" in second
    assert second.count(": no changes") == 3
    assert "Done: nothing changed." in second
