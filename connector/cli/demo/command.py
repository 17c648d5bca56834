"""``idp-connector demo``: the whole product against an in-process mock IdP."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.option(
    "--dir",
    "folder",
    default="demo-output",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder for the store, keys, config and review CSVs (reused on a second run).",
)
@click.option(
    "--users",
    default=60,
    show_default=True,
    type=click.IntRange(min=12, max=100_000),
    help="Users in each mock.",
)
def demo(folder: str, users: int) -> None:
    """Two organizations in one store, each with its own mock IdP: review, sync and bill each.

    acme is synced as Okta; globex as Entra ID and SCIM, with one of acme's people a guest there
    (two accounts, billed by acme alone).  Run it twice: the second sync changes nothing.
    """
    from connector.cli.demo.showcase import run_demo

    run_demo(Path(folder), users=users)
