"""Human-readable output of the CLI: one function per report, over the reports' ``to_dict()``."""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping
from typing import Any

import click
from rich.markup import escape

from connector.cli.output import console
from connector.cli.output import print_table
from connector.errors import ConflictsFoundError
from connector.errors import GuardTrippedError
from connector.errors import StoreError
from connector.rules.plan import BOOKKEEPING

_BOOKKEEPING = frozenset(a.value for a in BOOKKEEPING)
MAX_LISTED = 20  # conflicts / skipped users shown per directory; --json has them all


def as_dict(result: Any) -> dict[str, Any]:
    """A report as plain data (reports have ``to_dict``; failed directories are dicts already)."""
    return result.to_dict() if hasattr(result, "to_dict") else dict(result)


def _failed(data: Mapping[str, Any]) -> bool:
    error = data.get("error")
    if error:
        where = data.get("directory_id")
        click.echo(f"{where}: FAILED ({error['type']}, exit {error['exit_code']}): {error['message']}")
    return bool(error)


def print_check(reports: Iterable[Any]) -> None:
    rows = []
    for report in reports:
        data = as_dict(report)
        state = "ok" if data["ok"] else "FAILED"
        scopes = " ".join(data["granted_scopes"])
        if data["missing_scopes"]:
            scopes += "  missing: " + " ".join(data["missing_scopes"])
        rows.append((data["directory_id"], data["provider"], state, scopes, data["detail"]))
    print_table(None, ("directory", "provider", "check", "scopes", "detail"), rows)


def print_review(results: Iterable[Any]) -> None:
    for result in results:
        data = as_dict(result)
        if _failed(data):
            continue
        actions = ", ".join(f"{k} {v}" for k, v in sorted(data["actions"].items())) or "nothing"
        click.echo(f"{data['directory_id']}: {data['rows']} rows ({actions}) written to {data['path']}")
        for name in data["mixed_groups"]:
            click.echo(f"  group {name!r} mixes internal and external users; consider splitting it")


def _counts_line(counts: Mapping[str, int]) -> str:
    shown = [
        f"{action} {n}" for action, n in counts.items() if n and action not in ("set_cursor", "mark_missing")
    ]
    return ", ".join(shown) or "no changes"


def _guard_line(guard: Mapping[str, Any] | None) -> str | None:
    if not guard:
        return None
    if guard.get("tripped"):
        rule, message = guard.get("rule"), str(guard.get("message"))
        message = message.removeprefix(f"guard tripped ({rule}): ")  # the guard's message says it too
        if "--force" not in message:
            message += " (check the numbers; --force applies it)"
        return f"GUARD TRIPPED ({rule}): {message}"
    return None


def applied_line(result: Mapping[str, Any]) -> str:
    """What an apply did, in the words every output uses: changes are product changes; the
    bookkeeping (missing counts, the mirror, the cursor) is counted apart."""
    applied = result.get("applied") or {}
    product = sum(n for action, n in applied.items() if action not in _BOOKKEEPING)
    bookkeeping = sum(n for action, n in applied.items() if action in _BOOKKEEPING)
    parts = [f"{product} change(s)"]
    if result.get("unchanged"):
        parts.append(f"{sum(result['unchanged'].values())} already so")
    if result.get("failed"):
        parts.append(f"{len(result['failed'])} failed")
    return ", ".join(parts) + f" (and {bookkeeping} bookkeeping record(s))"


def _guard_passed(guard: Mapping[str, Any] | None) -> str:
    if guard and guard.get("forced"):
        return f"guard: passed with --force ({guard.get('message')})"
    return "guard: passed"


