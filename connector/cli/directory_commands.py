"""The commands that read directories: ``check``, ``review``, ``plan``, ``apply``, ``sync``."""

from __future__ import annotations

import shlex
from collections.abc import Collection
from pathlib import Path
from typing import Any

import click

from connector.api.reports import error_dict
from connector.cli.common import AppContext
from connector.cli.common import directory_option
from connector.cli.common import exit_with
from connector.cli.common import json_option
from connector.cli.common import pass_app
from connector.cli.common import usage_error
from connector.cli.output import emit_json
from connector.cli.output import log
from connector.cli.output import progress_reporter
from connector.cli.render import applied_line
from connector.cli.render import as_dict
from connector.cli.render import print_check
from connector.cli.render import print_plan
from connector.cli.render import print_review
from connector.cli.render import print_sync
from connector.cli.render import sync_exit_codes
from connector.errors import ConnectorError
from connector.errors import GuardTrippedError
from connector.errors import UnexpectedError
from connector.errors import worst_exit_code
from connector.rules.plan import Plan


def _run(
    app: AppContext, directory_id: str | None, work: Any, *, skip: Collection[str] = ()
) -> tuple[list[Any], list[ConnectorError]]:
    """Run ``work(connector, id)`` for each selected directory; keep going past a failing one.

    Returns the results (a failed directory's as ``{"directory_id", "error"}``) and the errors.
    A failure that is no :class:`ConnectorError` (an answer no check foresaw) fails its directory
    as an :class:`UnexpectedError`, its traceback in the debug log, and the next directory runs.
    """
    connector = app.connector(only=directory_id)
    results: list[Any] = []
    errors: list[ConnectorError] = []
    for current in connector.directory_ids(directory_id):
        if current in skip:
            continue
        try:
            results.append(work(connector, current))
            continue
        except ConnectorError as exc:
            failure = exc
        except Exception as exc:  # noqa: BLE001 (one directory's failure must not stop the next)
            log.debug("directory %s failed unexpectedly", current, exc_info=True)
            failure = UnexpectedError(f"unexpected {type(exc).__name__}: {str(exc)[:500]}")
            failure.__cause__ = exc
        if directory_id is not None:
            raise failure
        message = app.describe(failure)
        log.error("%s: %s", current, message)
        results.append({"directory_id": current, "error": error_dict(failure, message)})
        errors.append(failure)
    return results, errors


def _exit(errors: list[ConnectorError], *codes: int) -> None:
    """Leave with the most serious exit code among the directories' (docs/cli.md); 0 goes on."""
    code = worst_exit_code([*(e.exit_code for e in errors), *codes])
    if code:
        exit_with(code)


@click.command()
@directory_option
@json_option
@pass_app
def check(app: AppContext, directory_id: str | None, as_json: bool) -> None:
    """Reach each directory, get a token and confirm the scopes the reads need."""
    reports = app.connector(only=directory_id).check(directory_id)
    if as_json:
        emit_json({"version": 1, "directories": [r.to_dict() for r in reports]})
    else:
        print_check(reports)
    failed = [r for r in reports if not r.ok]
    if failed:
        error = failed[0].error
        exit_with(error.exit_code if error is not None else 3)


