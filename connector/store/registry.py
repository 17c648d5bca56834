"""Organizations and directories kept as data: what ``config apply``, ``orgs`` and ``directories``
write, and what a run loads when the configuration file does not declare a directory.

The store never sees a secret in the clear: a directory's ``secrets`` are tokens the caller
sealed (:mod:`connector.vault`), kept as a JSON object ``{secret name: token}`` in the
``directories.secrets`` column.  Secret *references* (``token_env``, ``client_secret_file``)
stay references inside ``settings``.

Rules held here: ids are slugs; a directory keeps its provider and its organization; a domain
is verified by one organization; an organization or directory that holds accounts or links is
removed only when forced, and a refusal says what would go.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import TYPE_CHECKING
from typing import Any

from sqlalchemy import Connection
from sqlalchemy import Table
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from connector.errors import ConfigError
from connector.errors import StoreError
from connector.store import tables as t
from connector.store.tenancy import check_org_id

if TYPE_CHECKING:
    from connector.store.store import Store

MODES = ("pull", "push")
"""How a directory's identities reach the connector: read by the runs, or written to it."""

_DIRECTORY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def check_directory_id(directory_id: str) -> str:
    """``directory_id`` when it is usable (the configuration's rule: letters, digits, '.', '_', '-')."""
    if not isinstance(directory_id, str) or not _DIRECTORY_ID.match(directory_id):
        raise ConfigError(
            f"{directory_id!r} is not a directory id: use letters, digits, '.', '_' or '-' (at most 64), "
            "starting with a letter or digit, e.g. 'okta-main'"
        )
    return directory_id


@dataclass(frozen=True)
class OrganizationEntry:
    """An organization as data: its name, verified domains, product grants and settings.

    ``settings`` holds the guard and sync values that override the defaults, as
    ``{"guard": {...}, "sync": {...}}`` (empty when none).
    """

    org_id: str
    name: str
    verified_domains: tuple[str, ...] = ()
    product_grants: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    settings: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DirectoryEntry:
    """A directory as data, of organization ``org_id``.

    ``settings`` is the directory's table as a configuration file writes it, without ``id``,
    ``provider`` and ``base_url`` (secret references included, never a secret's value);
    ``secrets`` maps a secret's name (``client_secret``, ``token``, ...) to its sealed token.
    ``settings`` is None for a directory the store only registered for a file's runs.
    """

    org_id: str
    directory_id: str
    provider: str
    mode: str = "pull"
    base_url: str | None = None
    settings: Mapping[str, Any] | None = None
    secrets: Mapping[str, str] = field(default_factory=dict)
    schedule: str | None = None
    disabled: bool = False

    @property
    def as_data(self) -> bool:
        """Whether the store holds how to reach it (not only its state from a file's runs)."""
        return self.settings is not None


@dataclass(frozen=True)
class Holdings:
    """What an organization or a directory holds: what removing it would take away."""

    counts: Mapping[str, int]

    @property
    def empty(self) -> bool:
        """Whether it holds no account and no link (what a removal without force needs)."""
        return not (self.counts.get("accounts") or self.counts.get("links"))

    def describe(self) -> str:
        """``3 links, 2 groups`` (the non-zero counts), or ``nothing``."""
        parts = [f"{n} {name}" for name, n in self.counts.items() if n]
        return ", ".join(parts) or "nothing"


_DIRECTORY_TABLES = (
    "links",
    "idp_users",
    "idp_groups",
    "idp_members",
    "conflicts",
    "hand_unlinks",
    "push_tokens",
    "staged_changes",
)
"""The tables whose rows belong to one directory and go with it."""

_ORGANIZATION_TABLES = (
    "events",
    "event_retention",
    "webhook_dead_letters",
    "webhook_endpoints",
    "api_keys",
    "audit_log",
    "sync_runs",
    "memberships",
    "conflicts",
    "hand_unlinks",
    "push_tokens",
    "staged_changes",
    "idp_members",
    "idp_groups",
    "idp_users",
    "links",
    "account_keys",
    "groups",
    "accounts",
    "directories",
    "product_grants",
    "verified_domains",
)
"""An organization's tables, in an order that deletes what refers to a row before the row."""


