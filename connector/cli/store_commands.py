"""The commands that only touch the store: ``accounts``, ``groups``, ``billing``, ``runs``, ``db``."""

from __future__ import annotations

import sys
from typing import Any

import click

from connector.api.accounts_csv import read_accounts_csv
from connector.api.reports import to_plain
from connector.cli.common import AppContext
from connector.cli.common import directory_option
from connector.cli.common import json_option
from connector.cli.common import pass_app
from connector.cli.output import emit_json
from connector.cli.output import print_table
from connector.csv_files import write_csv


@click.group()
def accounts() -> None:
    """Product accounts: import those that existed before provisioning, export all."""


@accounts.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--allow-managed", is_flag=True, help="Allow local memberships of groups a directory manages.")
@json_option
@pass_app
def accounts_import(app: AppContext, csv_file: str, allow_managed: bool, as_json: bool) -> None:
    """Add accounts from a CSV with the header 'email,display_name,groups' (groups joined by ';').

    Accounts whose email is already in the store are left alone; a bad row, or a group that a
    directory manages, stops the import before anything is written.
    """
    rows = read_accounts_csv(csv_file)
    added = app.connector(secrets=False).import_accounts(rows, source=csv_file, allow_managed=allow_managed)
    if as_json:
        emit_json({"version": 1, "read": len(rows), "added": [to_plain(a) for a in added]})
    else:
        click.echo(f"{len(added)} of {len(rows)} accounts added from {csv_file}")


def identity_options(command: Any) -> Any:
    """``--directory`` and ``--identity``: one identity of one directory."""
    command = click.option(
        "--identity", "idp_user_id", required=True, metavar="IDP_ID", help="The IdP's immutable user id."
    )(command)
    return click.option(
        "--directory", "-d", "directory_id", required=True, metavar="ID", help="The identity's directory."
    )(command)


@accounts.command("link")
@identity_options
@click.option("--account", "account_id", required=True, metavar="ACCOUNT_ID", help="The product account.")
@json_option
@pass_app
def accounts_link(
    app: AppContext, directory_id: str, idp_user_id: str, account_id: str, as_json: bool
) -> None:
    """Link an identity to an account by hand, as a conflict's resolution; no sync undoes it."""
    link = app.connector(secrets=False).link(directory_id, idp_user_id, account_id)
    if as_json:
        emit_json({"version": 1, "linked": link})
    else:
        click.echo(f"linked identity {idp_user_id} of {directory_id} to account {account_id}")


@accounts.command("unlink")
@identity_options
@json_option
@pass_app
def accounts_unlink(app: AppContext, directory_id: str, idp_user_id: str, as_json: bool) -> None:
    """Unlink an identity by hand; no sync links it to that account again by email."""
    link = app.connector(secrets=False).unlink(directory_id, idp_user_id)
    if as_json:
        emit_json({"version": 1, "unlinked": link})
    else:
        click.echo(f"unlinked identity {idp_user_id} of {directory_id} from account {link['account_id']}")


@accounts.command("show")
@click.argument("account_id")
@json_option
@pass_app
def accounts_show(app: AppContext, account_id: str, as_json: bool) -> None:
    """One account: its links per directory, memberships with their sources, products, billing."""
    data = app.connector(secrets=False).account(account_id)
    if as_json:
        emit_json({"version": 1, "account": data})
        return
    billed = "billed" if data["billable"] else "not billed"
    where = "internal" if data["internal"] else "external"
    click.echo(f"{data['email']} ({data['account_id']}): {data['status']}, {where}, {billed}")
    click.echo(f"  products: {', '.join(data['products']) or 'none'}")
    print_table(
        "links",
        ("directory", "identity", "missing", "active in the IdP"),
        [(k["directory_id"], k["idp_user_id"], k["missing_count"], k["idp_active"]) for k in data["links"]],
    )
    print_table("memberships", ("group", "source"), [(m["group"], m["source"]) for m in data["memberships"]])
    for conflict in data["conflicts"]:
        click.echo(f"  open conflict in {conflict['directory_id']}: {conflict['reason']}")  # fmt: skip


@accounts.command("export")
@json_option
@pass_app
def accounts_export(app: AppContext, as_json: bool) -> None:
    """Every account with its status, origin and groups (CSV on stdout, or --json)."""
    rows = app.connector(secrets=False).accounts()
    if as_json:
        emit_json({"version": 1, "accounts": rows})
        return
    write_csv(
        sys.stdout,
        ("account_id", "email", "display_name", "status", "origin", "groups"),
        (
            (r["account_id"], r["email"], r["display_name"], r["status"], r["origin"], ";".join(r["groups"]))
            for r in rows
        ),
        lineterminator="\n",
    )


