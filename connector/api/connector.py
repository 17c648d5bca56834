"""The Python API: what a gateway embedding the connector calls, and all the CLI calls.

::

    from connector import Connector

    with Connector.from_file("connector.toml") as conn:
        for result in conn.check():
            print(result.to_dict())
        report = conn.sync("okta-main")          # read, plan, guard, apply
        print(report.to_dict()["counts"])

Every method works on one directory (by id) or, where it says so, on all of
them; every report has ``to_dict()`` giving plain JSON-ready data (the same
data the CLI prints with ``--json``).  Errors are the classes of
:mod:`connector.errors`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Collection
from collections.abc import Iterable
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from connector.api.accounts_csv import parse_rows
from connector.api.reports import CheckReport
from connector.api.reports import PlanReport
from connector.api.reports import ReviewReport
from connector.config.loader import Config
from connector.config.loader import DirectoryConfig
from connector.config.loader import config_from_dict
from connector.config.loader import load_config
from connector.emails import try_parse_email
from connector.errors import ConfigError
from connector.errors import ConnectorError
from connector.errors import StalePlanError
from connector.model import AccountOrigin
from connector.net.settings import Secret
from connector.progress import Progress
from connector.providers.base import Provider
from connector.rules.plan import Plan

CHECK_THREADS = 8
"""Directories ``check`` reaches at once."""


class Connector:
    """One organization's configuration, its store (as that organization sees it), and its directories.

    The store is opened (and migrated) on first use and closed by
    :meth:`close`; providers are opened per call and always closed.
    """

    def __init__(self, config: Config, *, store: Any = None, progress: Progress | None = None) -> None:
        self.config = config
        self.progress = progress
        if store is not None and getattr(store, "org", config.org_id) != config.org_id:
            store = store.for_org(config.org_id)  # the same database, as this organization sees it
        self._store = store
        self._owns_store = store is None
        self._prepared = False
        self.directory_problems: dict[str, ConnectorError] = {}
        """Directories that cannot run, with why (a stored secret that does not open): each run
        that needs one fails with its error; the others run (:mod:`connector.api.registry`)."""
        self.disabled: frozenset[str] = frozenset()
        """Directories disabled in the store (``directories disable``): ``sync`` skips them."""

    @classmethod
    def from_file(
        cls,
        path: str | os.PathLike[str],
        *,
        env: Mapping[str, str] | None = None,
        secrets: bool = True,
        secrets_of: str | None = None,
        org: str | None = None,
        **kwargs: Any,
    ) -> Connector:
        """Load and validate a TOML configuration file (see docs/configuration.md), for
        organization ``org`` (by default the only one the file declares).

        ``env`` replaces ``os.environ`` for the ``*_env`` secret references;
        ``secrets=False`` leaves them unread, for work on the store alone;
        ``secrets_of`` reads only that directory's (a command for one directory).
        """
        config = load_config(path, env=env, secrets=secrets, secrets_of=secrets_of, org=org)
        return cls(config, **kwargs)

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        *,
        base_dir: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        org: str | None = None,
        **kwargs: Any,
    ) -> Connector:
        """Validate a dict of the TOML file's shape; relative paths are taken from ``base_dir``."""
        return cls(config_from_dict(data, base_dir=base_dir, env=env, org=org), **kwargs)

    def __enter__(self) -> Connector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._store is not None and self._owns_store:
            self._store.close()
            self._store = None
            self._prepared = False

    # ------------------------------------------------------------------ plumbing

    @property
    def store(self) -> Any:
        """The product store, opened, migrated and told the organization's settings."""
        if self._store is None:
            from connector.store import Store

            self._store = Store.open(self.config.store_url, org=self.config.org_id)
        if not self._prepared:
            if self.config.org_name:
                self._store.set_organization_name(self.config.org_name)
            self._store.set_verified_domains(self.config.verified_domains)
            self._store.set_product_grants(self.config.product_grants)
            for directory in self.config.directories:
                self._store.ensure_directory(directory.id, directory.provider)
            self._prepared = True
        return self._store

    def secrets(self) -> list[Secret]:
        """Every secret the configuration holds (for log redaction)."""
        found = []
        for directory in self.config.directories:
            auth = directory.settings.auth
            found += [s for s in (auth.client_secret, auth.private_key, auth.token) if s is not None]
        return found

    def directory_ids(self, directory_id: str | None = None) -> list[str]:
        """``[directory_id]`` (checked) or every configured id."""
        return [d.id for d in self.config.select(directory_id)]

    def open_provider(self, directory: DirectoryConfig) -> Provider:
        """A provider for one directory, from the registry (entry-point group ``connector.providers``)."""
        from connector.providers import registry

        problem = self.directory_problems.get(directory.id)
        if problem is not None:
            raise problem
        return registry.create(directory.provider, directory.settings)

    def _progress_of(self, directory_id: str) -> Progress | None:
        """The progress callback with each stage named by its directory (``okta-main: read users``)."""
        progress = self.progress
        if progress is None:
            return None
        return lambda stage, done, total: progress(f"{directory_id}: {stage}", done, total)

    def _with_provider(self, directory_id: str, work: Any) -> Any:
        provider = self.open_provider(self.config.directory(directory_id))
        try:
            return work(provider)
        finally:
            provider.close()

    # ------------------------------------------------------------------ operations

    def check(self, directory_id: str | None = None) -> list[CheckReport]:
        """Reach each directory, get a token, confirm scopes.  Failures are reported, not raised.

        Directories are checked at once (a thread each, up to ``CHECK_THREADS``), and a refused
        connection (nothing listens there) is reported at once instead of retried, so an IdP that
        is down costs seconds, not minutes of backoff.  Reports come in configuration order.
        """
        directories = self.config.select(directory_id)
        if not directories:
            return []
        with ThreadPoolExecutor(min(CHECK_THREADS, len(directories)), "check") as pool:
            return list(pool.map(self._check_one, directories))

    def _check_one(self, directory: DirectoryConfig) -> CheckReport:
        problem = self.directory_problems.get(directory.id)
        if problem is not None:
            return CheckReport(directory.id, directory.provider, ok=False, detail=str(problem), error=problem)
        settings = directory.settings
        fail_fast = dataclasses.replace(
            settings, http=dataclasses.replace(settings.http, retry_refused=False)
        )
        provider = self.open_provider(dataclasses.replace(directory, settings=fail_fast))
        try:
            result = provider.check()
        except ConnectorError as exc:
            return CheckReport(directory.id, directory.provider, ok=False, detail=str(exc), error=exc)
        finally:
            provider.close()
        return CheckReport(
            directory.id,
            directory.provider,
            ok=result.ok,
            granted_scopes=tuple(result.granted_scopes),
            missing_scopes=tuple(result.missing_scopes),
            detail=result.detail,
            error=result.error,
        )

    def plan(self, directory_id: str, *, force: bool = False, full: bool | None = None) -> PlanReport:
        """Read the directory and plan against the store; nothing is applied."""
        from connector.run.sync import plan_directory

        settings = self.config.sync_settings(directory_id)

        def work(provider: Provider) -> PlanReport:
            plan, guard, _view = plan_directory(
                provider,
                self.store,
                settings,
                force=force,
                full=full,
                progress=self._progress_of(directory_id),
            )
            return PlanReport(plan, guard)

        return self._with_provider(directory_id, work)

    def apply(self, plan: Plan, *, wait: bool = False) -> Any:
        """Apply exactly ``plan``; StalePlanError when the store changed since it was made.

        Another run of the directory raises RunInProgressError, or is waited for with ``wait``.
        """
        from connector.run.sync import apply_saved_plan

        self.config.directory(plan.directory_id)
        if not plan.base_fingerprint:
            raise StalePlanError(
                "the plan names no store state (no base_fingerprint); make it with `plan --out`"
            )
        return apply_saved_plan(self.store, plan, wait=wait, progress=self._progress_of(plan.directory_id))

    def sync(
        self,
        directory_id: str,
        *,
        dry_run: bool = False,
        force: bool = False,
        full: bool | None = None,
        wait: bool = False,
        whole: bool = False,
    ) -> Any:
        """Read, plan, guard and apply one directory; returns its ``SyncReport``.

        Another run of the directory raises RunInProgressError, or is waited for with ``wait``.
        ``whole`` plans every identity, not only what changed since the last run.
        """
        from connector.run.sync import sync_directory

        settings = self.config.sync_settings(directory_id)
        return self._with_provider(
            directory_id,
            lambda provider: sync_directory(
                provider,
                self.store,
                settings,
                dry_run=dry_run,
                force=force,
                full=full,
                wait=wait,
                whole=whole,
                progress=self._progress_of(directory_id),
            ),
        )

    def sync_all(self, **options: Any) -> list[Any]:
        """:meth:`sync` every configured directory in turn (same options), but the disabled ones;
        the first error stops it."""
        return [self.sync(d, **options) for d in self.directory_ids() if d not in self.disabled]

    def review(
        self, directory_id: str, out: str | os.PathLike[str], *, include_internal: bool = False
    ) -> ReviewReport:
        """Write the review CSV of docs/contract.md, "Review before sync", for one directory to ``out``."""
        from connector.rules.review import mixed_groups
        from connector.rules.review import review_rows
        from connector.rules.review import write_review_csv
        from connector.run.sync import plan_directory

        settings = self.config.sync_settings(directory_id)

        def work(provider: Provider) -> ReviewReport:
            snapshot = self.store.snapshot(directory_id)
            plan, _guard, view = plan_directory(
                provider, self.store, settings, progress=self._progress_of(directory_id)
            )
            rows = review_rows(view, snapshot, settings, include_internal=include_internal, plan=plan)
            path = Path(out)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                with path.open("w", newline="", encoding="utf-8") as handle:
                    write_review_csv(rows, handle)
            except OSError as exc:
                raise ConfigError(
                    f"{out}: cannot write the review CSV ({exc.strerror}); check the path"
                ) from None
            actions: dict[str, int] = {}
            for row in rows:
                actions[row.action] = actions.get(row.action, 0) + 1
            mixed = tuple(g.name for g in mixed_groups(view, settings))
            return ReviewReport(directory_id, str(path), len(rows), actions, mixed)

        return self._with_provider(directory_id, work)

    def billing(self) -> Any:
        """The organization's ``BillingReport`` from the store."""
        return self.store.billing()

    def conflicts(self, directory_id: str | None = None) -> list[dict[str, Any]]:
        """The open conflicts (of one configured directory, or of all), as plain data; each stays
        open until a run finds its cause gone (docs/contract.md, "Conflicts")."""
        if directory_id is not None:
            self.config.directory(directory_id)  # an unknown id is an error naming the known ones
        return [c.to_dict() for c in self.store.open_conflicts(directory_id)]

    def link(self, directory_id: str, idp_user_id: str, account_id: str) -> dict[str, Any]:
        """Link a directory's identity to an account by hand (resolves its conflict); audited, and
        never undone by a sync."""
        self.config.directory(directory_id)
        link = self.store.link_by_hand(directory_id, idp_user_id, account_id)
        return dataclasses.asdict(link)

    def unlink(self, directory_id: str, idp_user_id: str) -> dict[str, Any]:
        """Unlink a directory's identity by hand; no sync links it to that account again by email."""
        self.config.directory(directory_id)
        link = self.store.unlink_by_hand(directory_id, idp_user_id)
        return dataclasses.asdict(link)

    def account(self, account_id: str) -> dict[str, Any]:
        """One account as plain data: its links per directory, its memberships with their sources,
        its products and whether it is billed (:mod:`connector.api.account_view`)."""
        from connector.api.account_view import account_view

        return account_view(self.store, self.config, account_id)

    def events(
        self, after: str | None = None, *, limit: int = 100, types: Collection[str] = ()
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` of the organization's events after the cursor ``after`` (an event id;
        None: the oldest kept), in order, only of ``types`` when given (docs/events.md).  A
        cursor of pruned events raises :class:`~connector.errors.EventCursorExpiredError`."""
        from connector.api.events import Events

        return Events(self.store).list(after, limit=limit, types=types)

    def runs(self, directory_id: str | None = None, limit: int = 50) -> list[Any]:
        return self.store.runs(directory_id, limit=limit)

    def accounts(self) -> list[dict[str, Any]]:
        """Every account with the names of its groups, as plain data."""
        store = self.store
        names = {g.group_id: g.name for g in store.groups()}
        groups_of: dict[str, set[str]] = {}
        for m in store.memberships():
            groups_of.setdefault(m.account_id, set()).add(names.get(m.group_id, m.group_id))
        return [
            {
                "account_id": a.account_id,
                "email": a.email,
                "display_name": a.display_name,
                "status": a.status.value,
                "origin": a.origin.value,
                "groups": sorted(groups_of.get(a.account_id, ())),
            }
            for a in sorted(store.accounts(), key=lambda a: a.email.lower())
        ]

    def groups(self) -> list[dict[str, Any]]:
        """Every group with its source and member count, as plain data."""
        store = self.store
        counts: dict[str, set[str]] = {}
        for m in store.memberships():
            counts.setdefault(m.group_id, set()).add(m.account_id)
        return [
            {
                "group_id": g.group_id,
                "name": g.name,
                "directory_id": g.directory_id,
                "idp_group_id": g.idp_group_id,
                "managed": g.managed,
                "adopted": g.adopted,
                "members": len(counts.get(g.group_id, ())),
            }
            for g in sorted(store.groups(), key=lambda g: g.name.lower())
        ]

    def import_accounts(
        self, rows: Iterable[Mapping[str, str]], *, source: str = "<csv>", allow_managed: bool = False
    ) -> list[Any]:
        """Add accounts that existed before provisioning (``email, display_name, groups``).

        ``groups`` are local group names joined by ``;``.  Rows are checked
        first; a bad row stops the import before anything is written, and the
        accounts are added in one transaction: all of them, or none.  A group a
        directory manages is an error naming the directory, unless ``allow_managed``.
        """
        parsed = parse_rows(rows, source)
        if not allow_managed:
            managed = {g.name: g.directory_id for g in self.store.groups() if g.managed}
            for index, (_email, _name, groups) in enumerate(parsed):
                for group in groups:
                    if group in managed:
                        raise ConfigError(
                            f"{source}: line {index + 2}: group {group!r} is managed by directory "
                            f"{managed[group]!r}; its sync decides its members (use --allow-managed to add "
                            "a local membership anyway)"
                        )
        existing = {e.key for e in map(try_parse_email, (a.email for a in self.store.accounts())) if e}
        new_rows = [
            (email.address, name, groups) for email, name, groups in parsed if email.key not in existing
        ]
        return self.store.add_accounts(new_rows, origin=AccountOrigin.IMPORTED)
