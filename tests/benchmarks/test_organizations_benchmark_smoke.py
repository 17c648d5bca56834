"""benchmarks/organizations.py at a tiny size: it runs, and its figures add up.

No timing is asserted: each organization's first sync creates its accounts, the second changes
nothing, and the store holds one copy of the directory per organization.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e


def test_three_organizations_of_forty_users(tmp_path: Path) -> None:
    out = tmp_path / "organizations.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "organizations.py"), "--orgs", "3", "--users", "40",
         "--groups", "4", "--store", "sqlite", "--json", str(out)],
        capture_output=True, text=True, timeout=300, check=False, cwd=ROOT / "benchmarks",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(out.read_text())
    assert result["first"]["changes"] > 0 and result["again"]["changes"] == 0
    rows = result["size"]["rows"]
    assert rows["organizations"] == 3
    assert rows["idp_users"] == 3 * 40  # one mirror per organization
    assert rows["accounts"] % 3 == 0 and rows["accounts"] == rows["links"]
    assert result["size"]["bytes"] > 0
    assert "first: 3 organizations x 40 users" in done.stdout
