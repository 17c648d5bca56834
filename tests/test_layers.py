"""The package layers hold: ``lint-imports`` checks the contracts in ``.importlinter``.

docs/architecture.md draws the layers; a wrong import (SQL outside the store, the store
importing the run, rich in the Python API, the mock IdP outside the demo) fails here.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHECK = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True))"


def test_every_import_contract_is_kept() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHECK], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_sqlalchemy_is_imported_only_by_the_store() -> None:
    """The contract's claim, checked again by reading the sources as text."""
    outside = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "connector").rglob("*.py")
        if "sqlalchemy" in path.read_text(encoding="utf-8")
        and (ROOT / "connector" / "store") not in path.parents
    ]
    assert outside == []
