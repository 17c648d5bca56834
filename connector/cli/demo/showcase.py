"""``idp-connector demo``: the whole product on one machine, with nothing to set up.

It starts the mock IdP in this process on a free port with a generated
directory (internal and external users, inactive ones, Entra guests, two
users sharing an email, nested groups), writes a configuration with three
directories of one organization (the mock's Okta, Graph and SCIM dialects,
each with its own kind of credentials, kept in files), creates a SQLite
store, adds a few accounts as if invited by hand before provisioning (some
external, one the IdP does not know), then reviews and syncs each directory
and prints what happened.  Run it again with the same folder: the second
sync changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

import click
from rich.markup import escape

from connector.api.connector import Connector
from connector.cli.output import console
from connector.cli.render import as_dict
from connector.model import AccountOrigin

DEMO_SEED = 2024
DOMAIN = "example.com"
PRODUCTS = {
    "confluence": ["Everyone"],
    "jira-software": ["Engineering"],
    "jira-service-management": ["Support"],
}
DIRECTORIES = (("demo-okta", "okta"), ("demo-entra", "azure_ad"), ("demo-scim", "scim"))


@dataclass
class DemoReport:
    """What one demo run did, as plain data."""

    folder: str
    mock_url: str
    first_run: bool
    invited: list[str] = field(default_factory=list)
    reviews: list[dict[str, Any]] = field(default_factory=list)
    syncs: list[dict[str, Any]] = field(default_factory=list)
    billing_before: dict[str, Any] = field(default_factory=dict)
    billing_after: dict[str, Any] = field(default_factory=dict)

    @property
    def changes(self) -> int:
        """Changes that matter (bookkeeping aside) over every directory's sync."""
        return sum(n for s in self.syncs for n in s["counts"].values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "folder": self.folder,
            "first_run": self.first_run,
            "invited": self.invited,
            "reviews": self.reviews,
            "syncs": self.syncs,
            "billing_before": self.billing_before,
            "billing_after": self.billing_after,
            "changes": self.changes,
        }


def write_config(folder: Path, base_url: str, tenant_id: str, credentials: Any) -> Path:
    """Secrets into ``folder/secrets/`` (mode 600), and a config that references them by file."""
    from mock_idp.connector_config import write_connector_config

    comment = (
        "Written by `idp-connector demo`: three directories of one organization, each one",
        f"dialect of the same mock IdP at {base_url} (it stops when the demo ends).",
        f"demo-okta manages {DOMAIN}: only it links and updates the staff.  The other two read the",
        "same people and report them as conflicts: no directory takes another directory's accounts.",
        f"Try: idp-connector --config {folder / 'connector.toml'} accounts export",
    )
    products = {product: groups[:1] for product, groups in PRODUCTS.items()}
    return write_connector_config(
        folder / "connector.toml", base_url, tenant_id, credentials,
        domain=DOMAIN, prefix="demo", products=products, comment=comment,
    )  # fmt: skip


def invite_by_hand(conn: Connector, directory: Any) -> list[str]:
    """Accounts made before provisioning: two internal people, two external, one the IdP lacks."""
    active = [u for u in directory.users_snapshot() if u.active and u.email and u.user_type == "Member"]
    internal = [u for u in active if u.email.lower().endswith("@" + DOMAIN)][:2]
    external = [u for u in active if not u.email.lower().endswith("@" + DOMAIN)][:1]
    guests = [u for u in directory.users_snapshot() if u.active and u.user_type == "Guest" and u.email][:1]
    invited = []
    for user in internal + external + guests:
        conn.store.add_account(
            user.email, user.display_name, origin=AccountOrigin.INVITED, groups=("Everyone", "Design Reviews")
        )
        invited.append(user.email)
    conn.store.add_account(
        f"former.employee@{DOMAIN}", "Former Employee", origin=AccountOrigin.INVITED, groups=("Everyone",)
    )
    invited.append(f"former.employee@{DOMAIN}")
    return invited


def run_demo(folder: Path, *, users: int = 60, quiet: bool = False) -> DemoReport:
    """Run the demo in ``folder`` and print what happened (unless ``quiet``)."""
    from mock_idp.server import MockIdpServer
    from mock_idp.state.credentials import default_credentials
    from mock_idp.state.generator import generate

    folder = folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    directory = generate(users=users, groups=max(10, users // 6), seed=DEMO_SEED, domain=DOMAIN)
    with MockIdpServer(directory) as server:
        config = write_config(folder, server.url, directory.tenant_id, default_credentials(DEMO_SEED))
        with Connector.from_file(config) as conn:
            report = DemoReport(folder=str(folder), mock_url=server.url, first_run=not conn.store.accounts())
            if report.first_run:
                report.invited = invite_by_hand(conn, directory)
            report.billing_before = as_dict(conn.billing())
            for directory_id, _provider in DIRECTORIES:
                review = conn.review(directory_id, folder / f"review-{directory_id}.csv")
                report.reviews.append(review.to_dict())
                report.syncs.append(as_dict(conn.sync(directory_id, full=True)))
            report.billing_after = as_dict(conn.billing())
    if not quiet:
        print_demo(report, users)
    return report


_WORDS = (
    ("create_account", "accounts created"),
    ("link", "existing accounts linked"),
    ("update_account", "profiles updated"),
    ("activate", "reactivated"),
    ("deactivate", "deactivated"),
    ("create_group", "groups created"),
    ("adopt_group", "local groups adopted"),
    ("update_group", "groups renamed or re-described"),
    ("add_membership", "memberships added"),
    ("remove_membership", "memberships removed"),
)


def _done(counts: dict[str, int]) -> str:
    return ", ".join(f"{counts[a]} {words}" for a, words in _WORDS if counts.get(a)) or "no changes"


def print_demo(report: DemoReport, users: int) -> None:
    out = console()
    say = out.print
    say(
        f"[bold]Mock IdP[/bold]: {users} generated users, served as Okta, Graph and SCIM at {report.mock_url}"
    )
    say(f"Folder: {report.folder} (connector.toml, connector.sqlite, secrets/, review CSVs)")
    if report.first_run:
        say(f"Invited by hand before provisioning: {', '.join(report.invited)}")
    else:
        say("Second run over the same store: nothing should change.")
    for review, sync in zip(report.reviews, report.syncs, strict=True):
        reason = sync.get("read_reason", "read")
        say(f"\n[bold]{sync['directory_id']}[/bold] ({reason}): {_done(sync['counts'])}")
        say(f"  review CSV: {review['path']} ({review['rows']} external users the sync touches)")
        for name in review["mixed_groups"][:3]:
            say(f"  group {escape(repr(name))} mixes internal and external users")
        say(f"  skipped (inactive, never linked): {len(sync.get('skipped') or [])}")
        reasons = {c.get("email"): c.get("reason") for c in sync.get("conflicts") or []}
        for email, reason in list(reasons.items())[:5]:
            say(f"  conflict, nothing linked or created: {escape(str(email))}: {escape(str(reason))}")
        guard = sync.get("guard") or {}
        verdict = f"TRIPPED: {guard.get('message')}" if guard.get("tripped") else "passed"
        say(f"  guard: {escape(verdict)}")
    before, after = report.billing_before, report.billing_after
    say(f"\nBilling: {before.get('billable')} billable accounts before, {after.get('billable')} after")
    for product, count in sorted((after.get("per_product") or {}).items()):
        say(f"  {product}: {count}")
    if report.changes:
        click.echo(
            f"\nDone: {report.changes} changes applied. Run it again: the second sync changes nothing."
        )
    else:
        click.echo("\nDone: nothing changed.")
