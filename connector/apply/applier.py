"""Apply a :class:`~connector.rules.plan.Plan` to the store: the plan's interpreter.

Each :class:`~connector.rules.plan.Action` has one handler, registered with
``@handles(Action.X)`` (as Alembic registers an implementation per operation
class); the handlers live in :mod:`connector.store.handlers.groups`,
:mod:`connector.store.handlers.accounts` and :mod:`connector.store.handlers.mirror`.
Apply reads only the plan and the store.

Transactions.  The changes, already in apply order, are cut into batches of
``batch_size``; each batch is one transaction, committed with the audit rows
of what it did.  The bookkeeping tail of the plan (missing counts, the mirror,
the cursor) is one last transaction of its own (its handlers still get at
most ``batch_size`` changes per call), so the cursor is stored only
with the changes it covers, and a crash before it leaves the old cursor, the
old mirror and the old missing counts: the next run reads again and plans
what is left.

Failures.  A handler gets a whole batch of one action and answers per change:
applied, already so (a rerun after a crash), or failed with a reason.  It
checks what it can up front (a missing account, an identity linked
elsewhere); when the database still refuses the batch (a constraint hit by a
concurrent change) the batch is retried one change at a time, each in a
savepoint, and only the offending changes fail.  Failures are recorded in
the audit log and the run goes on; the next run plans them again.

Events.  Each transaction also writes the events of the changes it applied
(:mod:`connector.store.change_events`, the transactional outbox): committed
with them, or lost with them.

Revision.  A plan that sets the cursor (a run's plan, not a hand-made one)
also records on the directory whether the store is, at its end, exactly the
store the plan was made against plus this apply's writes
(:mod:`connector.store.revision`).  Each transaction locks and reads the
store revision before its first write and expects the plan's
``base_revision`` (the first) or the revision the previous transaction ended
at; a mismatch (another writer committed in between), an unknown base, or
any failed change makes the run not clean.  The last transaction, the one
that sets the cursor, then stores the revision it ends at and the plan's
``settings_digest`` when clean, NULL for both when not.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timezone
from typing import Any

from connector.progress import Progress
from connector.rules.plan import BOOKKEEPING
from connector.rules.plan import Action
from connector.rules.plan import Change
from connector.rules.plan import Plan
from connector.store import Store
from connector.store.change_events import ChangeEvents
from connector.store.handlers import handlers
from connector.store.handlers.registry import APPLIED
from connector.store.handlers.registry import NOOP
from connector.store.handlers.registry import ApplyContext
from connector.store.handlers.registry import Result
from connector.store.handlers.registry import run_handler
from connector.store.revision import RevisionWatch
from connector.store.revision import record_planned
from connector.store.runs import write_audit

NOT_AUDITED = frozenset(
    {Action.MIRROR_USER, Action.MIRROR_GROUP, Action.MIRROR_MEMBERS, Action.MIRROR_MEMBER_ROWS}
)
"""Mirror writes record the read, not a change to the product: too many and too dull to audit."""


@dataclass(frozen=True)
class FailedChange:
    change: Change
    error: str


@dataclass
class ApplyResult:
    """What apply did: per action, how many changes were applied and how many were already so."""

    directory_id: str
    applied: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    failed: list[FailedChange] = field(default_factory=list)
    batches: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed

    def to_dict(self) -> dict[str, Any]:
        return {
            "directory_id": self.directory_id,
            "applied": dict(self.applied),
            "unchanged": dict(self.unchanged),
            "failed": [{"change": f.change.to_dict(), "error": f.error} for f in self.failed],
            "batches": self.batches,
            "seconds": round(self.seconds, 3),
        }


_ABSENT: Any = object()


def target_of(change: Change) -> str:
    """Whom a change is done to, for the audit log."""
    group_id = getattr(change, "group_id", _ABSENT)
    account_id = getattr(change, "account_id", _ABSENT)
    if group_id is not _ABSENT and account_id is not _ABSENT:
        return f"group {group_id} / account {account_id}"
    if account_id is not _ABSENT and account_id:
        return f"account {account_id}"
    if group_id is not _ABSENT and group_id:
        return f"group {group_id}"
    if idp_user_id := getattr(change, "idp_user_id", None):
        return f"identity {idp_user_id}"
    return f"directory {getattr(change, 'directory_id', '')}"


def batches(plan: Plan, batch_size: int) -> list[list[Change]]:
    """The plan cut into transactions: ``batch_size`` changes each, the bookkeeping tail last and whole."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    work = [c for c in plan.changes if c.action not in BOOKKEEPING]
    tail = [c for c in plan.changes if c.action in BOOKKEEPING]
    cut = [work[i : i + batch_size] for i in range(0, len(work), batch_size)]
    return cut + ([tail] if tail else [])


STATISTICS_AFTER = 5000
"""Changes after which an apply refreshes the database's statistics (``Store.refresh_statistics``),
and again each time the changes applied grow tenfold, and once at the end: a first sync fills
tables the planner knows empty, and every key of a table scoped by organization begins with
``org_id``, which without statistics looks as selective as the column after it (PostgreSQL then
walked a whole organization's memberships for each batch's look-up by account)."""


