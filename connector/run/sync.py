"""The sync facade: read -> map -> link -> plan -> guard -> apply, and a report.

:func:`sync_directory` runs one directory under its run lock (one run per
directory at a time): it plans (:mod:`connector.run.planning`: the whole
directory or what changed since the stored cursor, planned whole or only
where the changes reach), then applies the plan unless the guard stops it.
:mod:`connector.apply.applier` writes the mirror's changes and the cursor in the
plan's last transaction, so the cursor is stored only with the changes it
covers.  A plan the guard stops is not applied at all, cursor included: the
next run reads again.  :func:`plan_directory` plans for a saved plan, and
:func:`apply_saved_plan` applies one.

Speed and memory (figures in ``docs/benchmarks.md``): the cyclic garbage
collector is paused for the run; the read is let go before apply; a run
that planned only a few accounts brings the billing report up to date from
their share alone.
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Callable
from collections.abc import Iterator

from connector import log_context
from connector.apply.applier import ApplyResult
from connector.apply.applier import apply_plan
from connector.errors import StalePlanError
from connector.model import DirectoryView
from connector.progress import Progress
from connector.providers.base import Provider
from connector.rules.guard import GuardOutcome
from connector.rules.plan import BOOKKEEPING
from connector.rules.plan import Action
from connector.rules.plan import Plan
from connector.rules.settings import SyncSettings
from connector.run.planning import plan_with_inputs
from connector.run.planning import read_directory
from connector.run.report import SyncReport
from connector.store import Store
from connector.store.lock import Wait

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "apply_saved_plan",
    "gc_paused",
    "plan_directory",
    "read_directory",
    "sync_directory",
]

DEFAULT_BATCH_SIZE = 5000
"""Changes per apply transaction.  Each commit costs a WAL write (on SQLite) or a round trip
and flush (PostgreSQL); 5,000 keeps a 100k-user first sync at about 70 commits, and a batch
the database refuses is still retried one change at a time."""


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the block, as it was after.

    A run holds a few million small objects (the read, the store's snapshot,
    the plan), none of them in reference cycles, so reference counting frees
    them all; each full collection would only walk them again (about a fifth
    of an unchanged 100k-user run).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


GROUP_ACTIONS = frozenset({Action.CREATE_GROUP, Action.ADOPT_GROUP, Action.UPDATE_GROUP})


def plan_directory(
    provider: Provider,
    store: Store,
    settings: SyncSettings,
    *,
    force: bool = False,
    full: bool | None = None,
    progress: Progress | None = None,
) -> tuple[Plan, GuardOutcome, DirectoryView]:
    """Read the directory and plan against the store.

    Writes nothing but the directory's registration; takes no run lock.  The
    plan carries its ``base_fingerprint`` for :func:`apply_saved_plan`.
    """
    directory_id = provider.directory_id
    store.ensure_directory(directory_id, provider.name)
    with gc_paused():
        planned = plan_with_inputs(
            provider,
            store,
            settings,
            fingerprint=True,
            billing=False,
            force=force,
            full=full,
            progress=progress,
        )[0]
    return planned.plan, planned.guard, planned.view


def _split_counts(plan: Plan) -> tuple[dict[str, int], dict[str, int]]:
    counts = plan.counts()
    product = {a.value: counts[a.value] for a in Action if a not in BOOKKEEPING}
    bookkeeping = {a.value: counts[a.value] for a in Action if a in BOOKKEEPING}
    return product, bookkeeping


def sync_directory(
    provider: Provider,
    store: Store,
    settings: SyncSettings,
    *,
    dry_run: bool = False,
    force: bool = False,
    full: bool | None = None,
    wait: Wait = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress | None = None,
    whole: bool = False,
    hold: Callable[[Plan], Plan] | None = None,
) -> SyncReport:
    """One sync run of the provider's directory; see the module docstring.

    A dry run plans and reports without writing anything but its run record.
    Another run of the same directory, or of another directory of the organization (they share
    its accounts), makes this one raise :class:`~connector.errors.RunInProgressError`
    (:class:`~connector.errors.OrganizationBusyError`), or wait with ``wait`` (True, or at most
    that many seconds).
    ``whole`` plans every identity against the store even when the store is as
    the last run left it (which otherwise plans only what changed since).
    ``hold`` takes changes out of a plan the guard passed before it is applied (a push
    directory's receiving guard, :mod:`connector.push.staging`).
    """
    started = time.perf_counter()
    requests_before = provider.request_count
    directory_id = provider.directory_id
    store.ensure_directory(directory_id, provider.name)
    lock = store.writing_run(directory_id, wait=wait) if not dry_run else contextlib.nullcontext()
    with contextlib.ExitStack() as held:
        held.enter_context(lock)
        held.enter_context(gc_paused())
        if not dry_run:
            store.close_interrupted_runs(directory_id)
        run_id = store.start_run(directory_id, kind="sync", dry_run=dry_run)
        held.enter_context(log_context.running(run_id))
        try:
            report = _sync(
                provider, store, settings, run_id, dry_run, force, full, whole, batch_size, progress, hold
            )
        except BaseException as exc:
            store.finish_run(
                run_id, outcome="failed", counts={}, detail=f"{type(exc).__name__}: {exc}"[:2000]
            )
            raise
        report.requests = provider.request_count - requests_before
        report.seconds = time.perf_counter() - started
        detail = report.guard.message if report.guard.rule else ""
        if report.failed:
            detail = f"{len(report.failed)} change(s) failed"
        store.finish_run(run_id, outcome=report.outcome, counts=report.counts, detail=detail)
        return report


def _sync(
    provider: Provider,
    store: Store,
    settings: SyncSettings,
    run_id: int,
    dry_run: bool,
    force: bool,
    full: bool | None,
    whole: bool,
    batch_size: int,
    progress: Progress | None,
    hold: Callable[[Plan], Plan] | None = None,
) -> SyncReport:
    directory_id = provider.directory_id
    planned, before = plan_with_inputs(
        provider,
        store,
        settings,
        fingerprint=False,
        billing=True,
        force=force,
        full=full,
        progress=progress,
        whole=whole,
    )
    assert before is not None
    plan = planned.plan
    if hold is not None and not dry_run and not planned.guard.tripped:
        plan = hold(plan)
    counts, bookkeeping = _split_counts(plan)
    report = SyncReport(
        directory_id=directory_id,
        run_id=run_id,
        full_read=plan.full_read,
        read_reason=planned.read_reason,
        dry_run=dry_run,
        outcome="dry_run" if dry_run else "guard_tripped" if planned.guard.tripped else "applied",
        counts=counts,
        bookkeeping=bookkeeping,
        conflicts=plan.conflicts,
        skipped=plan.skipped,
        notes=plan.notes,
        read_problems=planned.problems,
        guard=planned.guard,
        users_read=planned.users_read,
        billing_before=before,
        plan=plan,
    )
    if dry_run or planned.guard.tripped:
        return report
    # a scoped plan that renames, makes or adopts no group changes only its own accounts' billing
    touched = None if any(c.action in GROUP_ACTIONS for c in plan.changes) else planned.accounts
    share = store.billing(touched) if touched is not None and not plan.is_empty else None
    decided = planned.decided
    del planned  # the read and its view are done with: apply needs the plan alone
    result = apply_plan(store, plan, run_id=run_id, batch_size=batch_size, progress=progress)
    store.record_conflicts(directory_id, plan.conflicts, decided=decided)
    report.applied = True
    report.failed = result.failed
    report.outcome = "applied" if result.ok else "applied_with_failures"
    if plan.is_empty:
        report.billing_after = before
    elif share is not None and touched is not None:
        report.billing_after = before.moved(share, store.billing(touched))
    else:
        report.billing_after = store.billing()
    store.keep_billing(directory_id, report.billing_after)  # the next scoped run starts from these
    return report


def apply_saved_plan(
    store: Store,
    plan: Plan,
    *,
    wait: Wait = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress | None = None,
) -> ApplyResult:
    """Apply exactly ``plan`` (``apply plan.json``) under the directory's run lock.

    Refused with :class:`StalePlanError` when the store changed since the
    plan was made (its ``base_fingerprint``), checked under the lock.
    """
    with store.writing_run(plan.directory_id, wait=wait):
        if plan.base_fingerprint and store.fingerprint(plan.directory_id) != plan.base_fingerprint:
            raise StalePlanError(
                f"the store changed since this plan for {plan.directory_id!r} was made; make a new plan"
            )
        store.close_interrupted_runs(plan.directory_id)
        store.refresh_address_keys(plan.directory_id)  # the next scoped run counts on them
        run_id = store.start_run(plan.directory_id, kind="apply", dry_run=False)
        try:
            result = apply_plan(store, plan, run_id=run_id, batch_size=batch_size, progress=progress)
        except BaseException as exc:
            store.finish_run(
                run_id, outcome="failed", counts={}, detail=f"{type(exc).__name__}: {exc}"[:2000]
            )
            raise
        store.finish_run(
            run_id,
            outcome="applied" if result.ok else "applied_with_failures",
            counts=result.applied,
            detail=f"{len(result.failed)} change(s) failed",
        )
        return result
