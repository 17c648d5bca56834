"""Several directories in one command: a failing one never stops the next; the exit code is the worst.

Two in-process adapters come through the ``connector.providers`` entry points, as a third
party's would: one whose read blows up with an error no check foresaw, one that works.
"""

from __future__ import annotations

import json
import shlex
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
from builders import user
from click.testing import CliRunner
from fakes import FakeProvider

from connector.cli.main import cli
from connector.providers import registry


class ExplodingProvider(FakeProvider):
    """Its user listing fails as an unforeseen answer would (deeply nested JSON, say)."""

    name = "exploding"

    def iter_users(self):  # type: ignore[no-untyped-def]
        raise RecursionError("maximum recursion depth exceeded while decoding a JSON object")
        yield  # pragma: no cover


class WorkingProvider(FakeProvider):
    name = "working"

    def __init__(self, directory_id: str = "fake-dir", **kwargs: object) -> None:
        super().__init__(directory_id, **kwargs)  # type: ignore[arg-type]
        for n in range(3):
            self.put_user(user(n))


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    points = [
        EntryPoint(cls.name, f"{__name__}:{cls.__name__}", registry.ENTRY_POINT_GROUP)
        for cls in (ExplodingProvider, WorkingProvider)
    ]
    monkeypatch.setattr(registry, "entry_points", lambda group: [p for p in points if p.group == group])
    monkeypatch.setenv("MANY_DIRECTORIES_TOKEN", "not-a-real-token")
    path = tmp_path / "connector.toml"
    path.write_text(
        """
[organization]
verified_domains = ["example.com"]

[[directories]]
id = "first"
provider = "exploding"
base_url = "https://first.test"
auth = { method = "bearer", token_env = "MANY_DIRECTORIES_TOKEN" }

[[directories]]
id = "second"
provider = "working"
domains = ["example.com"]
base_url = "https://second.test"
auth = { method = "bearer", token_env = "MANY_DIRECTORIES_TOKEN" }
"""
    )
    return path


def test_an_unexpected_failure_fails_its_directory_and_the_next_one_runs(config: Path) -> None:
    result = CliRunner().invoke(cli, ["--config", str(config), "sync", "--json"])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    reports = json.loads(result.stdout)["directories"]
    assert reports[0]["directory_id"] == "first"
    assert reports[0]["error"]["type"] == "UnexpectedError"
    assert "RecursionError" in reports[0]["error"]["message"]
    assert reports[1]["directory_id"] == "second" and reports[1]["counts"]["create_account"] == 3
    assert "first: unexpected RecursionError" in result.stderr


def test_one_directory_named_alone_fails_with_a_message_not_a_traceback(config: Path) -> None:
    result = CliRunner().invoke(cli, ["--config", str(config), "sync", "-d", "first"])
    assert result.exit_code == 1
    assert "error: unexpected RecursionError" in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


# ---------------------------------------------------------------------- what a new user trips over


def _invoke(config: Path, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["--config", str(config), *args])


def test_quiet_leaves_only_warnings_and_errors_on_stderr(config: Path) -> None:
    loud = _invoke(config, "sync", "-d", "second")
    assert loud.exit_code == 0 and "INFO" in loud.stderr
    quiet = _invoke(config, "-q", "sync", "-d", "first")
    assert quiet.exit_code == 1 and "INFO" not in quiet.stderr and "unexpected RecursionError" in quiet.stderr
    assert _invoke(config, "-q", "-v", "runs").exit_code == 2


def test_version_is_printed() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and result.stdout.startswith("idp-connector, version ")


def test_the_hint_after_plan_out_is_a_command_that_works(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    planned = _invoke(config, "plan", "-d", "second", "--out", str(out))
    assert planned.exit_code == 0, planned.output
    command = shlex.split(planned.stdout.strip().splitlines()[-1].split("apply it with: ", 1)[1])
    assert command[:3] == ["idp-connector", "--config", str(config)]
    applied = CliRunner().invoke(cli, command[1:])
    assert applied.exit_code == 0, applied.output


def test_runs_json_has_utc_times_and_no_empty_detail(config: Path) -> None:
    assert _invoke(config, "sync", "-d", "second").exit_code == 0
    [run] = json.loads(_invoke(config, "runs", "--json").stdout)["runs"]
    assert run["started_at"].endswith("Z") and run["finished_at"].endswith("Z")
    assert run["outcome"] == "applied" and run["detail"] == ""


def test_no_help_text_shows_markup(config: Path) -> None:
    from connector.cli.main import cli as group

    def commands(command, path):  # type: ignore[no-untyped-def]
        yield path
        for name, sub in getattr(command, "commands", {}).items():
            yield from commands(sub, [*path, name])

    for path in commands(group, []):
        shown = CliRunner().invoke(cli, [*path, "--help"]).stdout
        assert "``" not in shown and ":mod:" not in shown, (path, shown)


def test_a_command_for_one_directory_reads_that_directorys_secrets_alone(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config.write_text(
        config.read_text().replace(
            'token_env = "MANY_DIRECTORIES_TOKEN" }', 'token_env = "NOT_SET_HERE" }', 1
        )
    )
    monkeypatch.delenv("NOT_SET_HERE", raising=False)
    alone = _invoke(config, "check", "-d", "second")
    assert alone.exit_code == 0, alone.output
    everyone = _invoke(config, "check")
    assert everyone.exit_code == 2 and "NOT_SET_HERE" in everyone.stderr


def test_apply_counts_changes_as_plan_does(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    planned = _invoke(config, "plan", "-d", "second", "--out", str(out))
    assert "create_account 3" in planned.stdout
    applied = _invoke(config, "apply", str(out))
    assert applied.exit_code == 0, applied.output
    assert (
        "applied 3 change(s) (and " in applied.stdout and "bookkeeping record(s)) to second" in applied.stdout
    )


def test_progress_lines_name_their_directory_and_say_when_each_phase_is_done(config: Path) -> None:
    result = _invoke(config, "sync")
    lines = [line.split(" INFO ", 1)[1] for line in result.stderr.splitlines() if " INFO " in line]
    for phase in ("read users", "plan"):
        assert f"connector: second: {phase}: started" in lines, lines
        assert any(
            line.startswith(f"connector: second: {phase}: ") and line.endswith(" done") for line in lines
        )
    assert not any(line.startswith(("connector: read users", "connector: plan")) for line in lines)
