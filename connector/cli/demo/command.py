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
    help="Users in the mock.",
)
def demo(folder: str, users: int) -> None:
    """Start a mock IdP, then review and sync it as Okta, Entra ID and SCIM; print what happened.

    Run it twice: the second sync changes nothing.
    """
    from connector.cli.demo.showcase import run_demo

    run_demo(Path(folder), users=users)