class StoreRegistry:
    """Organizations and directories as data (a mixin of :class:`~connector.store.Store`).

    The methods name the organization they work on; they read and write across organizations
    (the operator's view), so they check ids themselves.
    """

    org: str

    def transaction(self, *, write: bool = True) -> contextlib.AbstractContextManager[Connection]:
        raise NotImplementedError

    def for_org(self, org: str) -> Store:
        raise NotImplementedError

    # ------------------------------------------------------------------ organizations

    def organization_entry(self, org_id: str) -> OrganizationEntry | None:
        """The organization ``org_id`` as data; None when the store does not hold it."""
        check_org_id(org_id)
        o = t.organizations.c
        with self.transaction(write=False) as conn:
            row = conn.execute(select(o.name, o.settings).where(o.org_id == org_id)).first()
            if row is None:
                return None
            v, g = t.verified_domains.c, t.product_grants.c
            domains = conn.execute(select(v.domain).where(v.org_id == org_id).order_by(v.domain)).scalars()
            grants: dict[str, list[str]] = {}
            for product, group in conn.execute(
                select(g.product, g.group_name).where(g.org_id == org_id).order_by(g.product, g.group_name)
            ):
                grants.setdefault(product, []).append(group)
            return OrganizationEntry(
                org_id=org_id,
                name=row.name,
                verified_domains=tuple(domains),
                product_grants={p: tuple(names) for p, names in grants.items()},
                settings=dict(row.settings or {}),
            )

    def organization_entries(self) -> list[OrganizationEntry]:
        """Every organization of the store as data, by id."""
        o = t.organizations.c
        with self.transaction(write=False) as conn:
            ids = list(conn.execute(select(o.org_id).order_by(o.org_id)).scalars())
        return [entry for entry in map(self.organization_entry, ids) if entry is not None]

    def save_organization(self, entry: OrganizationEntry) -> None:
        """Create or update an organization: name, settings, verified domains, product grants.

        A domain another organization verified is refused, naming both.
        """
        check_org_id(entry.org_id)
        if not entry.name or not entry.name.strip():
            raise StoreError(f"organization {entry.org_id!r} needs a non-empty name")
        scoped = self.for_org(entry.org_id)
        scoped.ensure_organization(entry.org_id, entry.name)
        scoped.set_verified_domains(entry.verified_domains)
        scoped.set_product_grants(entry.product_grants)
        o = t.organizations.c
        settings = json.loads(json.dumps(dict(entry.settings)))  # plain JSON, or a TypeError here
        with self.transaction() as conn:
            current = conn.execute(select(o.name, o.settings).where(o.org_id == entry.org_id)).one()
            if current.name != entry.name or dict(current.settings or {}) != settings:
                conn.execute(
                    update(t.organizations)
                    .where(o.org_id == entry.org_id)
                    .values(name=entry.name, settings=settings)
                )

    def organization_holdings(self, org_id: str) -> Holdings:
        """How many directories, accounts, links, groups and runs the organization holds."""
        names = ("directories", "accounts", "links", "groups", "sync_runs")
        with self.transaction(write=False) as conn:
            return Holdings({name: _count(conn, t.metadata.tables[name], org_id) for name in names})

    def remove_organization(self, org_id: str, *, force: bool = False) -> Holdings:
        """Delete the organization and everything it holds; what went.

        Refused (naming what would go) when it holds accounts or links, unless ``force``.
        """
        check_org_id(org_id)
        if self.organization_entry(org_id) is None:
            raise StoreError(f"the store holds no organization {org_id!r}")
        holdings = self.organization_holdings(org_id)
        if not holdings.empty and not force:
            raise StoreError(
                f"organization {org_id!r} holds {holdings.describe()}: removing it deletes them all; "
                "force the removal (--force) if that is meant"
            )
        with self.transaction() as conn:
            for name in _ORGANIZATION_TABLES:
                table = t.metadata.tables[name]
                conn.execute(delete(table).where(table.c.org_id == org_id))
            conn.execute(delete(t.organizations).where(t.organizations.c.org_id == org_id))
        return holdings

    # ------------------------------------------------------------------ directories

    def directory_entry(self, org_id: str, directory_id: str) -> DirectoryEntry | None:
        """One directory of ``org_id`` as the store holds it; None when it holds none."""
        check_org_id(org_id)
        entries = self._directory_entries(org_id, directory_id)
        return entries[0] if entries else None

    def directory_entries(self, org_id: str | None = None) -> list[DirectoryEntry]:
        """The directories of ``org_id`` (of every organization when None), by organization and id."""
        if org_id is not None:
            check_org_id(org_id)
        return self._directory_entries(org_id, None)

    def _directory_entries(self, org_id: str | None, directory_id: str | None) -> list[DirectoryEntry]:
        d = t.directories.c
        query = select(
            d.org_id,
            d.directory_id,
            d.provider,
            d.mode,
            d.base_url,
            d.settings,
            d.secrets,
            d.schedule,
            d.disabled,
        ).order_by(d.org_id, d.directory_id)
        if org_id is not None:
            query = query.where(d.org_id == org_id)
        if directory_id is not None:
            query = query.where(d.directory_id == directory_id)
        with self.transaction(write=False) as conn:
            rows = conn.execute(query).all()
        return [
            DirectoryEntry(
                org_id=r.org_id,
                directory_id=r.directory_id,
                provider=r.provider,
                mode=r.mode or "pull",
                base_url=r.base_url,
                settings=dict(r.settings) if r.settings is not None else None,
                secrets=_secrets_of(r.secrets, r.org_id, r.directory_id),
                schedule=r.schedule,
                disabled=bool(r.disabled),
            )
            for r in rows
        ]

    def save_directory(self, entry: DirectoryEntry, *, keep_secrets: bool = False) -> None:
        """Create or update a directory of ``entry.org_id`` as data.

        A directory never changes its provider.  ``entry.secrets`` must be sealed tokens (the
        store keeps what it is given); with ``keep_secrets`` the stored ones stay as they are.
        """
        check_org_id(entry.org_id)
        check_directory_id(entry.directory_id)
        if entry.mode not in MODES:
            raise StoreError(f"directory {entry.directory_id!r}: mode {entry.mode!r} is not one of {MODES}")
        for name, token in entry.secrets.items():
            if not isinstance(token, str) or not token.startswith("v1:"):
                raise StoreError(
                    f"directory {entry.directory_id!r}: secret {name!r} is not sealed; "
                    "seal it with the vault before it is stored"
                )
        if self.organization_entry(entry.org_id) is None:
            raise StoreError(
                f"the store holds no organization {entry.org_id!r}: add it first (`idp-connector orgs add`)"
            )
        self.for_org(entry.org_id).ensure_directory(entry.directory_id, entry.provider)
        values: dict[str, Any] = {
            "mode": entry.mode,
            "base_url": entry.base_url,
            "settings": json.loads(json.dumps(dict(entry.settings or {}))),
            "schedule": entry.schedule,
            "disabled": entry.disabled,
        }
        if not keep_secrets:
            values["secrets"] = json.dumps(dict(entry.secrets), sort_keys=True) if entry.secrets else None
        d = t.directories.c
        with self.transaction() as conn:
            conn.execute(
                update(t.directories)
                .where(d.org_id == entry.org_id, d.directory_id == entry.directory_id)
                .values(**values)
            )

    def set_directory_disabled(self, org_id: str, directory_id: str, disabled: bool) -> None:
        """Disable (or enable again) a directory: ``sync`` skips a disabled one, saying so."""
        self._require_directory(org_id, directory_id)
        d = t.directories.c
        with self.transaction() as conn:
            conn.execute(
                update(t.directories)
                .where(d.org_id == org_id, d.directory_id == directory_id)
                .values(disabled=disabled)
            )

    def replace_directory_secrets(
        self, org_id: str, directory_id: str, expected: Mapping[str, str], secrets: Mapping[str, str]
    ) -> bool:
        """Write ``secrets`` (sealed) when the stored ones are still ``expected``; whether it did.

        A secret rotation re-seals what it read: another writer in between wins, and the rotation
        counts that directory as left for the next one.
        """
        d = t.directories.c
        where = (d.org_id == org_id, d.directory_id == directory_id)
        with self.transaction() as conn:
            current = conn.execute(select(d.secrets).where(*where).with_for_update()).scalar()
            if _secrets_of(current, org_id, directory_id) != dict(expected):
                return False
            conn.execute(
                update(t.directories).where(*where).values(secrets=json.dumps(dict(secrets), sort_keys=True))
            )
        return True

    def directory_holdings(self, org_id: str, directory_id: str) -> Holdings:
        """What the directory holds: links, mirrored identities, managed groups, memberships, conflicts."""
        with self.transaction(write=False) as conn:
            counts = {
                "links": _count(conn, t.links, org_id, directory_id),
                "identities": _count(conn, t.idp_users, org_id, directory_id),
                "managed groups": _count(conn, t.groups, org_id, directory_id),
                "memberships": conn.execute(
                    select(func.count()).where(
                        t.memberships.c.org_id == org_id, t.memberships.c.source == directory_id
                    )
                ).scalar_one(),
                "conflicts": _count(conn, t.conflicts, org_id, directory_id),
            }
        return Holdings(counts)

    def remove_directory(self, org_id: str, directory_id: str, *, force: bool = False) -> Holdings:
        """Delete a directory, its links, mirror, conflicts and the memberships it gave; what went.

        The accounts stay (they are the product's), and the groups it managed stay as local
        groups.  Refused (naming what would go) when it holds links, unless ``force``.
        """
        self._require_directory(org_id, directory_id)
        holdings = self.directory_holdings(org_id, directory_id)
        if not holdings.empty and not force:
            raise StoreError(
                f"directory {directory_id!r} of organization {org_id!r} holds {holdings.describe()}: "
                "removing it unlinks those accounts (they stay, the groups it managed become local); "
                "force the removal (--force) if that is meant"
            )
        with self.transaction() as conn:
            m = t.memberships.c
            conn.execute(delete(t.memberships).where(m.org_id == org_id, m.source == directory_id))
            for name in _DIRECTORY_TABLES:
                table = t.metadata.tables[name]
                conn.execute(
                    delete(table).where(table.c.org_id == org_id, table.c.directory_id == directory_id)
                )
            g = t.groups.c
            conn.execute(
                update(t.groups)
                .where(g.org_id == org_id, g.directory_id == directory_id)
                .values(directory_id=None, idp_group_id=None)
            )
            d = t.directories.c
            conn.execute(delete(t.directories).where(d.org_id == org_id, d.directory_id == directory_id))
        return holdings

    def _require_directory(self, org_id: str, directory_id: str) -> None:
        if self.directory_entry(org_id, directory_id) is None:
            raise StoreError(f"organization {org_id!r} has no directory {directory_id!r} in the store")


def _count(conn: Connection, table: Table, org_id: str, directory_id: str | None = None) -> int:
    query = select(func.count()).select_from(table).where(table.c.org_id == org_id)
    if directory_id is not None:
        query = query.where(table.c.directory_id == directory_id)
    return int(conn.execute(query).scalar_one())


def _secrets_of(column: str | None, org_id: str, directory_id: str) -> dict[str, str]:
    """The ``secrets`` column as ``{name: sealed token}``; StoreError naming the directory if unreadable."""
    if not column:
        return {}
    try:
        value = json.loads(column)
    except ValueError:
        value = None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise StoreError(
            f"directory {directory_id!r} of organization {org_id!r}: its stored secrets are not a JSON "
            "object of sealed tokens; set them again (`idp-connector directories add ... --replace`)"
        )
    return {str(k): v for k, v in value.items()}
