"""What the CLI prints for reports, and how it shows progress without a terminal."""

from __future__ import annotations

import json
import logging

from connector.cli.output import emit_json
from connector.cli.output import progress_reporter
from connector.cli.render import print_plan
from connector.cli.render import print_sync
from connector.cli.render import sync_exit_codes
from connector.errors import worst_exit_code

GUARD_OK = {"tripped": False, "rule": None, "message": "guard passed", "numbers": {}, "forced": False}
CONFLICT = {
    "directory_id": "d",
    "idp_user_id": "u1",
    "email": "a@example.com",
    "reason": "2 IdP users share it",
}


def sync_report(**changes: object) -> dict:
    report = {
        "directory_id": "okta",
        "full_read": True,
        "dry_run": False,
        "applied": True,
        "counts": {"create_account": 3, "link": 1, "deactivate": 0},
        "conflicts": [CONFLICT, {**CONFLICT, "idp_user_id": "u2"}],
        "skipped": [["u3", "inactive"]],
        "guard": GUARD_OK,
        "billing_before": {"billable": 1, "per_product": {"confluence": 1}},
        "billing_after": {"billable": 4, "per_product": {"confluence": 4}},
        "requests": 12,
        "seconds": 0.5,
    }
    report.update(changes)
    return report


def test_sync_lines(capsys):
    print_sync([sync_report()])
    out = capsys.readouterr().out
    assert "okta (full read, applied): create_account 3, link 1" in out
    assert "deactivate" not in out
    assert "billable 1 -> 4 (confluence 4)" in out
    assert "conflicts (2 identities)" in out
    assert out.count("a@example.com: 2 IdP users share it") == 1
    assert "skipped 1 identities" in out


def test_sync_shows_a_tripped_guard_and_failed_directories(capsys):
    guard = {**GUARD_OK, "tripped": True, "rule": "mass_deactivation", "message": "6 of 14"}
    print_sync([sync_report(guard=guard, applied=False), {"directory_id": "entra", "error": {
        "type": "AuthError", "message": "token refused", "exit_code": 3}}])  # fmt: skip
    out = capsys.readouterr().out
    assert "GUARD TRIPPED (mass_deactivation): 6 of 14" in out
    assert "NOT applied" in out
    assert "entra: FAILED (AuthError, exit 3): token refused" in out


def test_a_tripped_guard_is_named_once(capsys):
    message = (
        "guard tripped (mass_deactivation): the plan would deactivate 14 of 40 linked accounts (35.0%). "
        "Nothing was applied. If this is intended, run again with --force."
    )
    guard = {**GUARD_OK, "tripped": True, "rule": "mass_deactivation", "message": message}
    print_sync([sync_report(guard=guard, applied=False)])
    out = " ".join(capsys.readouterr().out.split())
    assert "GUARD TRIPPED (mass_deactivation): the plan would deactivate 14 of 40" in out
    assert out.count("guard tripped") == 0 and out.count("--force") == 1


def test_sync_exit_codes_count_only_a_guard_that_stopped_the_plan():
    tripped = {**GUARD_OK, "tripped": True}
    assert sync_exit_codes([sync_report(guard=tripped, applied=False)], open_conflicts={}) == [5]
    assert sync_exit_codes([sync_report(guard=tripped, applied=True, conflicts=[])], open_conflicts={}) == [0]


def test_sync_exit_codes_per_directory():
    reports = [
        sync_report(),  # two conflicts
        sync_report(outcome="applied_with_failures", conflicts=[]),
        sync_report(conflicts=[]),
        {"directory_id": "broken", "error": {"type": "AuthError", "message": "no", "exit_code": 3}},
    ]
    assert sync_exit_codes(reports) == [0, 6, 0]
    assert sync_exit_codes(reports, open_conflicts={}) == [8, 6, 0]
    # with --strict a conflict the store holds open counts, though this run did not see it
    assert sync_exit_codes(reports, open_conflicts={"okta": 1}) == [8, 6, 8]


def test_the_worst_exit_code_wins():
    assert worst_exit_code([]) == 0 and worst_exit_code([0, 0]) == 0
    assert worst_exit_code([8, 5, 0]) == 5
    assert worst_exit_code([5, 6, 8]) == 6
    assert worst_exit_code([4, 3, 7]) == 3
    assert worst_exit_code([9, 1, 6]) == 1


def test_plan_table_lists_changes_with_reasons(capsys):
    plan = {
        "directory_id": "scim",
        "full_read": False,
        "users_read": 5,
        "counts": {"create_account": 1},
        "changes": [
            {"action": "create_account", "email": "new@example.com", "reason": "new active identity"}
        ],
        "guard": GUARD_OK,
    }
    print_plan([plan])
    out = capsys.readouterr().out
    assert "scim (changes only, 5 users): create_account 1" in out
    assert "new@example.com" in out and "new active identity" in out
    assert "guard: passed" in out  # the verdict is always shown, not only when it trips


def test_json_is_sorted_and_dates_are_iso(capsys):
    from datetime import datetime
    from datetime import timezone

    naive = datetime(2026, 1, 2, 3, 4, 5)  # as SQLite gives a stored UTC time back
    emit_json(
        {"b": 1, "a": datetime(2026, 1, 2, tzinfo=timezone.utc), "c": frozenset({"y", "x"}), "d": naive}
    )
    out = capsys.readouterr().out
    assert out.index('"a"') < out.index('"b"')
    assert json.loads(out) == {
        "a": "2026-01-02T00:00:00Z",
        "b": 1,
        "c": ["x", "y"],
        "d": "2026-01-02T03:04:05Z",
    }


def test_progress_without_a_terminal_logs_each_stage_once(caplog):
    with caplog.at_level(logging.INFO, logger="connector"), progress_reporter(interactive=False) as progress:
        for done in range(0, 101, 10):
            progress("read users", done, 100)
        progress("plan", 0, None)
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ["read users: started", "read users: 100/100 done", "plan: started"]


def test_progress_on_a_terminal_draws_bars(capsys, caplog):
    with caplog.at_level(logging.INFO, logger="connector"), progress_reporter(interactive=True) as progress:
        progress("read users", 50, 100)
        progress("read users", 100, 100)
    assert "read users" in capsys.readouterr().err
    assert caplog.records == []
