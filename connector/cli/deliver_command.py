"""``idp-connector deliver``: the webhook delivery loop, its own process, never part of a sync.

It posts every organization's webhooks (or those of ``--org``) until Ctrl-C or SIGTERM, or one
pass with ``--once``; :mod:`connector.delivery.deliverer` says how.  It needs the vault's keys
(``CONNECTOR_SECRET_KEYS``) to open the endpoints' secrets, and never prints or logs one.
"""

from __future__ import annotations

import signal
import threading
from datetime import timedelta
from types import FrameType

import click

from connector.api.opening import open_store
from connector.cli.common import AppContext
from connector.cli.common import json_option
from connector.cli.common import pass_app
from connector.cli.output import emit_json
from connector.config.loader import load_config_file
from connector.delivery.deliverer import DEFAULT_LEASE
from connector.delivery.deliverer import Deliverer
from connector.rules.retry_schedule import DEFAULT_STEPS
from connector.rules.retry_schedule import RetrySchedule
from connector.vault import Vault


def _steps(_ctx: click.Context, _param: click.Parameter, value: str | None) -> RetrySchedule:
    if not value:
        return RetrySchedule()
    try:
        return RetrySchedule.of([float(v) for v in value.split(",") if v.strip()])
    except ValueError as exc:
        raise click.BadParameter(f"seconds separated by commas, e.g. 1,2,4 ({exc})") from None


@click.command("deliver")
@click.option(
    "--org", "orgs", multiple=True, metavar="ORG", help="Only this organization (repeatable; default: all)."
)
@click.option("--once", is_flag=True, help="One pass over the due endpoints, then exit.")
@click.option(
    "--interval",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0.01),
    help="Seconds between idle passes.",
)
@click.option(
    "--lease-seconds",
    default=int(DEFAULT_LEASE.total_seconds()),
    show_default=True,
    type=click.FloatRange(0.5),
    help="How long an endpoint waits for a deliverer that stopped answering (killed).",
)
@click.option(
    "--timeout",
    default=15.0,
    show_default=True,
    type=click.FloatRange(0.1),
    help="Seconds a receiver has to answer.",
)
@click.option(
    "--retry-steps",
    callback=_steps,
    metavar="S,S,...",
    help=f"Seconds to wait after each failed attempt (default {','.join(f'{s:g}' for s in DEFAULT_STEPS)}).",
)
@click.option(
    "--retention-days",
    default=30,
    show_default=True,
    type=click.IntRange(min=1),
    help="Events older are pruned.",
)
@json_option
@pass_app
def deliver(
    app: AppContext,
    orgs: tuple[str, ...],
    once: bool,
    interval: float,
    lease_seconds: float,
    timeout: float,
    retry_steps: RetrySchedule,
    retention_days: int,
    as_json: bool,
) -> None:
    """Post the organizations' webhooks, in order, signed, with retries (docs/events.md)."""
    whole = load_config_file(app.config_path, secrets=False)
    chosen = list(orgs) or ([app.org] if app.org else [])
    vault = Vault.from_environment()
    store = open_store(whole)
    try:
        deliverer = Deliverer(
            store,
            vault,
            orgs=chosen or None,
            schedule=retry_steps,
            timeout=(min(5.0, timeout), timeout),
            lease=timedelta(seconds=lease_seconds),
        )
        if once:
            stats = deliverer.run_once()
        else:
            stop = threading.Event()

            def _stop(signum: int, frame: FrameType | None) -> None:
                stop.set()

            previous = signal.signal(signal.SIGTERM, _stop)
            click.echo("idp-connector deliver: posting webhooks; Ctrl-C stops it", err=True)
            try:
                stats = deliverer.run(stop, interval=interval, retention=timedelta(days=retention_days))
            except KeyboardInterrupt:
                stop.set()
                stats = None
            finally:
                signal.signal(signal.SIGTERM, previous)
    finally:
        store.close()
    if stats is None:
        click.echo("idp-connector deliver: stopped", err=True)
        return
    if as_json:
        emit_json(
            {
                "version": 1,
                "delivered": stats.delivered,
                "failed": stats.failed,
                "dead_lettered": stats.dead_lettered,
            }
        )
    else:
        click.echo(f"delivered {stats.delivered}, failed {stats.failed}, dead-lettered {stats.dead_lettered}")
