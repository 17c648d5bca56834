"""The sync task's outcomes, run in this process (no broker): every way a task ends well."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import fleet
from connector.store import Store
from connector.store.lock import ORGANIZATION_LOCK
from connector.workers.settings import WorkerSettings
from connector.workers.tasks import run_task

UNREACHABLE = "http://127.0.0.1:9"


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> WorkerSettings:
    url = f"sqlite:///{tmp_path}/store.sqlite"
    fleet.populate(url, UNREACHABLE, 1, 2)
    monkeypatch.setenv(fleet.TOKEN_ENV, "not-a-real-token")
    config = fleet.write_config(tmp_path / "connector.toml", url, UNREACHABLE)
    return WorkerSettings(config_path=str(config), broker_url="memory://")


def test_a_refused_token_is_a_failed_run_said_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mock = fleet.Mock(5, 1)
    try:
        url = f"sqlite:///{tmp_path}/refused.sqlite"
        fleet.populate(url, mock.url, 1, 1)
        monkeypatch.setenv(fleet.TOKEN_ENV, "not-a-real-token")
        config = fleet.write_config(tmp_path / "refused.toml", url, mock.url)
        summary = run_task(
            WorkerSettings(config_path=str(config), broker_url="memory://"), "org-000", "org-000-okta-000"
        )
    finally:
        mock.stop()
    assert summary["outcome"] == "failed"
    assert "401" in summary["error"] and "not-a-real-token" not in summary["error"]
    with Store.open(url, org="org-000", register=False) as store:
        assert [r.outcome for r in store.runs("org-000-okta-000")] == ["failed"]


def test_a_disabled_or_unknown_directory_ends_without_a_run(settings: WorkerSettings) -> None:
    with Store.open(f"sqlite:///{Path(settings.config_path).parent}/store.sqlite", org="org-000") as store:
        store.set_directory_disabled("org-000", "org-000-okta-001", True)
    assert run_task(settings, "org-000", "org-000-okta-001")["outcome"] == "disabled"
    assert run_task(settings, "org-000", "no-such-directory")["outcome"] == "gone"


@pytest.mark.parametrize(("held", "outcome"), [("org-000-okta-000", "busy"), (ORGANIZATION_LOCK, "org_busy")])
def test_a_held_directory_or_organization(settings: WorkerSettings, held: str, outcome: str) -> None:
    with Store.open(f"sqlite:///{Path(settings.config_path).parent}/store.sqlite", org="org-000") as store:
        with store.run_lock(held):
            assert run_task(settings, "org-000", "org-000-okta-000")["outcome"] == outcome
