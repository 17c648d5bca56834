"""What the registry API takes and gives: a directory to add, a ``config apply`` plan and its
lines, a secrets rotation's report."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from connector.config.records import secret_name
from connector.store.registry import DirectoryEntry
from connector.store.registry import OrganizationEntry


@dataclass(frozen=True)
class DirectorySpec:
    """A directory given to :meth:`Registry.add_directory`: how to reach it, without its secret."""

    directory_id: str
    provider: str
    base_url: str | None
    method: str | None = None
    client_id: str | None = None
    domains: tuple[str, ...] | None = None
    mode: str = "pull"
    schedule: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    token_url: str | None = None
    scopes: tuple[str, ...] = ()
    key_id: str | None = None
    secret_env: str | None = None
    """A reference to keep instead of a sealed value: the variable the secret is read from at run time."""

    def settings(self) -> dict[str, Any]:
        """The directory's table (as a file writes it) without id, provider and base URL."""
        table: dict[str, Any] = {}
        if self.method is not None:
            auth: dict[str, Any] = {"method": self.method}
            for key, value in (("client_id", self.client_id), ("token_url", self.token_url)):
                if value is not None:
                    auth[key] = value
            if self.key_id is not None:
                auth["key_id"] = self.key_id
            if self.scopes:
                auth["scopes"] = list(self.scopes)
            if self.secret_env is not None:
                auth[f"{secret_name(self.method)}_env"] = self.secret_env
            table["auth"] = auth
        if self.domains is not None:
            table["domains"] = list(self.domains)
        if self.options:
            table["options"] = dict(self.options)
        return table


@dataclass(frozen=True)
class RegistryChange:
    """One line of a ``config apply`` plan: an organization or a directory to create, update
    (``changes`` says what), leave (unchanged) or delete (``holds`` says what would go)."""

    action: str
    org_id: str
    directory_id: str | None = None
    changes: tuple[str, ...] = ()
    holds: str | None = None
    refused: str | None = None
    """Why a deletion is refused without force (it holds accounts or links)."""

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"action": self.action, "org_id": self.org_id, "changes": list(self.changes)}
        if self.directory_id is not None:
            data["directory_id"] = self.directory_id
        if self.action == "delete":
            data["holds"] = self.holds
            data["needs_force"] = self.refused is not None
        return data


@dataclass(frozen=True)
class ApplyPlan:
    """What ``config apply`` would change in the store to bring it in line with the file."""

    organizations: tuple[RegistryChange, ...]
    directories: tuple[RegistryChange, ...]
    prune: bool
    source: str = "<config>"
    desired_organizations: tuple[OrganizationEntry, ...] = field(default=(), repr=False)
    desired_directories: tuple[DirectoryEntry, ...] = field(default=(), repr=False)

    @property
    def pending(self) -> bool:
        """Whether applying it changes anything."""
        return any(c.action != "unchanged" for c in (*self.organizations, *self.directories))

    def counts(self) -> dict[str, int]:
        counts = {"create": 0, "update": 0, "unchanged": 0, "delete": 0}
        for change in (*self.organizations, *self.directories):
            counts[change.action] += 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "prune": self.prune,
            "counts": self.counts(),
            "organizations": [c.to_dict() for c in self.organizations],
            "directories": [c.to_dict() for c in self.directories],
        }


@dataclass(frozen=True)
class RotationReport:
    """What ``secrets rotate`` did (or, dry, would do), per organization."""

    dry_run: bool
    organizations: Mapping[str, Mapping[str, int]]
    failures: tuple[Mapping[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "organizations": {org: dict(counts) for org, counts in self.organizations.items()},
            "failures": [dict(f) for f in self.failures],
        }