def _list_problems(data: Mapping[str, Any]) -> None:
    conflicts = data.get("conflicts") or []
    if conflicts:
        click.echo(f"  conflicts ({len(conflicts)} identities): nothing linked or created for these")
        reasons = dict.fromkeys((c.get("email"), c.get("reason")) for c in conflicts)
        for email, reason in list(reasons)[:MAX_LISTED]:
            click.echo(f"    {email}: {reason}")
        if len(reasons) > MAX_LISTED:
            click.echo(f"    ... and {len(reasons) - MAX_LISTED} more (see --json)")
    problems = data.get("read_problems") or []
    if problems:
        click.echo(f"  read problems ({len(problems)}): skipped or left as they were")
        for problem in problems[:MAX_LISTED]:
            click.echo(f"    {problem.get('reason')}")
        if len(problems) > MAX_LISTED:
            click.echo(f"    ... and {len(problems) - MAX_LISTED} more (see --json)")
    skipped = data.get("skipped") or []
    if skipped:
        click.echo(f"  skipped {len(skipped)} identities (inactive and not linked, or out of scope)")


def print_plan(results: Iterable[Any]) -> None:
    for result in results:
        data = as_dict(result)
        if _failed(data):
            continue
        read = "full read" if data.get("full_read") else "changes only"
        users = data.get("users_read", 0)
        click.echo(f"{data['directory_id']} ({read}, {users} users): {_counts_line(data['counts'])}")
        guard = _guard_line(data.get("guard"))
        click.echo(f"  {guard or _guard_passed(data.get('guard'))}")  # the verdict, whichever it is
        changes = [c for c in data.get("changes", []) if c["action"] not in _BOOKKEEPING]
        if changes:
            rows = [(c["action"], _subject(c), c.get("reason", "")) for c in changes[:200]]
            print_table(None, ("action", "subject", "reason"), rows)
            if len(changes) > 200:
                click.echo(f"  ... and {len(changes) - 200} more (see --json or --out)")
        _list_problems(data)


def _subject(change: Mapping[str, Any]) -> str:
    for key in ("email", "name", "account_id", "idp_user_id", "group_id"):
        if change.get(key):
            extra = f" -> {change['group_id']}" if key == "account_id" and change.get("group_id") else ""
            return f"{change[key]}{extra}"
    return ""


def _billing_line(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> str | None:
    if not before and not after:
        return None
    b = (before or {}).get("billable", "?")
    a = (after or {}).get("billable", b)
    products = (after or before or {}).get("per_product") or {}
    per = ", ".join(f"{p} {n}" for p, n in sorted(products.items()))
    return f"billable {b} -> {a}" + (f" ({per})" if per else "")


def print_sync(results: Iterable[Any]) -> None:
    out = console()
    for result in results:
        data = as_dict(result)
        if _failed(data):
            continue
        read = "full read" if data.get("full_read") else "changes only"
        applied = "applied" if data.get("applied") else "NOT applied"
        if data.get("dry_run"):
            applied = "dry run, nothing applied"
        out.print(
            f"[bold]{data['directory_id']}[/bold] ({read}, {applied}): {_counts_line(data.get('counts', {}))}"
        )
        guard = _guard_line(data.get("guard"))
        if guard:
            out.print(f"  [red]{escape(guard)}[/red]")
        billing = _billing_line(data.get("billing_before"), data.get("billing_after"))
        if billing:
            click.echo(f"  {billing}")
        extras = [
            f"{data[k]} {label}"
            for k, label in (("requests", "requests"), ("seconds", "s"))
            if data.get(k) is not None
        ]
        if extras:
            click.echo("  " + ", ".join(str(e) for e in extras))
        _list_problems(data)


def sync_exit_codes(results: Iterable[Any], *, open_conflicts: Mapping[str, int] | None = None) -> list[int]:
    """Each sync report's exit code (docs/cli.md): 5 when the guard stopped its plan, 6 when the
    store refused some of its changes, 8 (``--strict``: ``open_conflicts`` counts each
    directory's open conflicts) while its directory has open conflicts; else 0.  A failed
    directory's code comes with its error."""
    codes = []
    for result in results:
        data = as_dict(result)
        if data.get("error"):
            continue
        if (data.get("guard") or {}).get("tripped") and not data.get("applied"):
            codes.append(GuardTrippedError.exit_code)
        elif data.get("outcome") == "applied_with_failures":
            codes.append(StoreError.exit_code)
        elif open_conflicts is not None and (
            open_conflicts.get(data["directory_id"]) or data.get("conflicts")
        ):
            codes.append(ConflictsFoundError.exit_code)
        else:
            codes.append(0)
    return codes
