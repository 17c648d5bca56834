"""The sync facade: read -> map -> link -> plan -> guard -> apply, and a report.

:func:`sync_directory` runs one directory under its run lock (one run per
directory at a time).  It reads the whole directory, or only what changed
since the stored cursor when the provider can say (:meth:`Provider.changes`).
A full read happens on a directory's first sync, when the IdP refuses the
cursor, when asked (``full=True``) and when the last full read is older than
``settings.full_read_interval`` (default a day, well inside Graph's 7-day
delta-token life), to catch whatever deltas miss.  Before a full read the
facade asks the provider for a cursor that marks *now*, so the next
incremental run misses nothing that happened during the read.

The planner's plan gets the mirror's changes and the ``SetCursor`` appended
here; :mod:`connector.apply` writes them in its last transaction, so the
cursor is stored only with the changes it covers.  A plan the guard stops is
not applied at all, cursor included: the next run reads again.

Speed and memory (figures in ``docs/benchmarks.md``): what planning needs from
the store (the snapshot, the mirror, the billing figures) loads on a worker
thread while the IdP is read; the cyclic garbage collector is paused for the
run; the read is let go before apply.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import time
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from datetime import timezone

from connector.apply import ApplyResult
from connector.apply import apply_plan
from connector.billing import BillingReport
from connector.errors import CursorExpiredError
from connector.errors import StalePlanError
from connector.guard import GuardOutcome
from connector.guard import check_guard
from connector.guard import judge
from connector.mirror import MirrorIndex
from connector.mirror import mirror_changes
from connector.mirror import overlay
from connector.model import ChangeSet
from connector.model import DirectoryState
from connector.model import DirectoryView
from connector.model import IdpMember
from connector.model import IdpUser
from connector.plan import BOOKKEEPING
from connector.plan import Action
from connector.plan import CreateAccount
from connector.plan import Plan
from connector.plan import SetCursor
from connector.plan import UpdateAccount
from connector.planner import make_plan
from connector.planning_inputs import MirrorForm
from connector.planning_inputs import StoreInputs
from connector.providers.base import Provider
from connector.scoped import keep_keys_fresh
from connector.scoped import load_scope
from connector.scoped import planning_basis
from connector.settings import SyncSettings
from connector.store import Store
from connector.sync_report import SyncReport

Progress = Callable[[str, int, int | None], None]
READ_PROGRESS_EVERY = 1000
DEFAULT_BATCH_SIZE = 5000
"""Changes per apply transaction.  Each commit costs a WAL write (on SQLite) or a round trip
and flush (PostgreSQL); 5,000 keeps a 100k-user first sync at about 70 commits, and a batch
the database refuses is still retried one change at a time."""


@dataclass(frozen=True)
class _Planned:
    plan: Plan
    guard: GuardOutcome
    view: DirectoryView
    read_reason: str
    users_read: int
    accounts: frozenset[str] | None = None  # a scoped plan's accounts: all it can change


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


def directory_id_of(provider: Provider) -> str:
    """The directory a provider reads (its settings' ``directory_id``)."""
    directory_id = getattr(provider, "directory_id", None)
    if not directory_id:
        settings = getattr(provider, "settings", None)
        directory_id = getattr(settings, "directory_id", None)
    if not directory_id:
        raise ValueError(f"provider {type(provider).__name__} does not say which directory it reads")
    return str(directory_id)


def full_read_reason(
    provider: Provider, state: DirectoryState | None, settings: SyncSettings, full: bool | None, now: datetime
) -> str | None:
    """Why this run must read everything, or None when changes since the cursor will do."""
    if full:
        return "a full read was asked for"
    if not provider.supports_changes:
        return f"the {provider.name} provider cannot say what changed"
    if state is None or not state.synced_before or not state.cursor:
        return "first sync of this directory"
    last = state.last_full_read_at
    if last is None:
        return "no full read on record"
    if last.tzinfo is None:
        last = last.replace(tzinfo=timezone.utc)
    if now - last >= settings.full_read_interval:
        return f"the last full read is older than {settings.full_read_interval}"
    return None


def _sharing_ids(members: Iterable[IdpMember], users: Mapping[str, IdpUser]) -> Iterator[IdpMember]:
    """The members, each user id the very string object of the user read (one copy, not two)."""
    for member in members:
        user = users.get(member.member_id)
        if user is not None and user.idp_user_id is not member.member_id:
            member = IdpMember(member.group_id, user.idp_user_id, member.kind)
        yield member


def read_directory(provider: Provider, directory_id: str, progress: Progress | None = None) -> DirectoryView:
    """Every user, group and direct membership of the directory."""
    users = {}
    for n, user in enumerate(provider.iter_users(), 1):
        users[user.idp_user_id] = user
        if progress is not None and n % READ_PROGRESS_EVERY == 0:
            progress("read users", n, None)
    if progress is not None:
        progress("read users", len(users), len(users))
    groups = {g.idp_group_id: g for g in provider.iter_groups()}
    members = {}
    for n, group_id in enumerate(groups, 1):
        members[group_id] = tuple(_sharing_ids(provider.iter_members(group_id), users))
        if progress is not None:
            progress("read members", n, len(groups))
    return DirectoryView(directory_id, users, groups, members, full_read=True)


def _plan(
    provider: Provider,
    settings: SyncSettings,
    state: DirectoryState | None,
    reason: str | None,
    inputs: StoreInputs,
    *,
    force: bool,
    progress: Progress | None,
) -> _Planned:
    directory_id = directory_id_of(provider)
    view: DirectoryView | None = None
    cursor: str | None = None
    old: MirrorIndex | None = None
    basis = planning_basis(settings)
    whole = ""  # why an incremental run planned the whole directory
    if reason is None:
        assert state is not None
        try:
            changes = provider.changes(state.cursor)
        except CursorExpiredError:
            reason = "the IdP refused the stored cursor"
        else:
            if inputs.scoped is not None:
                if progress is not None:
                    progress("plan", 0, None)
                scoped = _plan_scoped(inputs.scoped, settings, state, changes, basis, force=force)
                if isinstance(scoped, _Planned):
                    return scoped
                whole = f"; planned whole: {scoped}"
            elif state.planned_revision is None:
                whole = "; planned whole: the store as the last run left it is not on record"
            mirror = inputs.mirror()
            assert isinstance(mirror, DirectoryView)
            old = MirrorIndex.of_view(mirror)
            view, cursor = overlay(mirror, changes), changes.cursor
            del mirror
    if view is None:
        if provider.supports_changes:
            cursor = provider.changes(None).cursor  # marks now: nothing during the read is missed
        view = read_directory(provider, directory_id, progress)
    if progress is not None:
        progress("plan", 0, None)
    snapshot, fingerprint, revision = inputs.snapshot()
    if old is None and provider.supports_changes:
        loaded = inputs.mirror()
        old = MirrorIndex.of_view(loaded) if isinstance(loaded, DirectoryView) else loaded
    plan = make_plan(view, snapshot, settings, base_fingerprint=fingerprint)
    extra = list(mirror_changes(old, view)) if old is not None else []
    extra.append(
        SetCursor(
            reason="full read done" if view.full_read else "changes read",
            directory_id=directory_id,
            cursor=cursor,
            full_read=view.full_read,
            user_count=len(view.users) if view.full_read else None,
        )
    )
    plan = dataclasses.replace(
        plan,
        changes=plan.changes + tuple(extra),
        base_revision=_base_revision(plan, revision),
        settings_digest=basis,
    )
    guard = check_guard(plan, snapshot, view, settings.guard, force=force)
    return _Planned(plan, guard, view, reason or f"changes since the stored cursor{whole}", len(view.users))


GROUP_ACTIONS = frozenset({Action.CREATE_GROUP, Action.ADOPT_GROUP, Action.UPDATE_GROUP})


def _base_revision(plan: Plan, revision: int) -> int | None:
    """The revision the plan goes to apply with; None (the next run plans the whole directory)
    when it readdresses an account: identities its old address kept from linking were decided
    before it moved, and only a whole plan looks at them again."""
    if any(isinstance(c, UpdateAccount) and "email" in c.fields for c in plan.changes):
        return None
    return revision


def _plan_scoped(
    store: Store,
    settings: SyncSettings,
    state: DirectoryState,
    changes: ChangeSet,
    basis: str,
    *,
    force: bool,
) -> _Planned | str:
    """Plan only the identities ``changes`` touch (:mod:`connector.scoped`), or say why not."""
    with store.transaction() as conn:
        keep_keys_fresh(conn, state.directory_id)
    with store.transaction(write=False) as conn:
        scope = load_scope(conn, state, changes, basis)
        if isinstance(scope, str):
            return scope
        plan = make_plan(scope.view, scope.snapshot, settings)
        cursor = SetCursor(
            reason="changes read", directory_id=state.directory_id, cursor=changes.cursor, full_read=False
        )
        plan = dataclasses.replace(
            plan,
            changes=plan.changes + scope.mirror + (cursor,),
            users_read=scope.facts.users_read,
            base_revision=_base_revision(plan, scope.revision),
            settings_digest=basis,
        )
        guard = judge(plan, scope.facts, settings.guard, force=force)
    why = f"changes since the stored cursor; planned only the {scope.identities} identities they touch"
    created = {c.account_id for c in plan.changes if isinstance(c, CreateAccount)}
    accounts = frozenset(scope.snapshot.accounts.keys() | created)
    return _Planned(plan, guard, scope.view, why, scope.facts.users_read, accounts)


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
    directory_id = directory_id_of(provider)
    store.ensure_directory(directory_id, provider.name)
    with gc_paused():
        planned = _plan_with_inputs(
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


def _plan_with_inputs(
    provider: Provider,
    store: Store,
    settings: SyncSettings,
    *,
    fingerprint: bool,
    billing: bool,
    force: bool,
    full: bool | None,
    progress: Progress | None,
) -> tuple[_Planned, BillingReport | None]:
    """Plan, with the store's inputs loaded alongside the read; the billing before, if asked."""
    directory_id = directory_id_of(provider)
    state = store.directory_state(directory_id)
    reason = full_read_reason(provider, state, settings, full, datetime.now(timezone.utc))
    mirror: MirrorForm | None = None if not provider.supports_changes else "index" if reason else "view"
    # a sync's incremental run over a store its last run left may plan only what changed
    scoped = not fingerprint and reason is None and state is not None and state.planned_revision is not None
    inputs = StoreInputs(
        store, directory_id, fingerprint=fingerprint, mirror=mirror, billing=billing, scoped=scoped
    )
    try:
        planned = _plan(provider, settings, state, reason, inputs, force=force, progress=progress)
        return planned, inputs.billing()
    finally:
        inputs.close()


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
    wait: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress | None = None,
) -> SyncReport:
    """One sync run of the provider's directory; see the module docstring.

    A dry run plans and reports without writing anything but its run record.
    Another run of the same directory makes this one raise
    :class:`~connector.errors.RunInProgressError`, or wait with ``wait``.
    """
    started = time.perf_counter()
    requests_before = provider.request_count
    directory_id = directory_id_of(provider)
    store.ensure_directory(directory_id, provider.name)
    lock = store.run_lock(directory_id, wait=wait) if not dry_run else contextlib.nullcontext()
    with lock, gc_paused():
        if not dry_run:
            store.close_interrupted_runs(directory_id)
        run_id = store.start_run(directory_id, kind="sync", dry_run=dry_run)
        try:
            report = _sync(provider, store, settings, run_id, dry_run, force, full, batch_size, progress)
        except BaseException as exc:
            store.finish_run(
                run_id, outcome="failed", counts={}, detail=f"{type(exc).__name__}: {exc}"[:2000]
            )
            raise
        report.requests = provider.request_count - requests_before
        report.seconds = time.perf_counter() - started
        detail = report.guard.message if report.guard.rule else f"{len(report.failed)} change(s) failed"
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
    batch_size: int,
    progress: Progress | None,
) -> SyncReport:
    directory_id = directory_id_of(provider)
    planned, before = _plan_with_inputs(
        provider, store, settings, fingerprint=False, billing=True, force=force, full=full, progress=progress
    )
    assert before is not None
    plan = planned.plan
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
    del planned  # the read and its view are done with: apply needs the plan alone
    result = apply_plan(store, plan, run_id=run_id, batch_size=batch_size, progress=progress)
    report.applied = True
    report.failed = result.failed
    report.outcome = "applied" if result.ok else "applied_with_failures"
    if plan.is_empty:
        report.billing_after = before
    elif share is not None and touched is not None:
        report.billing_after = before.moved(share, store.billing(touched))
    else:
        report.billing_after = store.billing()
    return report


def apply_saved_plan(
    store: Store,
    plan: Plan,
    *,
    wait: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress | None = None,
) -> ApplyResult:
    """Apply exactly ``plan`` (``apply plan.json``) under the directory's run lock.

    Refused with :class:`StalePlanError` when the store changed since the
    plan was made (its ``base_fingerprint``), checked under the lock.
    """
    with store.run_lock(plan.directory_id, wait=wait):
        if plan.base_fingerprint and store.fingerprint(plan.directory_id) != plan.base_fingerprint:
            raise StalePlanError(
                f"the store changed since this plan for {plan.directory_id!r} was made; make a new plan"
            )
        store.close_interrupted_runs(plan.directory_id)
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
