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

import csv
import io
import os
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connector.config import Config
from connector.config import DirectoryConfig
from connector.config import config_from_dict
from connector.config import load_config
from connector.emails import InvalidEmailError
from connector.emails import parse_email
from connector.emails import try_parse_email
from connector.errors import ConfigError
from connector.errors import ConnectorError
from connector.errors import StalePlanError
from connector.model import AccountOrigin
from connector.output import ProgressCallback
from connector.plan import BOOKKEEPING
from connector.plan import Action
from connector.plan import Plan
from connector.providers.base import Provider
from connector.providers.base import Secret


@dataclass(frozen=True)
class CheckReport:
    """What ``check`` found for one directory; ``error`` is set when it failed."""

    directory_id: str
    provider: str
    ok: bool
    granted_scopes: tuple[str, ...] = ()
    missing_scopes: tuple[str, ...] = ()
    detail: str = ""
    error: ConnectorError | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "directory_id": self.directory_id,
            "provider": self.provider,
            "ok": self.ok,
            "granted_scopes": list(self.granted_scopes),
            "missing_scopes": list(self.missing_scopes),
            "detail": self.detail,
            "error": _error_dict(self.error),
        }


@dataclass(frozen=True)
class PlanReport:
    """A plan for one directory and the guard's verdict on it (nothing applied)."""

    plan: Plan
    guard: Any  # connector.guard.GuardOutcome

    def to_dict(self) -> dict[str, Any]:
        """The plan's product changes in full; bookkeeping (mirror, cursor, missing counts) only counted."""
        counts = self.plan.counts()
        return {
            "directory_id": self.plan.directory_id,
            "base_fingerprint": self.plan.base_fingerprint,
            "full_read": self.plan.full_read,
            "users_read": self.plan.users_read,
            "empty": self.plan.is_empty,
            "counts": {a.value: counts[a.value] for a in Action if a not in BOOKKEEPING},
            "bookkeeping": {a.value: counts[a.value] for a in Action if a in BOOKKEEPING},
            "changes": [c.to_dict() for c in self.plan.changes if c.action not in BOOKKEEPING],
            "conflicts": [to_plain(c) for c in self.plan.conflicts],
            "skipped": [{"idp_user_id": i, "reason": r} for i, r in self.plan.skipped],
            "notes": list(self.plan.notes),
            "guard": to_plain(self.guard),
        }


@dataclass(frozen=True)
class ReviewReport:
    """Where the review CSV went and what is in it."""

    directory_id: str
    path: str
    rows: int
    actions: Mapping[str, int]
    mixed_groups: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "directory_id": self.directory_id,
            "path": self.path,
            "rows": self.rows,
            "actions": dict(self.actions),
            "mixed_groups": list(self.mixed_groups),
        }


