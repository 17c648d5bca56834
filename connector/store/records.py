"""Plain records the store hands out about its own bookkeeping."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class RunRecord:
    """One sync run: ``outcome`` is ``running`` until it ends, then ``applied``,
    ``applied_with_failures``, ``dry_run``, ``guard_tripped``, ``failed`` or
    ``interrupted`` (the process died; found by the next run of the directory)."""

    run_id: int
    directory_id: str
    kind: str
    dry_run: bool
    started_at: datetime
    finished_at: datetime | None
    outcome: str
    counts: Mapping[str, int]
    detail: str


@dataclass(frozen=True)
class AuditRecord:
    """One change as it was applied (or failed): what, to whom, why, which run."""

    audit_id: int
    run_id: int | None
    at: datetime
    action: str
    directory_id: str | None
    target: str
    reason: str
    outcome: str  # applied | failed
    error: str | None
    change: Mapping[str, Any]


@dataclass(frozen=True)
class OpenConflict:
    """A conflict the runs found and no run has seen resolved yet (docs/contract.md, "Conflicts")."""

    directory_id: str
    idp_user_id: str
    kind: str
    email: str | None
    reason: str
    account_ids: tuple[str, ...]
    first_seen: datetime
    last_seen: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "directory_id": self.directory_id,
            "idp_user_id": self.idp_user_id,
            "kind": self.kind,
            "email": self.email,
            "reason": self.reason,
            "account_ids": list(self.account_ids),
            "first_seen": self.first_seen.isoformat().replace("+00:00", "Z"),
            "last_seen": self.last_seen.isoformat().replace("+00:00", "Z"),
        }