def apply_plan(
    store: Store,
    plan: Plan,
    *,
    run_id: int | None = None,
    batch_size: int = 1000,
    progress: Progress | None = None,
) -> ApplyResult:
    """Apply ``plan`` to ``store``, batch by batch; see the module docstring.

    Does not compare the plan's ``base_fingerprint`` with the store: the
    caller does, under the directory's run lock (``connector.run.sync``).
    ``progress("apply", done, total)`` is called after each committed batch.
    """
    registry = handlers()
    missing = {c.action for c in plan.changes} - set(registry)
    if missing:
        raise ValueError(f"no handler for {', '.join(sorted(a.value for a in missing))}")
    started = time.perf_counter()
    result = ApplyResult(plan.directory_id)
    done, total = 0, len(plan.changes)
    created: set[str] = set()
    sets_cursor = any(c.action is Action.SET_CURSOR for c in plan.changes)
    watch = RevisionWatch(plan.base_revision) if sets_cursor else None
    refresh_at, refreshed = STATISTICS_AFTER, 0
    events = ChangeEvents(run_id)
    for batch in batches(plan, batch_size):
        with store.transaction() as conn:
            if watch is not None:
                watch.begin(conn)
            ctx = ApplyContext(conn, plan.directory_id, datetime.now(timezone.utc), created_accounts=created)
            events.begin(ctx, batch)
            audit: list[dict[str, Any]] = []
            applied: list[Change] = []
            for action, group in itertools.groupby(batch, key=lambda c: c.action):
                changes = list(group)
                # the tail is one transaction but its handlers still see batch_size changes at
                # a time: an IN (...) list stays within PostgreSQL's 65,535 bound parameters
                for start in range(0, len(changes), batch_size):
                    chunk = changes[start : start + batch_size]
                    outcomes = run_handler(ctx, registry[action], chunk)
                    if action is Action.CREATE_ACCOUNT:
                        created.update(
                            c.account_id
                            for c, (status, _) in zip(chunk, outcomes, strict=True)
                            if status == APPLIED
                        )
                    _tally(result, run_id, ctx, action, chunk, outcomes, audit)
                    applied += (c for c, (state, _) in zip(chunk, outcomes, strict=True) if state == APPLIED)
            events.write(ctx, applied)  # the outbox: each applied change's event, in this transaction
            if watch is not None:
                _watch_end(watch, ctx, plan, batch, result)
            write_audit(conn, audit)
        result.batches += 1
        done += len(batch)
        if progress is not None:
            progress("apply", done, total)
        if done >= refresh_at:  # the tables grew tenfold since the planner last counted them
            store.refresh_statistics()
            refreshed, refresh_at = done, refresh_at * 10
    if total >= STATISTICS_AFTER and refreshed != done:
        store.refresh_statistics()  # the next queries plan with what is there now
    result.seconds = time.perf_counter() - started
    return result


def _watch_end(
    watch: RevisionWatch, ctx: ApplyContext, plan: Plan, batch: list[Change], result: ApplyResult
) -> None:
    """After a transaction's writes: note failures, read the revision it ends at, and in the
    transaction that sets the cursor record it on the directory (NULL when not clean)."""
    if result.failed:
        watch.fail()
    revision = watch.end(ctx.conn)
    if any(c.action is Action.SET_CURSOR for c in batch):
        clean = watch.clean
        record_planned(
            ctx.conn, plan.directory_id, revision if clean else None, plan.settings_digest if clean else None
        )


def audit_change(change: Change) -> dict[str, Any]:
    """The change as the audit log's JSON column keeps it: ``to_dict()``, already plain data,
    made plain here only for a class with a ``to_dict`` of its own."""
    data = change.to_dict()
    if type(change).to_dict is Change.to_dict:
        return data
    return {k: dict(v) if isinstance(v, Mapping) else v for k, v in data.items()}


def _tally(
    result: ApplyResult,
    run_id: int | None,
    ctx: ApplyContext,
    action: Action,
    changes: Iterable[Change],
    outcomes: Iterable[Result],
    audit: list[dict[str, Any]],
) -> None:
    action_value = action.value
    for change, (status, error) in zip(changes, outcomes, strict=True):
        if status == NOOP:
            result.unchanged[action_value] = result.unchanged.get(action_value, 0) + 1
            continue
        if status == APPLIED:
            result.applied[action_value] = result.applied.get(action_value, 0) + 1
        else:
            result.failed.append(FailedChange(change, error or "failed"))
        if action in NOT_AUDITED and status == APPLIED:
            continue
        audit.append(
            {
                "run_id": run_id,
                "at": ctx.now,
                "action": action_value,
                "directory_id": getattr(change, "directory_id", None) or ctx.directory_id,
                "target": target_of(change)[:512],
                "reason": change.reason,
                "outcome": status,
                "error": error,
                "change": audit_change(change),
            }
        )
