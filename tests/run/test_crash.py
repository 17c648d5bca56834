"""A sync killed mid-apply (a real process, SIGKILL) loses nothing, and the rerun converges.

Each case builds two stores (SQLite files, or PostgreSQL schemas): one synced cleanly, one whose run was
killed and then run again.  The two must hold the same directory, compared
by IdP ids (account and group ids are random per run), the same bookkeeping,
and an audit log with every change exactly once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from connector.store import Store

WORKER = Path(__file__).with_name("crash_worker.py")
TESTS = WORKER.parents[1]  # where the worker finds the fake provider (tests/fakes.py)
DIRECTORY = "crash-dir"

pytestmark = pytest.mark.slow


def worker_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment, ``env`` added, with the tests' folder on the worker's import path."""
    path = os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, **(env or {})}


def run(
    url: str, phase: int, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(WORKER), url, str(phase), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=worker_env(env),
    )


def synced(url: str, phase: int) -> dict[str, object]:
    done = run(url, phase)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def killed_while_paused(url: str, phase: int, pause_after: int) -> None:
    """Start the run, wait until ``pause_after`` batches are committed, SIGKILL it."""
    child = subprocess.Popen(
        [sys.executable, str(WORKER), url, str(phase), str(pause_after)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=worker_env(),
    )
    assert child.stdout is not None
    try:
        lines = []
        for line in child.stdout:
            lines.append(line.strip())
            if line.strip() == "paused":
                break
        assert lines[-1:] == ["paused"], (lines, child.stderr.read() if child.stderr else "")
        child.send_signal(signal.SIGKILL)
        assert child.wait(30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(30)
        child.stdout.close()
        if child.stderr is not None:
            child.stderr.close()


def canonical(url: str) -> dict[str, object]:
    """The store in IdP terms: what a clean run and a crashed-and-rerun one must share."""
    with Store.open(url, upgrade=False) as store:
        accounts = {a.account_id: a for a in store.accounts()}
        links = {k.account_id: k.idp_user_id for k in store.links(DIRECTORY)}
        groups = {g.group_id: g for g in store.groups()}
        state = store.directory_state(DIRECTORY)
        audit = store.audit()
        with store.transaction(write=False) as conn:
            mirror = Counter(
                table
                for table in ("idp_users", "idp_groups", "idp_members")
                for _ in conn.exec_driver_sql(f"SELECT * FROM {table}")  # noqa: S608
            )
        return {
            "accounts": len(accounts),
            "links": len(links),
            "by_identity": {
                links[a.account_id]: (
                    a.email,
                    a.display_name,
                    a.given_name,
                    a.family_name,
                    a.status,
                    a.origin,
                )
                for a in accounts.values()
            },
            "groups": sorted((g.idp_group_id, g.name, g.directory_id) for g in groups.values()),
            "memberships": sorted(
                (groups[m.group_id].idp_group_id, links[m.account_id], m.source) for m in store.memberships()
            ),
            "cursor": state and (state.cursor, state.synced_before, state.last_good_user_count),
            "missing": sorted((k.idp_user_id, k.missing_count, k.idp_active) for k in store.links(DIRECTORY)),
            "mirror": dict(mirror),
            "audit": Counter((a.action, a.outcome) for a in audit),
            "billing": store.billing().to_dict(),
        }


@pytest.fixture
def urls(tmp_path: Path) -> tuple[str, str]:
    """Two empty SQLite stores: one for the clean run, one for the killed run and its rerun."""
    return f"sqlite:///{tmp_path}/clean.sqlite", f"sqlite:///{tmp_path}/crashed.sqlite"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def both_urls(request: pytest.FixtureRequest, urls: tuple[str, str]) -> tuple[str, str]:
    """The same two stores on each backend (PostgreSQL: two fresh schemas)."""
    if request.param == "sqlite":
        return urls
    make = request.getfixturevalue("pg_urls")
    return make(), make()


def test_first_sync_killed_between_batches(urls: tuple[str, str]) -> None:
    clean, crashed = urls
    synced(clean, 1)
    killed_while_paused(crashed, 1, 5)  # accounts all made, memberships half done
    partial = canonical(crashed)
    assert partial["cursor"] == (None, False, None) and partial["accounts"] > 0
    assert partial != canonical(clean)
    rerun = synced(crashed, 1)
    assert rerun["outcome"] == "applied"
    assert canonical(crashed) == canonical(clean)
    again = synced(crashed, 1)
    assert not any(again["counts"].values())  # type: ignore[union-attr]


def test_incremental_sync_killed_between_batches_reruns_from_the_old_cursor(
    both_urls: tuple[str, str],
) -> None:
    clean, crashed = both_urls
    for url in both_urls:
        synced(url, 1)
    synced(clean, 2)
    before = canonical(crashed)["cursor"]
    killed_while_paused(crashed, 2, 2)
    assert canonical(crashed)["cursor"] == before  # the cursor moves only with the last batch
    rerun = synced(crashed, 2)
    assert rerun["full_read"] is False and rerun["outcome"] == "applied"
    assert canonical(crashed) == canonical(clean)
    assert not any(synced(crashed, 2)["counts"].values())  # type: ignore[union-attr]


def test_killed_anywhere_in_apply_the_rerun_converges(urls: tuple[str, str]) -> None:
    clean, crashed = urls
    synced(clean, 1)
    first = run(crashed, 1, env={"KILL_SELF_AFTER": "0.002"})  # mid-transaction, most likely
    assert first.returncode in (0, -signal.SIGKILL), first.stderr
    if first.returncode == 0:  # apply outran the kill: the store is the clean one already
        assert canonical(crashed) == canonical(clean)
        return
    synced(crashed, 1)
    assert canonical(crashed) == canonical(clean)
