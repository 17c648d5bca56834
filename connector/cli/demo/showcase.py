"""``idp-connector demo``: the whole product on one machine, with nothing to set up.

Two customer organizations share one store, each connected to its own mock IdP started in this
process on a free port with a generated directory (internal and external users, inactive ones,
Entra guests, two users sharing an email, nested groups):

* ``acme`` (``example.com``) reads its mock as Okta;
* ``globex`` (``example.org``) reads its mock as Entra ID and as SCIM, and has invited one of
  acme's people as an Entra guest: one email in both organizations, two accounts, billed by acme
  (its verified domain) and not by globex (an external guest there).

It writes the configuration (``[[organizations]]``, secrets kept in files), adds a few accounts to
acme as if invited by hand before provisioning (some external, one the IdP does not know), then
reviews and syncs each organization's directories and prints what happened, and the billing of
each organization on its own.  Run it again with the same folder: the second sync changes nothing.
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
from connector.config.loader import load_config_file
from connector.model import AccountOrigin

DEMO_SEED = 2024
PRODUCTS = {
    "confluence": ["Everyone"],
    "jira-software": ["Engineering"],
    "jira-service-management": ["Support"],
}


@dataclass(frozen=True)
class DemoOrganization:
    """One organization of the demo: its id, domain, mock seed and the dialects it reads."""

    org_id: str
    name: str
    domain: str
    seed: int
    dialects: tuple[str, ...]

    def directory_ids(self) -> list[str]:
        return [f"{self.org_id}-{dialect}" for dialect in self.dialects]


ORGANIZATIONS = (
    DemoOrganization("acme", "Acme Corp", "example.com", DEMO_SEED, ("okta",)),
    DemoOrganization("globex", "Globex", "example.org", DEMO_SEED + 1, ("entra", "scim")),
)
DIRECTORIES = tuple(d for org in ORGANIZATIONS for d in org.directory_ids())


@dataclass
class OrganizationRun:
    """What the demo did in one organization."""

    org_id: str
    invited: list[str] = field(default_factory=list)
    reviews: list[dict[str, Any]] = field(default_factory=list)
    syncs: list[dict[str, Any]] = field(default_factory=list)
    billing_before: dict[str, Any] = field(default_factory=dict)
    billing_after: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "org_id": self.org_id,
            "invited": self.invited,
            "reviews": self.reviews,
            "syncs": self.syncs,
            "billing_before": self.billing_before,
            "billing_after": self.billing_after,
        }


@dataclass
class DemoReport:
    """What one demo run did, as plain data."""

    folder: str
    mock_urls: dict[str, str]
    first_run: bool
    shared_email: str
    organizations: list[OrganizationRun] = field(default_factory=list)

    @property
    def changes(self) -> int:
        """Changes that matter (bookkeeping aside) over every directory's sync."""
        return sum(n for org in self.organizations for s in org.syncs for n in s["counts"].values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "folder": self.folder,
            "first_run": self.first_run,
            "shared_email": self.shared_email,
            "organizations": [org.to_dict() for org in self.organizations],
            "changes": self.changes,
        }


def write_config(folder: Path, served: list[Any]) -> Path:
    """Secrets into ``folder/secrets/<org>/`` (mode 600), and a config that references them by file."""
    from mock_idp.connector_config import write_organizations_config

    comment = (
        "Written by `idp-connector demo`: two organizations in one store, each reading its own",
        "mock IdP (they stop when the demo ends).  acme reads its mock as Okta; globex reads its",
        "mock as Entra ID and SCIM.  In globex, globex-entra manages example.org: the SCIM",
        "directory reads the same people and reports them as conflicts.",
        f"Try: idp-connector --config {folder / 'connector.toml'} --org acme accounts export",
        f"     idp-connector --config {folder / 'connector.toml'} billing --all-orgs",
    )
    return write_organizations_config(folder / "connector.toml", served, comment=comment)


def invite_by_hand(conn: Connector, directory: Any, domain: str) -> list[str]:
    """Accounts made before provisioning: two internal people, two external, one the IdP lacks."""
    active = [u for u in directory.users_snapshot() if u.active and u.email and u.user_type == "Member"]
    internal = [u for u in active if u.email.lower().endswith("@" + domain)][:2]
    external = [u for u in active if not u.email.lower().endswith("@" + domain)][:1]
    guests = [u for u in directory.users_snapshot() if u.active and u.user_type == "Guest" and u.email][:1]
    invited = []
    for user in internal + external + guests:
        conn.store.add_account(
            user.email, user.display_name, origin=AccountOrigin.INVITED, groups=("Everyone", "Design Reviews")
        )
        invited.append(user.email)
    conn.store.add_account(
        f"former.employee@{domain}", "Former Employee", origin=AccountOrigin.INVITED, groups=("Everyone",)
    )
    invited.append(f"former.employee@{domain}")
    return invited


