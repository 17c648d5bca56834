"""The commands that keep organizations and directories as data: ``config apply``, ``orgs``,
``directories`` and ``secrets`` (a thin layer over :mod:`connector.api.registry`).

Nothing here prints a secret: a directory's secrets are shown by name and by the fingerprint of
the key that sealed them, and a push directory's tokens by id.  The one exception is
``directories token``, which prints the token it issues, once: the store keeps only its hash.
Deleting needs ``--yes``, or an answer on a terminal.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import click

from connector.api.registry import Registry
from connector.api.registry_records import ApplyPlan
from connector.api.registry_records import DirectorySpec
from connector.cli.common import AppContext
from connector.cli.common import json_option
from connector.cli.common import pass_app
from connector.cli.common import usage_error
from connector.cli.output import emit_json
from connector.cli.output import print_table
from connector.cli.output import utc_iso
from connector.config.checks import Checker
from connector.config.checks import parse_duration
from connector.config.records import secret_name


def interactive() -> bool:
    """Whether a person can answer a question (stdin and stdout are terminals)."""
    return sys.stdin.isatty() and sys.stdout.isatty()


@contextmanager
def _registry(app: AppContext) -> Iterator[Registry]:
    registry = Registry.from_file(app.config_path)
    try:
        yield registry
    finally:
        registry.close()


def _confirm(question: str, yes: bool, *, refusal: str) -> bool:
    """``--yes``, or the answer of a person at a terminal; refused (exit 2) with no one to ask."""
    if yes:
        return True
    if not interactive():
        raise usage_error(refusal)
    return click.confirm(question, default=False)


def _yes_option(command: Any) -> Any:
    return click.option("--yes", "-y", is_flag=True, help="Do it without asking.")(command)


def _force_option(command: Any) -> Any:
    return click.option(
        "--force", is_flag=True, help="Delete even what holds accounts or links (they are named first)."
    )(command)


# ---------------------------------------------------------------------- config apply


@click.group("config")
def config_group() -> None:
    """The configuration file and the store: bring the store in line with the file."""


@config_group.command("apply")
@click.option("--prune", is_flag=True, help="Delete what the store holds and the file no longer declares.")
@_yes_option
@_force_option
@json_option
@pass_app
def config_apply(app: AppContext, prune: bool, yes: bool, force: bool, as_json: bool) -> None:
    """Show what bringing the store in line with the file changes, then apply it.

    Organizations and directories are created, updated or left; with --prune, those the file no
    longer declares are deleted.  Applies with --yes, or after a yes on a terminal; without either
    it only shows the plan (and --prune without --yes is refused where nobody can answer).
    """
    with _registry(app) as registry:
        plan = registry.plan_apply(prune=prune)
        if not as_json:
            print_apply_plan(plan)
        applied = False
        if plan.pending:
            if prune and not yes and not interactive():
                raise usage_error(
                    "--prune deletes from the store: add --yes to apply it where no one can confirm"
                )
            if yes or (interactive() and click.confirm("apply these changes?", default=False)):
                registry.apply(plan, force=force)
                applied = True
            elif not as_json:
                click.echo("nothing applied; add --yes to apply")
    if as_json:
        emit_json({"version": 1, "plan": plan.to_dict(), "applied": applied})
    elif applied:
        counts = plan.counts()
        click.echo(
            f"applied: {counts['create']} created, {counts['update']} updated, {counts['delete']} deleted"
        )


def print_apply_plan(plan: ApplyPlan) -> None:
    """The plan as lines: one per organization and directory, with what changes."""
    counts = plan.counts()
    click.echo(
        f"{plan.source}: {counts['create']} to create, {counts['update']} to update, "
        f"{counts['unchanged']} unchanged, {counts['delete']} to delete"
        + ("" if plan.prune else " (no --prune)")
    )
    for change in (*plan.organizations, *plan.directories):
        what = f"organization {change.org_id}"
        if change.directory_id is not None:
            what = f"directory {change.org_id}/{change.directory_id}"
        line = f"  {change.action:<9} {what}"
        if change.action == "delete":
            line += f" (holds {change.holds}{'; needs --force' if change.refused else ''})"
        click.echo(line)
        for detail in change.changes:
            click.echo(f"            {detail}")


# ---------------------------------------------------------------------- orgs


@click.group("orgs")
def orgs() -> None:
    """Organizations: those the file declares and those the store holds."""


@orgs.command("list")
@json_option
@pass_app
def orgs_list(app: AppContext, as_json: bool) -> None:
    """Every organization, with where it is declared (file, store) and its directory count."""
    with _registry(app) as registry:
        rows = registry.organizations()
    if as_json:
        emit_json({"version": 1, "organizations": rows})
        return
    print_table(
        None,
        ("id", "name", "domains", "directories", "in file", "in store"),
        [
            (
                r["org_id"],
                r["name"],
                ", ".join(r["verified_domains"]),
                r["directories"],
                r["in_file"],
                r["in_store"],
            )
            for r in rows
        ],
    )


@orgs.command("show")
@click.argument("org_id", metavar="ORG")
@json_option
@pass_app
def orgs_show(app: AppContext, org_id: str, as_json: bool) -> None:
    """One organization of the store: domains, product grants, settings and directories."""
    with _registry(app) as registry:
        data = registry.organization(org_id)
    if as_json:
        emit_json({"version": 1, "organization": data})
        return
    _print_organization(data)


def _print_organization(data: dict[str, Any]) -> None:
    click.echo(f"{data['org_id']} ({data['name']}){'' if data['in_file'] else ', stored only'}")
    click.echo(f"  verified domains: {', '.join(data['verified_domains']) or 'none'}")
    for product, groups in sorted(data["product_grants"].items()):
        click.echo(f"  product {product}: {', '.join(groups)}")
    for key, values in sorted(data["settings"].items()):
        if values:
            click.echo(f"  {key}: {values}")
    for directory in data["directories"]:
        click.echo(f"  directory {directory['directory_id']} ({directory['provider']}, {directory['mode']})")


@orgs.command("add")
@click.argument("org_id", metavar="ORG")
@click.option("--name", help="The organization's name (default: its id).")
@click.option("--domain", "domains", multiple=True, metavar="DOMAIN", help="A verified domain (repeat).")
@click.option(
    "--product",
    "products",
    multiple=True,
    metavar="PRODUCT=GROUP",
    help="A group granting a product (repeat).",
)
@json_option
@pass_app
def orgs_add(
    app: AppContext,
    org_id: str,
    name: str | None,
    domains: tuple[str, ...],
    products: tuple[str, ...],
    as_json: bool,
) -> None:
    """Add an organization to the store (its directories come with `directories add`)."""
    grants: dict[str, list[str]] = {}
    for given in products:
        product, sep, group = given.partition("=")
        if not sep or not product.strip() or not group.strip():
            raise usage_error(f"--product {given!r}: write it as PRODUCT=GROUP, e.g. wiki=Everyone")
        grants.setdefault(product.strip(), []).append(group.strip())
    with _registry(app) as registry:
        data = registry.add_organization(org_id, name=name, verified_domains=domains, product_grants=grants)
    if as_json:
        emit_json({"version": 1, "organization": data})
    else:
        click.echo(f"added organization {org_id}")


@orgs.command("remove")
@click.argument("org_id", metavar="ORG")
@_force_option
@_yes_option
@json_option
@pass_app
def orgs_remove(app: AppContext, org_id: str, force: bool, yes: bool, as_json: bool) -> None:
    """Remove an organization the file does not declare, and all it holds."""
    with _registry(app) as registry:
        holds = (
            registry.store.organization_holdings(org_id).describe()
            if registry.store.organization_entry(org_id)
            else ""
        )
        if not _confirm(
            f"remove organization {org_id} ({holds})?",
            yes,
            refusal="removing an organization deletes what it holds: add --yes where no one can confirm",
        ):
            click.echo("nothing removed")
            return
        data = registry.remove_organization(org_id, force=force)
    if as_json:
        emit_json({"version": 1, "removed": data})
    else:
        click.echo(f"removed organization {org_id}")


# ---------------------------------------------------------------------- directories


@click.group("directories")
def directories() -> None:
    """An organization's directories (--org): those the file declares and those the store holds."""


