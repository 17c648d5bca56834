"""``idp-connector serve``: the push service (:func:`connector.push.create_app`) under waitress.

waitress is a pure-Python, threaded WSGI server that runs the same on Linux, macOS and Windows
and can be started from Python; docs/push.md says why it and not gunicorn.  The command serves
every push directory of the configuration's store at ``/scim/v2/<org>/<directory>/`` (and
``/healthz``, ``/readyz``, ``/metrics``: :mod:`connector.ops.health`), prints one
line naming its URL (``--port 0`` picks a free port, which that line tells), and stops cleanly
on Ctrl-C or SIGTERM: the listening socket closes, requests in progress finish.  No token is
ever printed or logged.
"""

from __future__ import annotations

import logging
import signal
from types import FrameType
from typing import Any

import click

from connector.api.opening import open_store
from connector.cli.common import AppContext
from connector.cli.common import pass_app
from connector.config.loader import load_config_file
from connector.ops import health
from connector.push import create_app
from connector.store import Store

log = logging.getLogger("connector.cli.serve")

DEFAULT_THREADS = 8
"""waitress's worker threads: requests served at once (a write waits for its directory's run lock)."""


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8080,
    show_default=True,
    help="The port (0: any free one).",
)
@click.option(
    "--threads",
    type=click.IntRange(1, 256),
    default=DEFAULT_THREADS,
    show_default=True,
    help="Worker threads.",
)
@pass_app
def serve(app: AppContext, host: str, port: int, threads: int) -> None:
    """Serve SCIM 2.0 for every push directory of the store until Ctrl-C or SIGTERM (docs/push.md)."""
    from waitress.server import create_server

    whole = load_config_file(app.config_path, secrets=False)
    store = open_store(whole)
    try:
        try:
            served = health.register(create_app(store), store)  # /healthz, /readyz, /metrics
            server: Any = create_server(served, host=host, port=port, threads=threads)
        except OSError as exc:
            raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from None
        url = _url(host, int(server.effective_port))
        previous = signal.signal(signal.SIGTERM, _stop_on_sigterm)
        try:
            _banner(store, url)
            server.run()  # returns on KeyboardInterrupt, after the workers finish their requests
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
            server.close()
        click.echo("idp-connector serve: stopped", err=True)
    finally:
        store.close()


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def _banner(store: Store, url: str) -> None:
    """The URL first (scripts read the port from it), then each push directory's SCIM base."""
    click.echo(f"idp-connector serving on {url}")
    pushed = [e for e in store.directory_entries() if e.mode == "push"]
    for entry in pushed:
        state = " (disabled)" if entry.disabled else ""
        click.echo(f"  SCIM base: {url}/scim/v2/{entry.org_id}/{entry.directory_id}/{state}")
    if not pushed:
        click.echo("  no push directory yet: idp-connector directories add ID --mode push")
    click.echo("  Ctrl-C stops it")


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    """A supervisor's stop ends the service as Ctrl-C does."""
    raise KeyboardInterrupt
