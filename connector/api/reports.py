"""The reports the API returns besides the engine's own (``SyncReport``, ``ApplyResult``, ``BillingReport``).

Each has ``to_dict()``: plain JSON-ready data, the same the CLI prints with ``--json``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from connector.errors import ConnectorError
from connector.rules.plan import BOOKKEEPING
from connector.rules.plan import Action
from connector.rules.plan import Plan


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
            "error": error_dict(self.error),
        }


@dataclass(frozen=True)
class PlanReport:
    """A plan for one directory and the guard's verdict on it (nothing applied)."""

    plan: Plan
    guard: Any  # connector.rules.guard.GuardOutcome

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


def error_dict(error: ConnectorError | None, message: str | None = None) -> dict[str, Any] | None:
    """``{"type", "message", "exit_code"}`` of an error (docs/cli.md); ``message`` replaces ``str(error)``."""
    if error is None:
        return None
    return {"type": type(error).__name__, "message": message or str(error), "exit_code": error.exit_code}


def to_plain(value: Any) -> Any:
    """Dataclass or object with to_dict into JSON-ready data."""
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