@directories.command("list")
@json_option
@pass_app
def directories_list(app: AppContext, as_json: bool) -> None:
    """The organization's directories, and where each runs from (the file wins)."""
    with _registry(app) as registry:
        org_id = registry.default_org(app.org)
        rows = registry.directories(org_id)
    if as_json:
        emit_json({"version": 1, "org_id": org_id, "directories": rows})
        return
    print_table(
        None,
        ("id", "provider", "mode", "runs from", "disabled", "schedule", "sealed secrets"),
        [
            (
                r["directory_id"],
                r["provider"],
                r["mode"],
                r["runs_from"] or "-",
                r["disabled"],
                r["schedule"] or "",
                ", ".join(s["name"] for s in r["secrets"]),
            )
            for r in rows
        ],
    )


@directories.command("show")
@click.argument("directory_id", metavar="ID")
@json_option
@pass_app
def directories_show(app: AppContext, directory_id: str, as_json: bool) -> None:
    """One directory: how it is reached, and which secrets are stored (never their values)."""
    with _registry(app) as registry:
        data = registry.directory(registry.default_org(app.org), directory_id)
    if as_json:
        emit_json({"version": 1, "directory": data})
        return
    click.echo(f"{data['org_id']}/{data['directory_id']}: {data['provider']} at {data['base_url'] or '-'}")
    click.echo(f"  mode {data['mode']}, runs from {data['runs_from'] or 'nowhere (no settings stored)'}")
    if data["disabled"]:
        click.echo("  disabled: sync skips it")
    if data["schedule"]:
        click.echo(f"  schedule: {data['schedule']}")
    for secret in data["secrets"]:
        newest = {
            True: "the newest key",
            False: "an older key: run `secrets rotate`",
            None: "a key not configured here",
        }
        click.echo(
            f"  secret {secret['name']}: stored, sealed with key {secret['sealed_with']} "
            f"({newest[secret['newest_key']]})"
        )
    if data.get("holds"):
        parts = [f"{n} {k}" for k, n in data["holds"].items() if n]
        click.echo(f"  holds: {', '.join(parts) or 'nothing'}")
    if "push_tokens" in data:
        if not data["push_tokens"]:
            click.echo(f"  push tokens: none (`idp-connector directories token {data['directory_id']}`)")
        for token in data["push_tokens"]:
            until = f"until {utc_iso(token['expires_at'])}" if token["expires_at"] else "until rotated"
            click.echo(
                f"  push token {token['token_id']}: issued {utc_iso(token['created_at'])}, works {until}"
            )