@click.command()
@directory_option
@click.option("--all", "include_internal", is_flag=True, help="Internal users too, not only external ones.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="The CSV to write.")
@json_option
@pass_app
def review(
    app: AppContext, directory_id: str | None, include_internal: bool, out: str, as_json: bool
) -> None:
    """Write the review CSV: the external users the next sync would touch, and what it would do.

    With several directories, each gets its own file: OUT with -<directory id> before the suffix.
    """
    ids = app.connector(only=directory_id).directory_ids(directory_id)
    target = Path(out)

    def path_for(current: str) -> Path:
        return target if len(ids) == 1 else target.with_name(f"{target.stem}-{current}{target.suffix}")

    with progress_reporter() as progress:
        app.connector(only=directory_id).progress = progress
        results, errors = _run(
            app, directory_id, lambda c, d: c.review(d, path_for(d), include_internal=include_internal)
        )
    if as_json:
        emit_json({"version": 1, "directories": [as_dict(r) for r in results]})
    else:
        print_review(results)
    _exit(errors)


@click.command()
@directory_option
@click.option("--out", type=click.Path(dir_okay=False), help="Save the plan as JSON, for `apply`.")
@click.option("--full", is_flag=True, default=None, help="Read the whole directory, not only changes.")
@click.option("--force", is_flag=True, help="Save a plan the guard stopped (with --out).")
@json_option
@pass_app
def plan(
    app: AppContext, directory_id: str | None, out: str | None, full: bool | None, force: bool, as_json: bool
) -> None:
    """Read the directory and show what a sync would change; nothing is applied."""
    connector = app.connector(only=directory_id)
    if out and directory_id is None and len(connector.directory_ids()) > 1:
        raise usage_error("--out saves one directory's plan; add --directory ID")
    with progress_reporter() as progress:
        connector.progress = progress
        results, errors = _run(app, directory_id, lambda c, d: c.plan(d, force=force, full=full))
    if as_json:
        emit_json({"version": 1, "directories": [as_dict(r) for r in results]})
    else:
        print_plan(results)
    _exit(errors)
    if out:
        report = results[0]
        if report.guard is not None and getattr(report.guard, "tripped", False) and not force:
            raise GuardTrippedError(
                f"not saving the plan: the guard stopped it ({report.guard.message}); "
                "check the numbers, then add --force to save it anyway",
                rule=report.guard.rule,
            )
        try:
            Path(out).write_text(report.plan.to_json() + "\n", encoding="utf-8")
        except OSError as exc:
            raise usage_error(
                f"{out}: cannot write the plan ({exc.strerror}); choose another --out"
            ) from None
        if not as_json:
            org = ["--org", app.org] if app.org else []
            command = shlex.join(["idp-connector", "--config", app.config_path, *org, "apply", out])
            click.echo(f"plan saved to {out}; apply it with: {command}")


WAIT_HELP = "If another run holds the directory, wait for it instead of exiting 7."


@click.command()
@click.argument("plan_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--wait", is_flag=True, help=WAIT_HELP)
@json_option
@pass_app
def apply(app: AppContext, plan_file: str, wait: bool, as_json: bool) -> None:
    """Apply exactly the saved plan; refuse (exit 9) if the store changed since it was made."""
    try:
        saved = Plan.from_json(Path(plan_file).read_text(encoding="utf-8"))
    except (ValueError, KeyError, TypeError) as exc:
        raise usage_error(
            f"{plan_file}: not a plan file ({exc}); make one with `idp-connector plan --out`"
        ) from exc
    connector = app.connector(only=saved.directory_id)
    with progress_reporter() as progress:
        connector.progress = progress
        result = connector.apply(saved, wait=wait)
    if as_json:
        emit_json({"version": 1, "directory_id": saved.directory_id, "result": as_dict(result)})
    else:
        click.echo(f"applied {applied_line(as_dict(result))} to {saved.directory_id}")


@click.command()
@directory_option
@click.option("--dry-run", is_flag=True, help="Plan and report, apply nothing.")
@click.option("--force", is_flag=True, help="Apply a plan the guard would stop.")
@click.option("--full", is_flag=True, default=None, help="Read the whole directory, not only changes.")
@click.option(
    "--whole",
    is_flag=True,
    help="Plan every identity against the store, not only those that changed since the last run.",
)
@click.option("--strict", is_flag=True, help="Exit 8 while any conflict is open (see `conflicts`).")
@click.option("--wait", is_flag=True, help=WAIT_HELP)
@json_option
@pass_app
def sync(
    app: AppContext,
    directory_id: str | None,
    dry_run: bool,
    force: bool,
    full: bool | None,
    whole: bool,
    strict: bool,
    wait: bool,
    as_json: bool,
) -> None:
    """Read, plan, guard and apply: bring the store in step with each directory."""
    connector = app.connector(only=directory_id)
    disabled = [d for d in connector.directory_ids(directory_id) if d in connector.disabled]
    for current in disabled:
        log.warning(
            "%s: disabled (`idp-connector directories enable %s` turns it on): skipped", current, current
        )
    with progress_reporter() as progress:
        connector.progress = progress
        results, errors = _run(
            app,
            directory_id,
            lambda c, d: c.sync(d, dry_run=dry_run, force=force, full=full, wait=wait, whole=whole),
            skip=disabled,
        )
    if as_json:
        document = {"version": 1, "dry_run": dry_run, "directories": [as_dict(r) for r in results]}
        emit_json({**document, "disabled": disabled} if disabled else document)
    else:
        print_sync(results)
    open_conflicts = None
    if strict:  # what the store holds open, not only what this run saw (a scoped run sees its scope)
        open_conflicts = {d: len(connector.conflicts(d)) for d in connector.directory_ids(directory_id)}
    _exit(errors, *sync_exit_codes(results, open_conflicts=open_conflicts))
