"""What every ``idp-connector`` command shares: the context, options, error translation."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from dataclasses import field
from typing import Any

import click

from connector.api.connector import Connector
from connector.api.opening import open_connector
from connector.api.reports import error_dict
from connector.cli.output import RedactingFilter
from connector.cli.output import emit_json
from connector.cli.output import redact
from connector.errors import ConfigError
from connector.errors import ConnectorError

log = logging.getLogger("connector.cli.main")


class CliError(click.ClickException):
    """A connector error on its way out, with the error class's exit code."""

    def __init__(self, error: ConnectorError, *, as_json: bool, message: str) -> None:
        super().__init__(message)
        self.exit_code = error.exit_code
        self.error = error
        self.as_json = as_json

    def show(self, file: Any = None) -> None:
        if self.as_json:
            emit_json({"error": error_dict(self.error, self.message)})
        click.echo(f"error: {self.message}", err=True)


@dataclass
class AppContext:
    """What every command shares: the config path, verbosity, and the connector once loaded."""

    config_path: str
    verbose: int
    redactor: RedactingFilter
    as_json: bool = False
    org: str | None = None
    """``--org``: the organization a command works for (None: the only one the file declares)."""
    _connector: Connector | None = field(default=None, repr=False)

    def connector(self, *, secrets: bool = True, only: str | None = None) -> Connector:
        """The connector for ``--config`` and ``--org``, loaded on first use.

        ``secrets=False`` for the commands that only touch the store: they run
        where the IdP credentials are not available.  ``only``: a command for one
        directory reads that directory's secrets alone.
        """
        if self._connector is None:
            log.debug("loading configuration from %s", self.config_path)
            self._connector = open_connector(self.config_path, secrets=secrets, secrets_of=only, org=self.org)
            self.redactor.add(self._connector.secrets())
        return self._connector

    def describe(self, error: ConnectorError) -> str:
        """The error's message with every configured secret masked (messages should hold none)."""
        secrets = [s.reveal() for s in self._connector.secrets()] if self._connector else []
        return redact(str(error), secrets)

    def close(self) -> None:
        if self._connector is not None:
            self._connector.close()


class ConnectorGroup(click.Group):
    """A group that turns :class:`ConnectorError` into its exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConnectorError as exc:
            app = ctx.obj if isinstance(ctx.obj, AppContext) else None
            message = app.describe(exc) if app else redact(str(exc))
            raise CliError(exc, as_json=bool(app and app.as_json), message=message) from exc


pass_app = click.make_pass_decorator(AppContext)


ORG_ENV = "CONNECTOR_ORG"


def org_option() -> click.Option:
    """``--org ORG``: the organization a command works for; it may stand before the command too."""

    def remember(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
        if value and isinstance(ctx.obj, AppContext):
            ctx.obj.org = value

    return click.Option(
        ["--org"],
        metavar="ORG",
        expose_value=False,
        callback=remember,
        is_eager=True,
        help="The organization (its id); needed when the configuration declares several.",
    )


def json_option(command: Any) -> Any:
    """``--json``: print one stable JSON document on stdout instead of tables."""

    def remember(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
        if value and isinstance(ctx.obj, AppContext):
            ctx.obj.as_json = True
        return value

    return click.option(
        "--json",
        "as_json",
        is_flag=True,
        expose_value=True,
        callback=remember,
        help="Print JSON (docs/cli.md).",
    )(command)


def directory_option(command: Any) -> Any:
    return click.option(
        "--directory", "-d", "directory_id", metavar="ID", help="Only this directory (default: all)."
    )(command)


def exit_with(code: int) -> None:
    """Leave the command with ``code`` (docs/cli.md lists them)."""
    raise click.exceptions.Exit(code)


def usage_error(message: str) -> ConfigError:
    """A misuse of the command line, reported like a config error (exit 2)."""
    return ConfigError(message)