@directories.command("add")
@click.argument("directory_id", metavar="ID")
@click.option("--provider", required=True, help="okta, azure_ad, scim, or an installed adapter's name.")
@click.option("--base-url", metavar="URL", help="The directory's URL (required for a pull directory).")
@click.option(
    "--auth-method",
    type=click.Choice(["client_secret", "private_key_jwt", "bearer", "ssws"]),
    help="How to sign in.",
)
@click.option("--client-id", help="The OAuth client id (client_secret, private_key_jwt).")
@click.option(
    "--secret-stdin", is_flag=True, help="Read the method's secret from stdin; it is stored sealed."
)
@click.option(
    "--secret-env", metavar="VAR", help="Read the method's secret from VAR now; it is stored sealed."
)
@click.option(
    "--secret-env-ref", metavar="VAR", help="Store only a reference: the secret is read from VAR at each run."
)
@click.option(
    "--certificate-file",
    type=click.Path(exists=True, dir_okay=False),
    help="azure_ad with private_key_jwt: the certificate (PEM) registered with the app; stored sealed.",
)
@click.option(
    "--domain", "domains", multiple=True, metavar="DOMAIN", help="A verified domain it manages (repeat)."
)
@click.option("--mode", type=click.Choice(["pull", "push"]), default="pull", show_default=True)
@click.option("--schedule", metavar="CRON", help="When a scheduler should run it (kept for the scheduler).")
@click.option("--tenant", help="The Entra tenant (azure_ad).")
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE", help="An adapter option (repeat).")
@click.option("--replace", is_flag=True, help="Replace the stored directory of that id.")
@json_option
@pass_app
def directories_add(
    app: AppContext,
    directory_id: str,
    provider: str,
    base_url: str | None,
    auth_method: str | None,
    client_id: str | None,
    secret_stdin: bool,
    secret_env: str | None,
    secret_env_ref: str | None,
    certificate_file: str | None,
    domains: tuple[str, ...],
    mode: str,
    schedule: str | None,
    tenant: str | None,
    options: tuple[str, ...],
    replace: bool,
    as_json: bool,
) -> None:
    """Add a directory to the organization in the store; its secret is sealed before it is stored."""
    if sum(bool(x) for x in (secret_stdin, secret_env, secret_env_ref)) > 1:
        raise usage_error("give the secret one way: --secret-stdin, --secret-env or --secret-env-ref")
    if mode == "pull" and (not base_url or not auth_method):
        raise usage_error("a pull directory needs --base-url and --auth-method")
    extra: dict[str, str] = {}
    for given in options:
        key, sep, value = given.partition("=")
        if not sep or not key.strip():
            raise usage_error(f"--option {given!r}: write it as KEY=VALUE")
        extra[key.strip()] = value.strip()
    if tenant:
        extra["tenant"] = tenant
    secrets: dict[str, str] = {}
    if auth_method and (secret_stdin or secret_env):
        name = secret_name(auth_method)
        value = sys.stdin.read() if secret_stdin else os.environ.get(secret_env or "", "")
        if not value.strip():
            where = "stdin" if secret_stdin else f"the environment variable {secret_env}"
            raise usage_error(f"the {name} from {where} is empty")
        secrets[name] = value.strip()
    if certificate_file:
        if auth_method != "private_key_jwt":
            raise usage_error("--certificate-file goes with --auth-method private_key_jwt (Entra ID)")
        secrets["certificate"] = Path(certificate_file).read_text().strip()
    spec = DirectorySpec(
        directory_id=directory_id,
        provider=provider,
        base_url=base_url,
        method=auth_method,
        client_id=client_id,
        domains=domains or None,
        mode=mode,
        schedule=schedule,
        options=extra,
        secret_env=secret_env_ref,
    )
    with _registry(app) as registry:
        data = registry.add_directory(registry.default_org(app.org), spec, secrets=secrets, replace=replace)
    if as_json:
        emit_json({"version": 1, "directory": data})
    else:
        sealed = ", ".join(s["name"] for s in data["secrets"])
        click.echo(
            f"added directory {data['org_id']}/{directory_id}"
            + (f" ({sealed} stored sealed)" if sealed else "")
        )


