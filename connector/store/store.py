"""The :class:`Store`: the product's accounts, groups, links and run history.

Copy semantics (as scim2-server's backend states its own): every reader
returns fresh frozen records; nothing a caller holds changes when the store
does, and changing the store goes through these methods or
:func:`connector.apply.applier.apply_plan`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from typing import TYPE_CHECKING
from typing import Any

from sqlalchemy import Connection
from sqlalchemy import Engine
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import InterfaceError
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import SQLAlchemyError

from connector.emails import InvalidEmailError
from connector.emails import normalize_domain
from connector.errors import StoreError
from connector.model import Account
from connector.model import AccountStatus
from connector.model import DirectoryState
from connector.model import Group
from connector.model import GroupMembership
from connector.model import Link
from connector.model import StoreSnapshot
from connector.store import engine as engines
from connector.store import lock
from connector.store import snapshot as snap
from connector.store import tables as t
from connector.store.address_keys import refresh_account_keys
from connector.store.api_keys import ApiKeys
from connector.store.conflicts import ConflictLog
from connector.store.engine import sqlite_path
from connector.store.hand_links import HandLinks
from connector.store.local import LocalObjects
from connector.store.mirror import MirrorReads
from connector.store.organizations import Organizations
from connector.store.outbox import Outbox
from connector.store.push_reads import DirectoryLookup
from connector.store.push_tokens import PushTokens
from connector.store.registry import StoreRegistry
from connector.store.revision import read_revision
from connector.store.revision import record_billing
from connector.store.runs import RunLog
from connector.store.runs import utcnow
from connector.store.scope import keep_keys_fresh
from connector.store.scoped_reads import accounts_by_id
from connector.store.scoped_reads import memberships_of
from connector.store.staged import StagedChanges
from connector.store.tenancy import DEFAULT_ORG
from connector.store.tenancy import ORG_OPTION
from connector.store.tenancy import check_org_id
from connector.store.tenancy import in_directory
from connector.store.tenancy import in_org
from connector.store.tenancy import org_of
from connector.store.webhooks import WebhookEndpoints

if TYPE_CHECKING:
    from connector.rules.billing import BillingReport

DEFAULT_URL = "sqlite:///connector.sqlite"
STATISTICS_TABLES = (
    "accounts",
    "account_keys",
    "links",
    "groups",
    "memberships",
    "idp_users",
    "idp_groups",
    "idp_members",
)
"""The tables a large apply fills, whose statistics :meth:`Store.refresh_statistics` refreshes."""


def unreachable(exc: DBAPIError) -> StoreError:
    """A StoreError for a database that failed us, with its own first line (never the URL)."""
    return StoreError(f"the store's database failed: {first_line(exc)}")


def first_line(exc: SQLAlchemyError) -> str:
    lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


class Store(
    RunLog,
    LocalObjects,
    MirrorReads,
    ConflictLog,
    HandLinks,
    Organizations,
    StoreRegistry,
    PushTokens,
    StagedChanges,
    Outbox,
    WebhookEndpoints,
    ApiKeys,
):
    """The product store on SQLite (a file) or PostgreSQL, as one organization sees it.

    Open with :meth:`open`; :meth:`for_org` gives the same database as another organization
    sees it (one engine, one pool).  Every read and write of this object is that organization's.
    """

    def __init__(self, engine: Engine, org: str = DEFAULT_ORG, *, owns_engine: bool = True) -> None:
        self.engine = engine
        self.org = check_org_id(org)
        self._owns_engine = owns_engine

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    def open(
        cls, url: str = DEFAULT_URL, *, upgrade: bool = True, org: str = DEFAULT_ORG, register: bool = True
    ) -> Store:
        """Connect to ``url`` for organization ``org``; with ``upgrade`` an empty or older
        database is migrated to head (a store from before organizations were data becomes
        ``org``'s), and ``org`` is registered if it is not yet.

        Without ``upgrade`` a database that is not at head is refused with a
        :class:`StoreError` that says to run ``db upgrade``.  ``register=False`` leaves ``org``
        unregistered (the operator's commands, which name the organizations they touch).
        """
        store = cls(engines.make_engine(url), org)
        try:
            if upgrade:
                store.upgrade()
                if register:
                    store.ensure_organization(org)
            else:
                store.check_schema()
        except BaseException:
            store.close()
            raise
        return store

    def for_org(self, org: str) -> Store:
        """This database as organization ``org`` sees it: the same engine, another scope.

        Closing it leaves the engine to the store it came from.
        """
        return type(self)(self.engine, org, owns_engine=False)

    def lookup(self, directory_id: str) -> DirectoryLookup:
        """Reads of a few of the directory's mirrored users and groups (a push request's)."""
        return DirectoryLookup(lambda: self.transaction(write=False), directory_id)

    def close(self) -> None:
        if self._owns_engine:
            self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def upgrade(self) -> None:
        """Bring the schema to the newest migration (``alembic upgrade head``).

        A store that was migrated has every organization's account address keys worked out
        afresh: a migration may have rebuilt or emptied them, and a scoped run counts on them
        (:func:`~connector.store.scope.keep_keys_fresh`)."""
        try:
            before = self.schema_revision()
            engines.upgrade(self.engine, organization_id=self.org)
            if before is not None and before != engines.HEAD_REVISION:
                for entry in self.organization_entries():
                    with self.for_org(entry.org_id).transaction() as conn:
                        refresh_account_keys(conn)
        except (OperationalError, InterfaceError) as exc:
            raise unreachable(exc) from exc
        except SQLAlchemyError as exc:
            raise StoreError(f"could not migrate the store: {type(exc).__name__}: {first_line(exc)}") from exc

    def schema_revision(self) -> str | None:
        """The migration the database is at; None when it is empty."""
        return engines.current_revision(self.engine)

    def check_schema(self) -> None:
        """Refuse a database that is not at the newest migration."""
        try:
            current, head = self.schema_revision(), engines.HEAD_REVISION
        except (OperationalError, InterfaceError) as exc:
            raise unreachable(exc) from exc
        if current != head:
            raise StoreError(
                f"the store's schema is at {current or 'nothing (empty database)'}, the code needs {head}: "
                "run `idp-connector db upgrade`"
            )

    @property
    def threads_share_one_connection(self) -> bool:
        """An in-memory SQLite store: every thread shares its one connection, so load on the caller's."""
        return self.engine.dialect.name == "sqlite" and sqlite_path(self.engine) is None

    @contextlib.contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Connection]:
        """A connection in one transaction; committed on success, rolled back on error.

        A lost or refused connection (or SQLite's "database is locked" after
        the busy timeout) becomes a :class:`StoreError`; other database
        errors, constraint violations among them, pass through as they are.
        """
        try:
            with self.engine.connect() as conn:
                conn.execution_options(**{ORG_OPTION: self.org})
                if write:
                    conn.execution_options(**{engines.WRITE: True})
                with conn.begin():
                    if write and conn.dialect.name == "postgresql":
                        # the store revision's trigger bumps this organization's (migration 0006)
                        conn.execute(
                            text("SELECT set_config('connector.org', :org, true)"), {"org": self.org}
                        )
                    yield conn
        except (OperationalError, InterfaceError) as exc:
            raise unreachable(exc) from exc

    @contextlib.contextmanager
    def run_lock(self, directory_id: str, *, wait: lock.Wait = False) -> Iterator[None]:
        """Hold this directory's run lock; :class:`RunInProgressError` if taken and not ``wait``
        (``wait`` a number: if still taken after that many seconds)."""
        path = engines.sqlite_path(self.engine)
        if self.engine.dialect.name == "postgresql":
            guard = lock.postgres_lock(self.engine, directory_id, wait=wait, org=self.org)
        elif path is not None:
            guard = lock.file_lock(path, directory_id, wait=wait, org=self.org)
        else:
            guard = lock.local_lock(f"{id(self.engine)}\0{self.org}\0{directory_id}", wait=wait)
        try:
            with guard:
                yield
        except (OperationalError, InterfaceError) as exc:
            raise unreachable(exc) from exc

    @contextlib.contextmanager
    def writing_run(self, directory_id: str, *, wait: lock.Wait = False) -> Iterator[None]:
        """Hold the organization's lock, then the directory's, for a run that writes: the
        organization's directories share its accounts (:mod:`connector.store.lock`).
        :class:`~connector.errors.OrganizationBusyError` when another run of the organization
        holds it."""
        with self.run_lock(lock.ORGANIZATION_LOCK, wait=wait), self.run_lock(directory_id, wait=wait):
            yield

    # ------------------------------------------------------------------ organization settings

    def organization_name(self) -> str | None:
        """The organization's name (None until it is registered)."""
        with self.transaction(write=False) as conn:
            o = t.organizations.c
            return conn.execute(select(o.name).where(o.org_id == org_of(conn))).scalar()

    def set_organization_name(self, name: str) -> None:
        if not name or not name.strip():
            raise StoreError("the organization needs a non-empty name")
        self.ensure_organization(self.org)
        with self.transaction() as conn:
            o = t.organizations.c
            conn.execute(update(t.organizations).where(o.org_id == org_of(conn)).values(name=name))

    def verified_domains(self) -> tuple[str, ...]:
        with self.transaction(write=False) as conn:
            v = t.verified_domains.c
            rows = conn.execute(select(v.domain).where(in_org(conn, t.verified_domains)).order_by(v.domain))
            return tuple(r[0] for r in rows)

    def set_verified_domains(self, domains: Iterable[str]) -> None:
        """Replace the organization's verified domains; each is IDNA-encoded and lower-cased.

        A domain another organization verified is refused, naming both: a domain is verified
        by one organization.
        """
        if isinstance(domains, str):
            raise StoreError("verified domains must be a list of domains, not one string")
        normal = []
        for domain in domains:
            try:
                normal.append(normalize_domain(domain))
            except InvalidEmailError as exc:
                raise StoreError(f"{domain!r} is not a domain name: {exc}") from exc
        self.ensure_organization(self.org)
        with self.transaction() as conn:
            v = t.verified_domains.c
            mine = in_org(conn, t.verified_domains)
            if set(conn.execute(select(v.domain).where(mine)).scalars()) == set(normal):
                return  # unchanged: no write, so the store revision stays (connector.store.revision)
            taken = conn.execute(
                select(v.domain, v.org_id)
                .where(v.org_id != org_of(conn), v.domain.in_(normal))
                .order_by(v.domain)
            ).first()
            if taken is not None:
                raise StoreError(
                    f"domain {taken.domain!r} is verified by organization {taken.org_id!r}, so "
                    f"{self.org!r} cannot verify it too: a domain is verified by one organization"
                )
            conn.execute(delete(t.verified_domains).where(mine))
            if normal:
                conn.execute(
                    insert(t.verified_domains),
                    [{"domain": d, "org_id": self.org} for d in dict.fromkeys(normal)],
                )

    def product_grants(self) -> dict[str, tuple[str, ...]]:
        """Product -> names of the groups that grant it."""
        grants: dict[str, list[str]] = {}
        with self.transaction(write=False) as conn:
            c = t.product_grants.c
            query = select(c.product, c.group_name).where(in_org(conn, t.product_grants)).order_by(c.product)
            for product, group_name in conn.execute(query):
                grants.setdefault(product, []).append(group_name)
        return {p: tuple(sorted(g)) for p, g in grants.items()}

    def set_product_grants(self, grants: Mapping[str, Iterable[str]]) -> None:
        """Replace the product grants: product -> group names."""
        rows = []
        for product, names in grants.items():
            if not isinstance(product, str) or not product.strip():
                raise StoreError(f"a product name must be a non-empty string, got {product!r}")
            if isinstance(names, str):
                raise StoreError(f"the groups granting {product!r} must be a list, not one string")
            rows += [{"org_id": self.org, "product": product, "group_name": n} for n in dict.fromkeys(names)]
        self.ensure_organization(self.org)
        with self.transaction() as conn:
            c = t.product_grants.c
            mine = in_org(conn, t.product_grants)
            if {tuple(r) for r in conn.execute(select(c.product, c.group_name).where(mine))} == {
                (r["product"], r["group_name"]) for r in rows
            }:
                return  # unchanged: no write, so the store revision stays
            conn.execute(delete(t.product_grants).where(mine))
            if rows:
                conn.execute(insert(t.product_grants), rows)

    # ------------------------------------------------------------------ directories

    def ensure_directory(self, directory_id: str, provider: str) -> None:
        """Register a directory (once); a directory never changes its provider."""
        if not directory_id or not provider:
            raise StoreError("a directory needs a non-empty id and provider name")
        self.ensure_organization(self.org)
        with self.transaction() as conn:
            known = conn.execute(
                select(t.directories.c.provider).where(in_directory(conn, t.directories, directory_id))
            ).scalar()
            if known is None:
                conn.execute(
                    insert(t.directories).values(
                        org_id=org_of(conn),
                        directory_id=directory_id,
                        provider=provider,
                        synced_before=False,
                        created_at=utcnow(),
                    )
                )
            elif known != provider:
                raise StoreError(
                    f"directory {directory_id!r} is registered with provider {known!r}, not {provider!r}: "
                    "IdP ids of one provider mean nothing to another; give the new connection a new id"
                )

    def directory_state(self, directory_id: str) -> DirectoryState | None:
        with self.transaction(write=False) as conn:
            return snap.load_directory(conn, directory_id)

    # ------------------------------------------------------------------ the planner's view

    def snapshot(self, directory_id: str) -> StoreSnapshot:
        """The store as the planner of ``directory_id`` sees it, read in one transaction."""
        with self.transaction(write=False) as conn:
            return snap.load_snapshot(conn, directory_id)

    def fingerprint(self, directory_id: str) -> str:
        """Changes whenever the planner's input from the store changes (see ``fingerprint_of``)."""
        return self.planning_input(directory_id)[1]

    def planning_input(
        self, directory_id: str, *, fingerprint: bool = True
    ) -> tuple[StoreSnapshot, str, int]:
        """The snapshot, its fingerprint and the store revision, read in one transaction.

        ``fingerprint=False`` skips the digest (``""``): a sync applies its plan
        at once under the run lock, so only a saved plan needs one.  The
        revision (:mod:`connector.store.revision`) goes with the plan to apply.
        """
        with self.transaction(write=False) as conn:
            snapshot = snap.load_snapshot(conn, directory_id)
            domains = [
                r[0]
                for r in conn.execute(
                    select(t.verified_domains.c.domain).where(in_org(conn, t.verified_domains))
                )
            ]
            revision = read_revision(conn)
        return snapshot, snap.fingerprint_of(snapshot, domains) if fingerprint else "", revision

    def accounts(self) -> list[Account]:
        with self.transaction(write=False) as conn:
            return sorted(snap.load_accounts(conn).values(), key=lambda a: a.account_id)

    def account(self, account_id: str) -> Account | None:
        with self.transaction(write=False) as conn:
            return snap.load_accounts(conn).get(account_id) if account_id else None

    def links(self, directory_id: str | None = None) -> list[Link]:
        with self.transaction(write=False) as conn:
            return sorted(
                snap.load_links(conn, directory_id).values(), key=lambda k: (k.directory_id, k.idp_user_id)
            )

    def groups(self) -> list[Group]:
        with self.transaction(write=False) as conn:
            return sorted(snap.load_groups(conn).values(), key=lambda g: g.group_id)

    def memberships(self) -> list[GroupMembership]:
        with self.transaction(write=False) as conn:
            return sorted(snap.load_memberships(conn), key=lambda m: (m.group_id, m.account_id, m.source))

    def billing(self, account_ids: Collection[str] | None = None) -> BillingReport:
        """Billable accounts, overall and per product, from the stored grants and domains.

        With ``account_ids``, the share of those accounts only (the report is a sum over
        accounts): what a run that touched a few accounts adds to or takes from the whole.
        """
        from connector.rules.billing import billing

        grants = self.product_grants()
        granting = {name for names in grants.values() for name in names}
        domains = self.verified_domains()
        with self.transaction(write=False) as conn:
            groups = list(snap.load_groups(conn).values())
            # only memberships of groups that grant a product can count: none without grants
            group_ids = [g.group_id for g in groups if g.name in granting]
            if account_ids is None:  # the accounts streamed: a whole organization's never held at once
                memberships = snap.load_memberships_of_groups(conn, group_ids)
                accounts = snap.iter_accounts(conn, active_only=True)
                return billing(accounts, groups, memberships, grants, domains)
            active = AccountStatus.ACTIVE
            some = [a for a in accounts_by_id(conn, account_ids).values() if a.status is active]
            wanted = set(group_ids)
            memberships = [m for m in memberships_of(conn, account_ids) if m.group_id in wanted]
        return billing(some, groups, memberships, grants, domains)

    def refresh_address_keys(self, directory_id: str) -> None:
        """Work out every stale or missing address key of the organization's accounts and the
        directory's mirror (:func:`connector.store.scope.keep_keys_fresh`)."""
        with self.transaction() as conn:
            keep_keys_fresh(conn, directory_id)

    def refresh_statistics(self) -> None:
        """After a large apply, bring PostgreSQL's planner statistics up to date (``ANALYZE``).

        A first sync writes a whole directory into tables the planner knew empty; until
        autovacuum analyzes them (a minute or more later) it plans the next queries blind,
        and it once chose an index on two of a key's three columns for a correlated look-up,
        turning a 100k-user re-run from seconds into hours.  SQLite plans without statistics
        unless asked to, and is left so: its queries are written for that.
        """
        if self.engine.dialect.name != "postgresql":
            return
        with self.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.execute(text(f"ANALYZE {', '.join(STATISTICS_TABLES)}"))

    def keep_billing(self, directory_id: str, billing: BillingReport) -> bool:
        """Keep the billing figures with the directory's planned revision, if that is still the
        store's (:func:`connector.store.revision.record_billing`); whether they were kept."""
        with self.transaction() as conn:
            return record_billing(conn, directory_id, billing.to_dict())

    def counts(self) -> dict[str, Any]:
        """Rows per table: a cheap health figure for reports and tests."""
        names = ("accounts", "links", "groups", "memberships", "sync_runs", "audit_log", "idp_users")
        with self.transaction(write=False) as conn:
            return {
                n: conn.execute(select(func.count()).where(in_org(conn, t.metadata.tables[n]))).scalar_one()
                for n in names
            }