def share_a_person(home: Any, guest_of: Any, domain: str) -> str:
    """Invite one of ``home``'s staff into ``guest_of`` as an Entra guest in its Everyone group."""
    person = next(
        u for u in home.users_snapshot() if u.active and u.email and u.email.lower().endswith("@" + domain)
    )
    if guest_of.user_by_name(person.email) is None:
        guest = guest_of.add_user(
            person.email,
            email=person.email,
            display_name=person.display_name,
            given_name=person.given_name,
            family_name=person.family_name,
            user_type="Guest",
        )
        everyone = next(g for g in guest_of.groups_snapshot() if g.name == "Everyone")
        if not getattr(everyone, "built_in", False):
            guest_of.add_member(everyone.object_id, guest.object_id)
    return str(person.email)


def run_demo(folder: Path, *, users: int = 60, quiet: bool = False) -> DemoReport:
    """Run the demo in ``folder`` and print what happened (unless ``quiet``)."""
    from mock_idp.connector_config import ServedOrganization
    from mock_idp.server import MockIdpServer
    from mock_idp.state.credentials import default_credentials
    from mock_idp.state.generator import generate

    folder = folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    directories = {
        org.org_id: generate(users=users, groups=max(10, users // 6), seed=org.seed, domain=org.domain)
        for org in ORGANIZATIONS
    }
    shared = share_a_person(directories["acme"], directories["globex"], "example.com")
    with MockIdpServer(directories["acme"]) as acme_mock, MockIdpServer(directories["globex"]) as globex_mock:
        mocks = {"acme": acme_mock, "globex": globex_mock}
        served = [
            ServedOrganization(
                org.org_id,
                org.domain,
                mocks[org.org_id].url,
                directories[org.org_id].tenant_id,
                default_credentials(org.seed),
                dialects=org.dialects,
                prefix=org.org_id,
                name=org.name,
                products={product: groups[:1] for product, groups in PRODUCTS.items()},
            )
            for org in ORGANIZATIONS
        ]
        config = load_config_file(write_config(folder, served))
        report = DemoReport(
            folder=str(folder),
            mock_urls={org: mock.url for org, mock in mocks.items()},
            first_run=True,
            shared_email=shared,
        )
        for org in ORGANIZATIONS:
            with Connector(config.organization(org.org_id)) as conn:
                run = OrganizationRun(org.org_id)
                if org.org_id == "acme":
                    report.first_run = not conn.store.accounts()
                    if report.first_run:
                        run.invited = invite_by_hand(conn, directories["acme"], org.domain)
                run.billing_before = as_dict(conn.billing())
                for directory_id in org.directory_ids():
                    review = conn.review(directory_id, folder / f"review-{directory_id}.csv")
                    run.reviews.append(review.to_dict())
                    run.syncs.append(as_dict(conn.sync(directory_id, full=True)))
                run.billing_after = as_dict(conn.billing())
                report.organizations.append(run)
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
    mocks = ", ".join(f"{org} at {url}" for org, url in report.mock_urls.items())
    say(f"[bold]Mock IdPs[/bold]: {users} generated users each ({mocks})")
    say(f"Folder: {report.folder} (connector.toml, connector.sqlite, secrets/, review CSVs)")
    if not report.first_run:
        say("Second run over the same store: nothing should change.")
    for org in report.organizations:
        say(f"\n[bold]Organization {org.org_id}[/bold]")
        if org.invited:
            say(f"Invited by hand before provisioning: {', '.join(org.invited)}")
        for review, sync in zip(org.reviews, org.syncs, strict=True):
            reason = sync.get("read_reason", "read")
            say(f"[bold]{sync['directory_id']}[/bold] ({reason}): {_done(sync['counts'])}")
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
        before, after = org.billing_before, org.billing_after
        say(
            f"Billing of {org.org_id}: {before.get('billable')} billable accounts before, "
            f"{after.get('billable')} after"
        )
        for product, count in sorted((after.get("per_product") or {}).items()):
            say(f"  {product}: {count}")
    say(
        f"\n{escape(report.shared_email)} is in both organizations: two accounts, billed by acme (its "
        "verified domain) and not by globex (an external guest there)."
    )
    if report.changes:
        click.echo(
            f"\nDone: {report.changes} changes applied. Run it again: the second sync changes nothing."
        )
    else:
        click.echo("\nDone: nothing changed.")
