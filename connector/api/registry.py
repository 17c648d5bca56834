"""Organizations and directories as data, in the Python API: what ``config apply``, ``orgs``,
``directories`` and ``secrets`` call.

::

    from connector.api.registry import Registry

    with Registry.from_file("connector.toml") as registry:
        plan = registry.plan_apply(prune=False)      # what the file would change in the store
        registry.apply(plan)
        registry.add_directory("acme", DirectorySpec(...), secrets={"token": "..."})   # sealed, stored
        registry.rotate_secrets()

Precedence: the configuration file wins.  A directory the file declares always runs as the file
says; ``config apply`` is how the file's changes reach the store.  A directory the store holds
and the file does not declare (``directories add``, or one applied and since taken out of the
file) runs from the store (:func:`connector.api.opening.open_connector`), its sealed secrets
opened with the vault.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from connector.api.config_diff import directory_change
from connector.api.config_diff import organization_change
from connector.api.opening import open_store
from connector.api.registry_records import ApplyPlan
from connector.api.registry_records import DirectorySpec
from connector.api.registry_records import RegistryChange
from connector.api.registry_records import RotationReport
from connector.config.loader import Config
from connector.config.loader import ConfigFile
from connector.config.loader import load_config_file
from connector.config.records import SEALABLE
from connector.config.records import directory_entry
from connector.config.records import load_directory
from connector.config.records import organization_entry
from connector.config.records import secret_context
from connector.config.records import secret_name
from connector.errors import ConfigError
from connector.errors import ConnectorError
from connector.errors import SecretKeyError
from connector.errors import StoreError
from connector.store import Store
from connector.store.push_tokens import DEFAULT_GRACE
from connector.store.push_tokens import parse_token
from connector.store.registry import DirectoryEntry
from connector.store.registry import OrganizationEntry
from connector.store.registry import check_directory_id
from connector.store.tenancy import check_org_id
from connector.vault import Vault
from connector.vault import sealed_with

# ---------------------------------------------------------------------- the registry


class Registry:
    """The store's organizations and directories, with the vault that seals their secrets.

    ``config`` is the configuration file, when there is one: what it declares wins over the
    store, so the registry refuses to add or remove what the file declares.
    """

    def __init__(self, store: Store, vault: Vault | None = None, *, config: ConfigFile | None = None) -> None:
        self.store = store
        self._vault = vault
        self.config = config
        self._owns_store = False

    @classmethod
    def from_file(
        cls, path: str | os.PathLike[str], *, env: Mapping[str, str] | None = None, vault: Vault | None = None
    ) -> Registry:
        """The registry of the store a configuration file names (no secret of the file is read)."""
        whole = load_config_file(path, env=env, secrets=False)
        registry = cls(
            open_store(whole),
            vault,
            config=whole,
        )
        registry._owns_store = True
        return registry

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._owns_store:
            self.store.close()

    @property
    def vault(self) -> Vault:
        """The vault of ``CONNECTOR_SECRET_KEYS(_FILE)``, read on first use."""
        if self._vault is None:
            self._vault = Vault.from_environment()
        return self._vault

    def _declared(self, org_id: str) -> Config | None:
        if self.config is None or org_id not in self.config.org_ids:
            return None
        return self.config.organization(org_id)

    def default_org(self, org_id: str | None) -> str:
        """``org_id``, or the only organization the file declares."""
        if org_id is not None:
            return check_org_id(org_id)
        if self.config is None:
            raise ConfigError("name the organization (--org)")
        return self.config.organization(None).org_id

    # ------------------------------------------------------------------ organizations

    def organizations(self) -> list[dict[str, Any]]:
        """Every organization of the store and of the file, with where each is declared."""
        stored = {o.org_id: o for o in self.store.organization_entries()}
        ids = sorted({*stored, *(self.config.org_ids if self.config else ())})
        counts: dict[str, int] = {}
        for entry in self.store.directory_entries():
            counts[entry.org_id] = counts.get(entry.org_id, 0) + 1
        rows = []
        for org_id in ids:
            declared = self._declared(org_id)
            entry = stored.get(org_id)
            rows.append(
                {
                    "org_id": org_id,
                    "name": entry.name if entry else (declared.org_name or org_id if declared else org_id),
                    "verified_domains": list(entry.verified_domains if entry else declared.verified_domains)
                    if (entry or declared)
                    else [],
                    "directories": counts.get(org_id, len(declared.directories) if declared else 0),
                    "in_file": declared is not None,
                    "in_store": entry is not None,
                }
            )
        return rows

    def organization(self, org_id: str) -> dict[str, Any]:
        """One organization of the store: its domains, grants, settings and directories."""
        entry = self.store.organization_entry(check_org_id(org_id))
        if entry is None:
            raise StoreError(
                f"the store holds no organization {org_id!r}; `idp-connector orgs list` lists them"
            )
        return {
            "org_id": entry.org_id,
            "name": entry.name,
            "verified_domains": list(entry.verified_domains),
            "product_grants": {p: list(g) for p, g in entry.product_grants.items()},
            "settings": dict(entry.settings),
            "in_file": self._declared(org_id) is not None,
            "directories": [self._directory_view(d) for d in self.store.directory_entries(org_id)],
        }

    def add_organization(
        self,
        org_id: str,
        *,
        name: str | None = None,
        verified_domains: Iterable[str] = (),
        product_grants: Mapping[str, Iterable[str]] | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Add an organization to the store; refused when the store holds it already."""
        check_org_id(org_id)
        if self.store.organization_entry(org_id) is not None:
            raise StoreError(
                f"the store holds organization {org_id!r} already; change it with `config apply`, "
                "or remove it first"
            )
        self.store.save_organization(
            OrganizationEntry(
                org_id=org_id,
                name=name or org_id,
                verified_domains=tuple(verified_domains),
                product_grants={p: tuple(g) for p, g in (product_grants or {}).items()},
                settings=dict(settings or {}),
            )
        )
        return self.organization(org_id)

    def remove_organization(self, org_id: str, *, force: bool = False) -> dict[str, Any]:
        """Remove an organization and all it holds; refused while the file declares it, and
        (naming what would go) while it holds accounts or links, unless ``force``."""
        check_org_id(org_id)
        if self._declared(org_id) is not None:
            raise ConfigError(
                f"the configuration file declares organization {org_id!r}: take it out of the file first "
                "(the file wins over the store), then remove it"
            )
        removed = self.store.remove_organization(org_id, force=force)
        return {"org_id": org_id, "removed": dict(removed.counts)}

    # ------------------------------------------------------------------ directories

    def directories(self, org_id: str) -> list[dict[str, Any]]:
        """The organization's directories: those the file declares and those the store holds."""
        check_org_id(org_id)
        declared = self._declared(org_id)
        stored = {d.directory_id: d for d in self.store.directory_entries(org_id)}
        in_file = {d.id: d for d in (declared.directories if declared else ())}
        rows = []
        for directory_id in sorted({*stored, *in_file}):
            if directory_id in stored:
                row = self._directory_view(stored[directory_id])
                if directory_id in in_file:  # the file wins: it runs from there
                    row["provider"] = in_file[directory_id].provider
                    row["base_url"] = in_file[directory_id].settings.base_url
            else:
                directory = in_file[directory_id]
                row = {
                    "org_id": org_id,
                    "directory_id": directory_id,
                    "provider": directory.provider,
                    "base_url": directory.settings.base_url,
                    "mode": "pull",
                    "schedule": None,
                    "disabled": False,
                    "as_data": False,
                    "secrets": [],
                }
            row["in_file"] = directory_id in in_file
            row["runs_from"] = "file" if directory_id in in_file else ("store" if row["as_data"] else None)
            rows.append(row)
        return rows

    def directory(self, org_id: str, directory_id: str) -> dict[str, Any]:
        """One directory as data; its secrets by name and sealing key, never their value, and a push
        directory's working tokens by id and dates (``push_tokens``), never a token or its hash."""
        for row in self.directories(org_id):
            if row["directory_id"] == directory_id:
                entry = self.store.directory_entry(org_id, directory_id)
                if entry is not None:
                    row["settings"] = dict(entry.settings or {})
                    row["holds"] = dict(self.store.directory_holdings(org_id, directory_id).counts)
                    if entry.mode == "push":
                        row["push_tokens"] = self.push_tokens(org_id, directory_id)
                return row
        raise StoreError(f"organization {org_id!r} has no directory {directory_id!r}")

    def _directory_view(self, entry: DirectoryEntry) -> dict[str, Any]:
        newest = self._newest_fingerprint()
        return {
            "org_id": entry.org_id,
            "directory_id": entry.directory_id,
            "provider": entry.provider,
            "base_url": entry.base_url,
            "mode": entry.mode,
            "schedule": entry.schedule,
            "disabled": entry.disabled,
            "as_data": entry.as_data,
            "secrets": [
                {
                    "name": name,
                    "sealed_with": sealed_with(token),
                    "newest_key": None if newest is None else sealed_with(token) == newest,
                }
                for name, token in sorted(entry.secrets.items())
            ],
        }

    def _newest_fingerprint(self) -> str | None:
        try:
            fingerprints = self.vault.fingerprints
        except ConnectorError:
            return None
        return fingerprints[0] if fingerprints else None

    def add_directory(
        self,
        org_id: str,
        spec: DirectorySpec,
        *,
        secrets: Mapping[str, str] | None = None,
        replace: bool = False,
    ) -> dict[str, Any]:
        """Add a directory to an organization of the store, its secrets sealed with the vault.

        ``secrets`` maps a secret's name (``client_secret``, ``private_key``, ``token``,
        ``certificate``) to its value; values are sealed under
        ``org/<org>/directory/<id>/<name>`` before the store sees them.  Refused when the file
        declares the directory (the file wins), when the store holds it already (unless
        ``replace``), and when another organization's directory of that id reaches the same URL
        (a directory never moves between organizations).
        """
        check_org_id(org_id)
        check_directory_id(spec.directory_id)
        organization = self.store.organization_entry(org_id)
        if organization is None:
            raise StoreError(
                f"the store holds no organization {org_id!r}: add it first (`idp-connector orgs add`)"
            )
        declared = self._declared(org_id)
        if declared is not None and spec.directory_id in {d.id for d in declared.directories}:
            raise ConfigError(
                f"the configuration file declares directory {spec.directory_id!r} of organization "
                f"{org_id!r}: change it there and run `idp-connector config apply` "
                "(the file wins over the store)"
            )
        existing = self.store.directory_entry(org_id, spec.directory_id)
        if existing is not None and existing.as_data and not replace:
            raise StoreError(
                f"organization {org_id!r} has directory {spec.directory_id!r} already; remove it first, or "
                "replace it (--replace)"
            )
        self._refuse_move(org_id, spec)
        given = {k: v for k, v in (secrets or {}).items() if v}
        unknown = sorted(set(given) - set(SEALABLE))
        if unknown:
            raise ConfigError(f"unknown secret {unknown[0]!r}: a directory keeps {', '.join(SEALABLE)}")
        if spec.mode not in ("pull", "push"):
            raise ConfigError(f"mode {spec.mode!r} is not pull or push")
        if spec.mode == "pull" and spec.method is not None and spec.secret_env is None:
            needed = secret_name(spec.method)
            if needed not in given:
                raise ConfigError(
                    f"directory {spec.directory_id!r}: auth method {spec.method} needs its {needed}: "
                    "give it on stdin or from an environment variable"
                )
        settings = spec.settings()
        for domain in settings.get("domains", ()):
            if domain not in organization.verified_domains:
                raise ConfigError(
                    f"directory {spec.directory_id!r}: domain {domain!r} is not one of organization "
                    f"{org_id!r}'s verified domains ({', '.join(organization.verified_domains) or 'none'})"
                )
        placeholder = DirectoryEntry(
            org_id=org_id,
            directory_id=spec.directory_id,
            provider=spec.provider,
            mode=spec.mode,
            base_url=spec.base_url.rstrip("/") if spec.base_url else None,
            settings=settings,
            secrets={name: "v1:00000000:unchecked" for name in given},
            schedule=spec.schedule,
        )
        if spec.mode == "pull":  # every key, and the secrets given, checked before anything is sealed
            load_directory(placeholder, None, secrets=bool(given), plain=given)
        sealed = {
            name: self.vault.seal(value, context=secret_context(org_id, spec.directory_id, name))
            for name, value in sorted(given.items())
        }
        self.store.save_directory(dataclasses.replace(placeholder, secrets=sealed))
        return self.directory(org_id, spec.directory_id)

    def _refuse_move(self, org_id: str, spec: DirectorySpec) -> None:
        for other in self.store.directory_entries():
            if other.org_id == org_id or other.directory_id != spec.directory_id:
                continue
            if other.base_url and spec.base_url and other.base_url.rstrip("/") == spec.base_url.rstrip("/"):
                raise StoreError(
                    f"directory {spec.directory_id!r} at {other.base_url} is organization "
                    f"{other.org_id!r}'s: it cannot move to {org_id!r} "
                    "(its links and identities would cross organizations); "
                    f"remove it from {other.org_id!r} first, or give {org_id!r}'s connection another id"
                )

    def remove_directory(self, org_id: str, directory_id: str, *, force: bool = False) -> dict[str, Any]:
        """Remove a directory from the store; refused while the file declares it, and (naming what
        would go) while it holds links, unless ``force``."""
        declared = self._declared(org_id)
        if declared is not None and directory_id in {d.id for d in declared.directories}:
            raise ConfigError(
                f"the configuration file declares directory {directory_id!r} of organization {org_id!r}: "
                "take it out of the file first (the file wins over the store)"
            )
        removed = self.store.remove_directory(org_id, directory_id, force=force)
        return {"org_id": org_id, "directory_id": directory_id, "removed": dict(removed.counts)}

    def set_disabled(self, org_id: str, directory_id: str, disabled: bool = True) -> dict[str, Any]:
        """Disable a directory (``sync`` skips it, saying so), or enable it again."""
        check_org_id(org_id)
        if self.store.directory_entry(org_id, directory_id) is None:
            declared = self._declared(org_id)
            if declared is None or directory_id not in {d.id for d in declared.directories}:
                raise StoreError(f"organization {org_id!r} has no directory {directory_id!r}")
            self.store.for_org(org_id).ensure_directory(
                directory_id, declared.directory(directory_id).provider
            )
        self.store.set_directory_disabled(org_id, directory_id, disabled)
        return self.directory(org_id, directory_id)

    # ------------------------------------------------------------------ push tokens

    def issue_push_token(
        self,
        org_id: str,
        directory_id: str,
        *,
        rotate: bool = False,
        grace: timedelta = DEFAULT_GRACE,
    ) -> dict[str, Any]:
        """A new bearer token for push directory ``directory_id`` of ``org_id``.

        The result holds the token (``token``) once: the store keeps only its hash, so show it to
        the person who configures the IdP and drop it.  ``tokens`` lists the directory's working
        tokens after the issue (ids and dates).  Without ``rotate`` a directory with a working
        token is refused; with it the previous tokens work for ``grace`` more
        (:data:`~connector.store.push_tokens.DEFAULT_GRACE`, 24 hours).  A pull or unknown
        directory is refused with a :class:`ConfigError`.
        """
        check_org_id(org_id)
        check_directory_id(directory_id)
        scoped = self.store.for_org(org_id)
        token = scoped.issue_push_token(directory_id, rotate=rotate, grace=grace)
        return {
            "org_id": org_id,
            "directory_id": directory_id,
            "token": token,
            "token_id": parse_token(token),
            "tokens": [info.to_dict() for info in scoped.push_token_info(directory_id)],
        }

    def push_tokens(self, org_id: str, directory_id: str) -> list[dict[str, Any]]:
        """The working tokens of a directory: ids, when issued, when they stop (never a token or hash)."""
        check_org_id(org_id)
        return [info.to_dict() for info in self.store.for_org(org_id).push_token_info(directory_id)]

    def revoke_push_tokens(self, org_id: str, directory_id: str) -> int:
        """Stop every token of a directory at once (no grace); how many there were."""
        check_org_id(org_id)
        return self.store.for_org(org_id).revoke_push_tokens(directory_id)

    # ------------------------------------------------------------------ config apply

    def plan_apply(self, *, prune: bool = False) -> ApplyPlan:
        """What bringing the store in line with the file changes; nothing is written.

        Without ``prune`` nothing is deleted.  A directory the file moves from one organization
        to another, and a domain two organizations would verify, are refused naming both.
        """
        if self.config is None:
            raise ConfigError("config apply needs a configuration file")
        whole = self.config
        base = Path(whole.source).resolve().parent if whole.source != "<dict>" else None
        want_orgs = [organization_entry(org) for org in whole.organizations]
        want_dirs = [
            directory_entry(org.org_id, directory, base)
            for org in whole.organizations
            for directory in org.directories
        ]
        have_orgs = {o.org_id: o for o in self.store.organization_entries()}
        have_dirs = {(d.org_id, d.directory_id): d for d in self.store.directory_entries()}
        self._refuse_moves(whole, have_dirs)
        self._refuse_shared_domains(want_orgs, have_orgs, prune)

        org_changes = [organization_change(want, have_orgs.get(want.org_id)) for want in want_orgs]
        dir_changes = []
        for want in want_dirs:
            have = have_dirs.get((want.org_id, want.directory_id))
            if have is not None and have.provider != want.provider:
                raise ConfigError(
                    f"{whole.source}: directory {want.directory_id!r} of organization {want.org_id!r} is "
                    f"registered with provider {have.provider!r}, not {want.provider!r}: "
                    "IdP ids of one provider mean nothing to another; give the new connection a new id"
                )
            dir_changes.append(directory_change(want, have))
        if prune:
            wanted_orgs = {o.org_id for o in want_orgs}
            wanted_dirs = {(d.org_id, d.directory_id) for d in want_dirs}
            for org_id, directory_id in sorted(have_dirs):
                if org_id in wanted_orgs and (org_id, directory_id) not in wanted_dirs:
                    holds = self.store.directory_holdings(org_id, directory_id)
                    dir_changes.append(
                        RegistryChange(
                            "delete",
                            org_id,
                            directory_id,
                            holds=holds.describe(),
                            refused=None if holds.empty else "holds links",
                        )
                    )
            for org_id in sorted(set(have_orgs) - wanted_orgs):
                holds = self.store.organization_holdings(org_id)
                org_changes.append(
                    RegistryChange(
                        "delete",
                        org_id,
                        holds=holds.describe(),
                        refused=None if holds.empty else "holds accounts",
                    )
                )
        return ApplyPlan(
            organizations=tuple(org_changes),
            directories=tuple(dir_changes),
            prune=prune,
            source=whole.source,
            desired_organizations=tuple(want_orgs),
            desired_directories=tuple(want_dirs),
        )

    def _refuse_moves(self, whole: ConfigFile, have: Mapping[tuple[str, str], DirectoryEntry]) -> None:
        declared = {(org.org_id, d.id) for org in whole.organizations for d in org.directories}
        for org in whole.organizations:
            for directory in org.directories:
                if (org.org_id, directory.id) in have:
                    continue
                for other in whole.org_ids:
                    if (other, directory.id) in have and (other, directory.id) not in declared:
                        raise ConfigError(
                            f"{whole.source}: directory {directory.id!r} is organization {other!r}'s in the "
                            f"store and the file puts it in {org.org_id!r}: a directory never moves between "
                            "organizations (its links and identities would cross them); give it another id "
                            f"in {org.org_id!r}, and remove it from {other!r} (`directories remove`) if it "
                            "is gone"
                        )

    def _refuse_shared_domains(
        self, want: list[OrganizationEntry], have: Mapping[str, OrganizationEntry], prune: bool
    ) -> None:
        owners = {domain: o.org_id for o in want for domain in o.verified_domains}
        if prune:
            return
        wanted = {o.org_id for o in want}
        for org_id, entry in have.items():
            if org_id in wanted:
                continue
            for domain in entry.verified_domains:
                if domain in owners:
                    raise ConfigError(
                        f"domain {domain!r} is verified by organization {org_id!r} in the store, so "
                        f"{owners[domain]!r} cannot verify it too: a domain is verified by one organization "
                        f"(remove {org_id!r} with --prune or `orgs remove`, or drop the domain from the file)"
                    )

    def apply(self, plan: ApplyPlan, *, force: bool = False) -> ApplyPlan:
        """Write ``plan``: deletions first (only with ``force`` for what holds accounts or links,
        checked before anything is written), then organizations, then directories."""
        refused = [c for c in (*plan.directories, *plan.organizations) if c.action == "delete" and c.refused]
        if refused and not force:
            what = "; ".join(
                f"{'directory ' + repr(c.directory_id) + ' of ' if c.directory_id else ''}organization "
                f"{c.org_id!r} holds {c.holds}"
                for c in refused
            )
            raise StoreError(
                f"not applying: {what}; deleting would take that away: add --force if it is meant"
            )
        for change in plan.directories:
            if change.action == "delete" and change.directory_id is not None:
                self.store.remove_directory(change.org_id, change.directory_id, force=force)
        for change in plan.organizations:
            if change.action == "delete":
                self.store.remove_organization(change.org_id, force=force)
        desired = {o.org_id: o for o in plan.desired_organizations}
        # a domain moving between two organizations of the file: first each keeps only what it keeps
        for change in plan.organizations:
            if change.action == "update":
                current = self.store.organization_entry(change.org_id)
                if current is not None:
                    keep = [
                        d for d in current.verified_domains if d in desired[change.org_id].verified_domains
                    ]
                    self.store.for_org(change.org_id).set_verified_domains(keep)
        for change in plan.organizations:
            if change.action in ("create", "update"):
                self.store.save_organization(desired[change.org_id])
        wanted = {(d.org_id, d.directory_id): d for d in plan.desired_directories}
        for change in plan.directories:
            if change.action in ("create", "update") and change.directory_id is not None:
                entry = wanted[(change.org_id, change.directory_id)]
                have = self.store.directory_entry(change.org_id, change.directory_id)
                if have is not None:  # what the file does not say stays: schedule, disabled
                    entry = dataclasses.replace(entry, schedule=have.schedule, disabled=have.disabled)
                self.store.save_directory(entry)
        return plan

    # ------------------------------------------------------------------ secrets

    def rotate_secrets(self, *, dry_run: bool = False) -> RotationReport:
        """Seal every stored secret under the newest key, in place; per organization, how many
        were sealed again (``rotated``), were under it already (``current``) or failed.

        ``dry_run`` opens nothing: it counts from each token's key fingerprint what needs it.
        """
        vault = self.vault
        counts: dict[str, dict[str, int]] = {}
        failures: list[dict[str, str]] = []
        for entry in self.store.directory_entries():
            if not entry.secrets:
                continue
            tally = counts.setdefault(entry.org_id, {"rotated": 0, "current": 0, "failed": 0})
            try:
                stale = {name for name, token in entry.secrets.items() if vault.needs_rotation(token)}
                renewed = dict(entry.secrets)
                if not dry_run:
                    for name in sorted(stale):
                        context = secret_context(entry.org_id, entry.directory_id, name)
                        renewed[name] = vault.rotate(entry.secrets[name], context=context)
            except SecretKeyError:
                raise  # no key, or a bad one: nothing can be rotated
            except ConnectorError as exc:
                tally["failed"] += len(entry.secrets)
                failures.append(
                    {"org_id": entry.org_id, "directory_id": entry.directory_id, "error": str(exc)}
                )
                continue
            tally["current"] += len(entry.secrets) - len(stale)
            if dry_run or not stale:
                tally["rotated"] += len(stale) if dry_run else 0
                continue
            if self.store.replace_directory_secrets(entry.org_id, entry.directory_id, entry.secrets, renewed):
                tally["rotated"] += len(stale)
            else:
                tally["failed"] += len(stale)
                failures.append(
                    {
                        "org_id": entry.org_id,
                        "directory_id": entry.directory_id,
                        "error": "its secrets changed while they were rotated; run `secrets rotate` again",
                    }
                )
        return RotationReport(dry_run=dry_run, organizations=counts, failures=tuple(failures))

    @staticmethod
    def new_key() -> str:
        """A new key for ``CONNECTOR_SECRET_KEYS`` (print it once; it is never stored)."""
        return Vault.generate_key()