@directories.command("remove")
@click.argument("directory_id", metavar="ID")
@_force_option
@_yes_option
@json_option
@pass_app
def directories_remove(app: AppContext, directory_id: str, force: bool, yes: bool, as_json: bool) -> None:
    """Remove a directory the file does not declare: its links, mirror and the memberships it gave
    (the accounts stay; the groups it managed become local)."""
    with _registry(app) as registry:
        org_id = registry.default_org(app.org)
        holds = ""
        if registry.store.directory_entry(org_id, directory_id) is not None:
            holds = registry.store.directory_holdings(org_id, directory_id).describe()
        if not _confirm(
            f"remove directory {org_id}/{directory_id} ({holds})?",
            yes,
            refusal="removing a directory deletes its links: add --yes where no one can confirm",
        ):
            click.echo("nothing removed")
            return
        data = registry.remove_directory(org_id, directory_id, force=force)
    if as_json:
        emit_json({"version": 1, "removed": data})
    else:
        click.echo(f"removed directory {org_id}/{directory_id}")


@directories.command("token")
@click.argument("directory_id", metavar="ID")
@click.option("--rotate", is_flag=True, help="Replace the working token; the old one works for --grace more.")
@click.option(
    "--grace",
    metavar="DURATION",
    default="24h",
    show_default=True,
    help="With --rotate: how long the old token keeps working (e.g. 30m, 12h, 2d; 0 stops it now).",
)
@json_option
@pass_app
def directories_token(app: AppContext, directory_id: str, rotate: bool, grace: str, as_json: bool) -> None:
    """Issue the bearer token a push directory's IdP sends; printed once, on stdout, and kept only
    as a hash."""
    # 0: the previous tokens stop now (one leaked); else e.g. 12h
    period = timedelta(0) if grace.strip() == "0" else parse_duration(Checker("--grace"), grace, "")
    with _registry(app) as registry:
        data = registry.issue_push_token(
            registry.default_org(app.org), directory_id, rotate=rotate, grace=period
        )
    if as_json:
        emit_json({"version": 1, "push_token": data})
    else:
        click.echo(data["token"])
    older = [t for t in data["tokens"] if t["token_id"] != data["token_id"]]
    until = f"; the previous token works until {utc_iso(older[0]['expires_at'])}" if older else ""
    click.echo(
        f"push token {data['token_id']} for {data['org_id']}/{directory_id}: copy it into the IdP's "
        f"provisioning settings now, it will not be shown again{until}",
        err=True,
    )


