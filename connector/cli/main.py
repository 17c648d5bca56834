"""``idp-connector``: a thin click layer over :mod:`connector.api.connector`.

Exit codes (docs/cli.md): 0 done; 1 an unexpected connector error; 2 a
configuration or usage error; 3 authentication refused; 4 the IdP could not
be read; 5 the guard stopped a plan; 6 the store failed; 7 another run holds
the directory; 8 conflicts found with ``--strict``; 9 a saved plan is stale; 10 an
events cursor expired (resync).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import click

from connector import __version__
from connector.cli import deliver_command as cli_deliver
from connector.cli import directory_commands as cli_run
from connector.cli import event_commands as cli_events
from connector.cli import registry_commands as cli_registry
from connector.cli import serve_command as cli_serve
from connector.cli import staged_commands as cli_staged
from connector.cli import store_commands as cli_store
from connector.cli import worker_commands as cli_workers
from connector.cli.common import ORG_ENV
from connector.cli.common import AppContext
from connector.cli.common import ConnectorGroup
from connector.cli.common import org_option
from connector.cli.demo import command as cli_demo
from connector.cli.output import setup_logging
from connector.cli.output import teardown_logging
from connector.ops.logs import LOG_FORMAT_ENV
from connector.ops.logs import use_json_logs

CONFIG_ENV = "CONNECTOR_CONFIG"
DEFAULT_CONFIG = "connector.toml"


@click.group(cls=ConnectorGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "-c",
    "config_path",
    envvar=CONFIG_ENV,
    default=DEFAULT_CONFIG,
    show_default=True,
    metavar="PATH",
    help=f"The TOML configuration (env {CONFIG_ENV}).",
)
@click.option(
    "--org",
    envvar=ORG_ENV,
    metavar="ORG",
    help=f"The organization every command works for (env {ORG_ENV}); each command takes --org too.",
)
@click.option("-v", "--verbose", count=True, help="Debug logging on stderr; secrets are redacted.")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors on stderr (for cron).")
@click.version_option(__version__, prog_name="idp-connector")
@click.pass_context
def cli(ctx: click.Context, config_path: str, org: str | None, verbose: int, quiet: bool) -> None:
    """Keep a product's users and groups in step with Okta, Entra ID and SCIM directories."""
    if verbose and quiet:
        raise click.UsageError("-v and -q ask for opposite things; give one")
    redactor = setup_logging(verbose, quiet=quiet)
    if os.environ.get(LOG_FORMAT_ENV) == "json":
        use_json_logs()
    ctx.obj = AppContext(config_path=config_path, verbose=verbose, redactor=redactor, org=org)
    ctx.call_on_close(teardown_logging)
    ctx.call_on_close(ctx.obj.close)


def main(argv: Sequence[str] | None = None) -> None:
    """The console-script entry point."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="idp-connector")


for _command in (
    cli_run.check,
    cli_run.review,
    cli_run.plan,
    cli_run.apply,
    cli_run.sync,
    cli_store.accounts,
    cli_store.groups,
    cli_store.conflicts,
    cli_store.billing,
    cli_store.runs,
    cli_store.db,
    cli_registry.config_group,
    cli_registry.orgs,
    cli_registry.directories,
    cli_registry.secrets,
    cli_staged.staged,
    cli_demo.demo,
    cli_serve.serve,
    cli_events.events,
    cli_events.webhooks,
    cli_deliver.deliver,
    cli_workers.worker,
    cli_workers.scheduler,
):
    cli.add_command(_command)


WITHOUT_ORG = {("demo",), ("secrets", "new-key"), ("serve",), ("worker",), ("scheduler",), ("deliver",)}
"""Commands that work for no organization: the demo makes its own; a new key is anyone's; serve
serves every organization's push directories; the workers and the scheduler run every
organization's directories."""


def _with_org_except(command: click.Command, path: tuple[str, ...]) -> None:
    """Give ``command`` (every leaf of a group) its ``--org`` option, unless it works for none."""
    if path in WITHOUT_ORG:
        return
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            _with_org_except(sub, (*path, name))
    else:
        command.params.append(org_option())


for _name, _command in cli.commands.items():
    _with_org_except(_command, (_name,))