class Connector:
    """One organization's configuration, its store, and its directories.

    The store is opened (and migrated) on first use and closed by
    :meth:`close`; providers are opened per call and always closed.
    """

    def __init__(
        self, config: Config, *, store: Any = None, progress: ProgressCallback | None = None
    ) -> None:
        self.config = config
        self.progress = progress
        self._store = store
        self._owns_store = store is None
        self._prepared = False

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], **kwargs: Any) -> Connector:
        """Load and validate a TOML configuration file (see docs/configuration.md)."""
        return cls(load_config(path), **kwargs)

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, base_dir: str | os.PathLike[str] | None = None, **kwargs: Any
    ) -> Connector:
        """Validate a configuration given as a dict of the TOML file's shape."""
        return cls(config_from_dict(data, base_dir=base_dir), **kwargs)

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

            self._store = Store.open(self.config.store_url)
        if not self._prepared:
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

        return registry.create(directory.provider, directory.settings)

    def _with_provider(self, directory_id: str, work: Any) -> Any:
        provider = self.open_provider(self.config.directory(directory_id))
        try:
            return work(provider)
        finally:
            provider.close()

    # ------------------------------------------------------------------ operations

    def check(self, directory_id: str | None = None) -> list[CheckReport]:
        """Reach each directory, get a token, confirm scopes.  Failures are reported, not raised."""
        reports = []
        for directory in self.config.select(directory_id):
            try:
                result = self._with_provider(directory.id, lambda p: p.check())
            except ConnectorError as exc:
                reports.append(
                    CheckReport(directory.id, directory.provider, ok=False, detail=str(exc), error=exc)
                )
                continue
            reports.append(
                CheckReport(
                    directory.id,
                    directory.provider,
                    ok=result.ok,
                    granted_scopes=tuple(result.granted_scopes),
                    missing_scopes=tuple(result.missing_scopes),
                    detail=result.detail,
                )
            )
        return reports

    def plan(self, directory_id: str, *, force: bool = False, full: bool | None = None) -> PlanReport:
        """Read the directory and plan against the store; nothing is applied."""
        from connector.sync import plan_directory

        settings = self.config.sync_settings()

        def work(provider: Provider) -> PlanReport:
            plan, guard, _view = plan_directory(
                provider, self.store, settings, force=force, full=full, progress=self.progress
            )
            return PlanReport(plan, guard)

        return self._with_provider(directory_id, work)

    def apply(self, plan: Plan, *, wait: bool = False) -> Any:
        """Apply exactly ``plan``; StalePlanError when the store changed since it was made.

        Another run of the directory raises RunInProgressError, or is waited for with ``wait``.
        """
        from connector.sync import apply_saved_plan

        self.config.directory(plan.directory_id)
        if not plan.base_fingerprint:
            raise StalePlanError(
                "the plan names no store state (no base_fingerprint); make it with `plan --out`"
            )
        return apply_saved_plan(self.store, plan, wait=wait, progress=self.progress)

    def sync(
        self,
        directory_id: str,
        *,
        dry_run: bool = False,
        force: bool = False,
        full: bool | None = None,
        wait: bool = False,
    ) -> Any:
        """Read, plan, guard and apply one directory; returns its ``SyncReport``.

        Another run of the directory raises RunInProgressError, or is waited for with ``wait``.
        """
        from connector.sync import sync_directory

        settings = self.config.sync_settings()
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
                progress=self.progress,
            ),
        )

    def review(
        self, directory_id: str, out: str | os.PathLike[str], *, include_internal: bool = False
    ) -> ReviewReport:
        """Write the review CSV of PRODUCT.md for one directory to ``out``."""
        from connector.review import mixed_groups
        from connector.review import review_rows
        from connector.review import write_review_csv
        from connector.sync import plan_directory

        settings = self.config.sync_settings()

        def work(provider: Provider) -> ReviewReport:
            snapshot = self.store.snapshot(directory_id)
            plan, _guard, view = plan_directory(provider, self.store, settings, progress=self.progress)
            rows = review_rows(view, snapshot, settings, include_internal=include_internal, plan=plan)
            path = Path(out)
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("w", newline="", encoding="utf-8") as handle:
                write_review_csv(rows, handle)
            actions: dict[str, int] = {}
            for row in rows:
                actions[row.action] = actions.get(row.action, 0) + 1
            mixed = tuple(g.name for g in mixed_groups(view, settings))
            return ReviewReport(directory_id, str(path), len(rows), actions, mixed)

        return self._with_provider(directory_id, work)

    def billing(self) -> Any:
        """The organization's ``BillingReport`` from the store."""
        return self.store.billing()

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

    def import_accounts(self, rows: Iterable[Mapping[str, str]], *, source: str = "<csv>") -> list[Any]:
        """Add accounts that existed before provisioning (``email, display_name, groups``).

        ``groups`` are local group names joined by ``;``.  Rows are checked
        first; a bad row stops the import before anything is written.
        """
        parsed = [_import_row(row, i + 2, source) for i, row in enumerate(rows)]
        existing = {e.key for e in map(try_parse_email, (a.email for a in self.store.accounts())) if e}
        added = []
        for email, display_name, groups in parsed:
            if email.key in existing:
                continue
            added.append(
                self.store.add_account(
                    email.address, display_name, origin=AccountOrigin.IMPORTED, groups=groups
                )
            )
            existing.add(email.key)
        return added


def read_accounts_csv(path: str | os.PathLike[str]) -> list[dict[str, str]]:
    """The rows of an accounts CSV (header ``email,display_name,groups``)."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the accounts file ({exc.strerror}); check the path") from exc
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or "email" not in reader.fieldnames:
        raise ConfigError(
            f"{path}: the header must name the columns email,display_name,groups; add that header"
        )
    unknown = set(reader.fieldnames) - {"email", "display_name", "groups"}
    if unknown:
        raise ConfigError(
            f"{path}: unknown columns {', '.join(sorted(unknown))}; use email, display_name and groups only"
        )
    return list(reader)


def _import_row(row: Mapping[str, str], line: int, source: str) -> tuple[Any, str | None, tuple[str, ...]]:
    raw = (row.get("email") or "").strip()
    try:
        email = parse_email(raw)
    except InvalidEmailError as exc:
        raise ConfigError(
            f"{source}: line {line}: email {raw!r} is not valid ({exc}); fix or remove the row"
        ) from None
    display_name = (row.get("display_name") or "").strip() or None
    groups = tuple(g.strip() for g in (row.get("groups") or "").split(";") if g.strip())
    return email, display_name, groups


def _error_dict(error: ConnectorError | None) -> dict[str, Any] | None:
    if error is None:
        return None
    return {"type": type(error).__name__, "message": str(error), "exit_code": error.exit_code}


def to_plain(value: Any) -> Any:
    """Dataclass or object with to_dict into JSON-ready data."""
    import dataclasses

    if value is None:
        return None
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    return value