def _set_disabled(app: AppContext, directory_id: str, disabled: bool, as_json: bool) -> None:
    with _registry(app) as registry:
        data = registry.set_disabled(registry.default_org(app.org), directory_id, disabled)
    if as_json:
        emit_json({"version": 1, "directory": data})
    else:
        click.echo(f"directory {data['org_id']}/{directory_id} {'disabled' if disabled else 'enabled'}")


@directories.command("disable")
@click.argument("directory_id", metavar="ID")
@json_option
@pass_app
def directories_disable(app: AppContext, directory_id: str, as_json: bool) -> None:
    """Disable a directory: sync skips it, saying so, until it is enabled again."""
    _set_disabled(app, directory_id, True, as_json)


@directories.command("enable")
@click.argument("directory_id", metavar="ID")
@json_option
@pass_app
def directories_enable(app: AppContext, directory_id: str, as_json: bool) -> None:
    """Enable a disabled directory again."""
    _set_disabled(app, directory_id, False, as_json)


# ---------------------------------------------------------------------- secrets


@click.group("secrets")
def secrets() -> None:
    """The secrets the store keeps sealed, and their keys (CONNECTOR_SECRET_KEYS)."""


@secrets.command("rotate")
@click.option("--dry-run", is_flag=True, help="Count what is sealed under an older key; change nothing.")
@json_option
@pass_app
def secrets_rotate(app: AppContext, dry_run: bool, as_json: bool) -> None:
    """Seal every stored secret again under the newest key, in place (counts per organization)."""
    with _registry(app) as registry:
        report = registry.rotate_secrets(dry_run=dry_run)
    if as_json:
        emit_json({"version": 1, **report.to_dict()})
    else:
        verb = "to rotate" if dry_run else "rotated"
        for org_id, counts in sorted(report.organizations.items()):
            click.echo(
                f"{org_id}: {counts['rotated']} {verb}, {counts['current']} under the newest key already"
                + (f", {counts['failed']} failed" if counts["failed"] else "")
            )
        if not report.organizations:
            click.echo("the store holds no sealed secret")
        for failure in report.failures:
            click.echo(f"error: {failure['org_id']}/{failure['directory_id']}: {failure['error']}", err=True)
    if report.failures:
        raise click.exceptions.Exit(6)


@secrets.command("new-key")
def secrets_new_key() -> None:
    """Print a new key for CONNECTOR_SECRET_KEYS (put it first, keep the old ones after it)."""
    click.echo(Registry.new_key())
