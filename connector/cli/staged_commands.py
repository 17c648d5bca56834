"""``idp-connector staged list|approve|reject``: the deactivations a push directory's receiving
guard holds (:mod:`connector.push.staging`), decided by an admin."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from connector.api.registry import Registry
from connector.cli.common import AppContext
from connector.cli.common import json_option
from connector.cli.common import pass_app
from connector.cli.common import usage_error
from connector.cli.output import emit_json
from connector.cli.output import print_table
from connector.cli.output import utc_iso
from connector.push import staging
from connector.store import Store
from connector.store.registry import DirectoryEntry


@contextmanager
def _organization(app: AppContext) -> Iterator[tuple[Registry, Store, str]]:
    registry = Registry.from_file(app.config_path)
    try:
        org_id = registry.default_org(app.org)
        store = registry.store.for_org(org_id)
        try:
            yield registry, store, org_id
        finally:
            store.close()
    finally:
        registry.close()


def _push_directory(store: Store, org_id: str, directory_id: str) -> DirectoryEntry:
    entry = store.directory_entry(org_id, directory_id)
    if entry is None or entry.mode != "push":
        raise usage_error(f"{org_id} has no push directory {directory_id!r}")
    return entry


@click.group("staged")
def staged() -> None:
    """Deactivations a push directory's IdP sent beyond the guard: held until decided."""


@staged.command("list")
@click.option("--directory", "directory_id", metavar="ID", help="Only this directory's.")
@click.option("--all", "show_all", is_flag=True, help="Rejected ones too (kept active against the IdP).")
@json_option
@pass_app
def staged_list(app: AppContext, directory_id: str | None, show_all: bool, as_json: bool) -> None:
    """List the held deactivations, oldest first."""
    with _organization(app) as (_, store, org_id):
        found = store.staged(directory_id, state=None if show_all else "staged")
    rows: list[dict[str, Any]] = [
        {
            "org_id": org_id,
            "directory_id": s.directory_id,
            "idp_user_id": s.idp_user_id,
            "account_id": s.account_id,
            "state": s.state,
            "staged_at": utc_iso(s.staged_at),
            "decided_at": utc_iso(s.decided_at) if s.decided_at else None,
            "reason": s.reason,
        }
        for s in found
    ]
    if as_json:
        emit_json({"version": 1, "staged": rows})
        return
    if not rows:
        click.echo(f"nothing held for {org_id}")
        return
    print_table(
        f"held deactivations of {org_id}",
        ["directory", "identity", "account", "state", "staged at"],
        [[r["directory_id"], r["idp_user_id"], r["account_id"], r["state"], r["staged_at"]] for r in rows],
    )


def _decide(app: AppContext, directory_id: str, ids: tuple[str, ...], every: bool, approve: bool) -> None:
    if not ids and not every:
        raise usage_error("name the identities to decide, or --all for every one held in the directory")
    if ids and every:
        raise usage_error("name identities or give --all, not both")
    with _organization(app) as (_, store, org_id):
        entry = _push_directory(store, org_id, directory_id)
        decide = staging.approve if approve else staging.reject
        decision = decide(store, entry, None if every else ids)
    verb = "approved" if approve else "rejected"
    click.echo(
        f"{verb} {decision.decided} held deactivation(s) of {org_id}/{directory_id}"
        + (f"; {decision.deactivated} account(s) deactivated" if approve else "; the accounts stay active")
    )


@staged.command("approve")
@click.argument("directory_id", metavar="DIRECTORY")
@click.argument("ids", nargs=-1, metavar="[IDENTITY]...")
@click.option("--all", "every", is_flag=True, help="Every deactivation held in the directory.")
@pass_app
def staged_approve(app: AppContext, directory_id: str, ids: tuple[str, ...], every: bool) -> None:
    """Apply held deactivations (an identity the IdP has since reactivated stays active)."""
    _decide(app, directory_id, ids, every, approve=True)


@staged.command("reject")
@click.argument("directory_id", metavar="DIRECTORY")
@click.argument("ids", nargs=-1, metavar="[IDENTITY]...")
@click.option("--all", "every", is_flag=True, help="Every deactivation held in the directory.")
@pass_app
def staged_reject(app: AppContext, directory_id: str, ids: tuple[str, ...], every: bool) -> None:
    """Keep held accounts active, until the IdP reports the user active again."""
    _decide(app, directory_id, ids, every, approve=False)