@click.command()
@json_option
@pass_app
def groups(app: AppContext, as_json: bool) -> None:
    """Product groups: local or managed by a directory, with member counts."""
    rows = app.connector(secrets=False).groups()
    if as_json:
        emit_json({"version": 1, "groups": rows})
        return
    print_table(
        None,
        ("name", "source", "idp group", "members", "adopted"),
        (
            (
                g["name"],
                g["directory_id"] or "local",
                g["idp_group_id"],
                g["members"],
                "yes" if g["adopted"] else "",
            )
            for g in rows
        ),
    )


@click.command()
@directory_option
@json_option
@pass_app
def conflicts(app: AppContext, directory_id: str | None, as_json: bool) -> None:
    """Open conflicts: identities no run could link, or whose new address is taken, until a run
    finds the cause gone (or an administrator links by hand)."""
    rows = app.connector(secrets=False).conflicts(directory_id)
    if as_json:
        emit_json({"version": 1, "conflicts": rows})
        return
    if not rows:
        click.echo("no open conflicts")
        return
    print_table(
        None,
        ("directory", "identity", "email", "reason", "accounts", "since"),
        [
            (r["directory_id"], r["idp_user_id"], r["email"] or "", r["reason"], ", ".join(r["account_ids"]),
             r["first_seen"][:19])
            for r in rows
        ],
    )  # fmt: skip


@click.command()
@click.option(
    "--all-orgs",
    "all_orgs",
    is_flag=True,
    help="Every organization of the configuration, each counted alone, and their sum.",
)
@json_option
@pass_app
def billing(app: AppContext, all_orgs: bool, as_json: bool) -> None:
    """Billable accounts: distinct active internal accounts with a product, overall and per product."""
    if all_orgs:
        _billing_of_every_organization(app, as_json)
        return
    report = to_plain(app.connector(secrets=False).billing())
    if as_json:
        emit_json({"version": 1, "billing": report})
        return
    click.echo(f"billable accounts: {report.get('billable')}")
    for key, value in sorted(report.items()):
        if key not in ("billable", "per_product") and not isinstance(value, (dict, list)):
            click.echo(f"{key.replace('_', ' ')}: {value}")
    per_product = report.get("per_product") or {}
    if per_product:
        print_table(None, ("product", "billable"), sorted(per_product.items()))


def _billing_of_every_organization(app: AppContext, as_json: bool) -> None:
    """``billing --all-orgs``: one row per organization and the sum of their billable accounts (an
    account of two organizations is two accounts, each billed by its own)."""
    from connector.api.organizations import billing_of_every_organization

    if app.org:
        raise click.UsageError("--all-orgs counts every organization; leave --org out")
    reports = billing_of_every_organization(app.config_path)
    rows = [(r.org_id, to_plain(r.billing)) for r in reports]
    total = sum(int(report.get("billable") or 0) for _, report in rows)
    if as_json:
        emit_json(
            {
                "version": 1,
                "organizations": [{"org_id": org, "billing": report} for org, report in rows],
                "total_billable": total,
            }
        )
        return
    print_table(None, ("organization", "billable"), [(org, report.get("billable")) for org, report in rows])
    organizations = "organization" if len(rows) == 1 else "organizations"
    click.echo(f"total billable across {len(rows)} {organizations}: {total}")


@click.command()
@directory_option
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1), help="How many runs.")
@json_option
@pass_app
def runs(app: AppContext, directory_id: str | None, limit: int, as_json: bool) -> None:
    """Run history, newest first, with the changes each run made."""
    if directory_id is not None:
        app.connector(secrets=False).config.directory(directory_id)
    records = [to_plain(r) for r in app.connector(secrets=False).runs(directory_id, limit=limit)]
    if as_json:
        emit_json({"version": 1, "runs": records})
        return
    print_table(
        None,
        ("run", "directory", "kind", "started", "outcome", "changes"),
        (
            (
                r.get("run_id"),
                r.get("directory_id"),
                r.get("kind") + (" (dry run)" if r.get("dry_run") else ""),
                _when(r.get("started_at")),
                r.get("outcome"),
                _counts(r.get("counts") or {}),
            )
            for r in records
        ),
    )


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if hasattr(value, "strftime") else str(value or "")


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items()) if v) or "-"


@click.group()
def db() -> None:
    """The store's schema."""


@db.command("upgrade")
@pass_app
def db_upgrade(app: AppContext) -> None:
    """Migrate the store to the newest schema (Alembic's 'upgrade head')."""
    from connector.store import Store

    config = app.connector(secrets=False).config
    # a store from before organizations were data becomes the configured organization's
    with Store.open(config.store_url, upgrade=True, org=config.org_id) as store:
        revision = store.schema_revision()
    click.echo(f"store schema is up to date (revision {revision})")
