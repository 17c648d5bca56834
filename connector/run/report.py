"""What one sync run of one directory did: the report :func:`connector.run.sync.sync_directory` returns."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from connector.apply.applier import FailedChange
from connector.model import ReadProblem
from connector.rules.billing import BillingReport
from connector.rules.guard import GuardOutcome
from connector.rules.plan import Conflict
from connector.rules.plan import Plan


@dataclass
class SyncReport:
    """What one run of one directory did; plain data, ``to_dict()`` for JSON.

    ``counts`` are planned product changes per action (every action listed);
    ``bookkeeping`` the planned bookkeeping (missing counts, mirror, cursor).
    ``applied`` is True when the plan was applied (``failed`` lists the
    changes the store refused; the next run retries them).  ``read_problems``
    are the objects the read skipped as malformed and the groups whose member
    list was not known to be complete.
    """

    directory_id: str
    run_id: int | None
    full_read: bool
    read_reason: str
    dry_run: bool
    outcome: str
    counts: dict[str, int]
    bookkeeping: dict[str, int]
    conflicts: tuple[Conflict, ...]
    skipped: tuple[tuple[str, str], ...]
    notes: tuple[str, ...]
    guard: GuardOutcome
    users_read: int
    billing_before: BillingReport | None = None
    billing_after: BillingReport | None = None
    requests: int = 0
    seconds: float = 0.0
    applied: bool = False
    failed: list[FailedChange] = field(default_factory=list)
    read_problems: tuple[ReadProblem, ...] = ()
    plan: Plan | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "directory_id": self.directory_id,
            "run_id": self.run_id,
            "full_read": self.full_read,
            "read_reason": self.read_reason,
            "dry_run": self.dry_run,
            "outcome": self.outcome,
            "counts": dict(self.counts),
            "bookkeeping": dict(self.bookkeeping),
            "conflicts": [dataclasses.asdict(c) for c in self.conflicts],
            "skipped": [list(s) for s in self.skipped],
            "notes": list(self.notes),
            "guard": self.guard.to_dict(),
            "users_read": self.users_read,
            "billing_before": self.billing_before.to_dict() if self.billing_before else None,
            "billing_after": self.billing_after.to_dict() if self.billing_after else None,
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "applied": self.applied,
            "failed": [{"change": f.change.to_dict(), "error": f.error} for f in self.failed],
            "read_problems": [p.to_dict() for p in self.read_problems],
        }
