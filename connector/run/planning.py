"""Planning one run: read the directory (or what changed), load the store, plan, judge.

:func:`plan_with_inputs` is what :mod:`connector.run.sync` calls.  It reads the
whole directory, or only what changed since the stored cursor when the
provider can say (:meth:`Provider.changes`).  A full read happens on a
directory's first sync, when the IdP refuses the cursor, when asked
(``full=True``) and when the last full read is older than
``settings.full_read_interval`` (default a day, well inside Graph's 7-day
delta-token life), to catch whatever deltas miss.  Before a full read it asks
the provider for a cursor that marks *now*, so the next incremental run
misses nothing that happened during the read.

A sync over a store exactly as this directory's last run left it plans only
the identities that changed (:mod:`connector.store.scope`): those the changes
since the cursor touch, or, after a full read, those the read finds different
from the mirror (:mod:`connector.run.read_differences`, which never holds the read
whole).  Otherwise (or with ``whole``) the changes are laid over the mirror,
or the full read is kept whole, and the whole directory is planned.  The
planner's plan gets the mirror's changes and the ``SetCursor`` appended here,
and carries the store revision it was made against (or None when the next
run must plan the whole directory).

What planning needs from the store (the snapshot, the mirror, the billing
figures) loads on a worker thread while the IdP is read
(:mod:`connector.run.store_inputs`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from datetime import timezone

from connector.errors import CursorExpiredError
from connector.model import ChangeSet
from connector.model import DirectoryState
from connector.model import DirectoryView
from connector.model import IdpMember
from connector.model import IdpUser
from connector.progress import Progress
from connector.providers.base import Provider
from connector.rules.billing import BillingReport
from connector.rules.guard import GuardOutcome
from connector.rules.guard import check_guard
from connector.rules.guard import judge
from connector.rules.mirror import MirrorIndex
from connector.rules.mirror import mirror_changes
from connector.rules.mirror import overlay
from connector.rules.plan import CreateAccount
from connector.rules.plan import Plan
from connector.rules.plan import SetCursor
from connector.rules.plan import UpdateAccount
from connector.rules.planner import make_plan
from connector.rules.settings import SyncSettings
from connector.run.read_differences import READ_PROGRESS_EVERY
from connector.run.read_differences import read_differences
from connector.run.store_inputs import MirrorForm
from connector.run.store_inputs import StoreInputs
from connector.store import Store
from connector.store.scope import FullRead
from connector.store.scope import keep_keys_fresh
from connector.store.scope import load_scope
from connector.store.scope import planning_basis
from connector.store.scope import why_whole


@dataclass(frozen=True)
class Planned:
    plan: Plan
    guard: GuardOutcome
    view: DirectoryView
    read_reason: str
    users_read: int
    accounts: frozenset[str] | None = None  # a scoped plan's accounts: all it can change


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
    refused: str | None,
    inputs: StoreInputs,
    *,
    force: bool,
    progress: Progress | None,
) -> Planned:
    directory_id = provider.directory_id
    view: DirectoryView | None = None
    cursor: str | None = None
    old: MirrorIndex | None = None
    basis = planning_basis(settings)
    whole = f"; planned whole: {refused}" if refused else ""  # why a run planned the whole directory
    if reason is None:
        assert state is not None
        try:
            changes = provider.changes(state.cursor)
        except CursorExpiredError:
            reason = "the IdP refused the stored cursor"
        else:
            if inputs.scoped:
                if progress is not None:
                    progress("plan", 0, None)
                scoped = _plan_scoped(
                    inputs.store,
                    settings,
                    state,
                    changes,
                    basis,
                    "changes since the stored cursor",
                    force=force,
                )
                if isinstance(scoped, Planned):
                    return scoped
                whole = f"; planned whole: {scoped}"
            mirror = inputs.mirror()
            assert isinstance(mirror, DirectoryView)
            old = MirrorIndex.of_view(mirror)
            view, cursor = overlay(mirror, changes), changes.cursor
            del mirror
    if view is None:
        if provider.supports_changes:
            cursor = provider.changes(None).cursor  # marks now: nothing during the read is missed
        if inputs.scoped:  # (a directory synced before, whose provider keeps a mirror)
            assert state is not None and reason is not None
            diff = read_differences(provider, inputs.mirror_digests(), cursor, progress)
            if progress is not None:
                progress("plan", 0, None)
            full_read = FullRead(diff.users_read, settings.missing_threshold)
            scoped = _plan_scoped(
                inputs.store, settings, state, diff.changes, basis, reason, force=force, full_read=full_read
            )
            if isinstance(scoped, Planned):
                return scoped
            # something wrote to the store during the read, which was not kept whole: read it again
            whole = f"; planned whole: {scoped}"
        view = read_directory(provider, directory_id, progress)
    if progress is not None:
        progress("plan", 0, None)
    snapshot, fingerprint, revision = inputs.snapshot()
    if old is None and provider.supports_changes:
        loaded = inputs.mirror()
        old = MirrorIndex.of_view(loaded) if isinstance(loaded, DirectoryView) else loaded
    plan = make_plan(view, snapshot, settings, base_fingerprint=fingerprint)
    extra = list(mirror_changes(old, view)) if old is not None else []
    extra.append(_set_cursor(directory_id, cursor, len(view.users) if view.full_read else None))
    plan = dataclasses.replace(
        plan,
        changes=plan.changes + tuple(extra),
        base_revision=_base_revision(plan, revision),
        settings_digest=basis,
    )
    guard = check_guard(plan, snapshot, view, settings.guard, force=force)
    return Planned(plan, guard, view, (reason or "changes since the stored cursor") + whole, len(view.users))


def _set_cursor(directory_id: str, cursor: str | None, full_read_users: int | None) -> SetCursor:
    """The plan's last change: the cursor, and for a full read (``full_read_users`` read) its date
    and count."""
    full_read = full_read_users is not None
    return SetCursor(
        reason="full read done" if full_read else "changes read",
        directory_id=directory_id,
        cursor=cursor,
        full_read=full_read,
        user_count=full_read_users,
    )


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
    reason: str,
    *,
    force: bool,
    full_read: FullRead | None = None,
) -> Planned | str:
    """Plan only the identities ``changes`` touch (:mod:`connector.store.scope`), or say why not.

    ``changes`` are the IdP's since the cursor, or with ``full_read`` a full read's differences
    from the mirror; ``reason`` is why the run read what it read."""
    with store.transaction() as conn:
        keep_keys_fresh(conn, state.directory_id)
    with store.transaction(write=False) as conn:
        scope = load_scope(conn, state, changes, basis, full_read)
        if isinstance(scope, str):
            return scope
        plan = make_plan(scope.view, scope.snapshot, settings)
        cursor = _set_cursor(
            state.directory_id, changes.cursor, full_read.users_read if full_read is not None else None
        )
        plan = dataclasses.replace(
            plan,
            changes=plan.changes + scope.mirror + (cursor,),
            users_read=scope.facts.users_read,
            base_revision=_base_revision(plan, scope.revision),
            settings_digest=basis,
        )
        guard = judge(plan, scope.facts, settings.guard, force=force)
    reached = "they touch" if full_read is None else "that differ from the last read"
    why = f"{reason}; planned only the {scope.identities} identities {reached}"
    created = {c.account_id for c in plan.changes if isinstance(c, CreateAccount)}
    accounts = frozenset(scope.snapshot.accounts.keys() | created)
    return Planned(plan, guard, scope.view, why, scope.facts.users_read, accounts)


def plan_with_inputs(
    provider: Provider,
    store: Store,
    settings: SyncSettings,
    *,
    fingerprint: bool,
    billing: bool,
    force: bool,
    full: bool | None,
    progress: Progress | None,
    whole: bool = False,
) -> tuple[Planned, BillingReport | None]:
    """Plan, with the store's inputs loaded alongside the read; the billing before, if asked.

    ``whole`` plans every identity against the store even when the store is as
    the last run left it (else only what changed, or what a full read finds
    different from the last read)."""
    directory_id = provider.directory_id
    state = store.directory_state(directory_id)
    reason = full_read_reason(provider, state, settings, full, datetime.now(timezone.utc))
    mirror: MirrorForm | None = None if not provider.supports_changes else "index" if reason else "view"
    # a sync over a store its last run left as it was may plan only what changed, or what a full
    # read finds different from the last (a saved plan is made whole: it carries a fingerprint)
    # (no mirror to tell what changed without a provider that keeps one)
    eligible = not fingerprint and state is not None and state.synced_before and provider.supports_changes
    refused: str | None = None
    if eligible and whole:
        refused = "a whole plan was asked for"
    elif eligible and state is not None:
        with store.transaction(write=False) as conn:
            refused = why_whole(conn, state, planning_basis(settings))
    scoped = eligible and refused is None
    # a scoped run takes the billing figures its last run kept; others count them during the read
    kept = state.planned_billing if scoped and state is not None else None
    inputs = StoreInputs(
        store,
        directory_id,
        fingerprint=fingerprint,
        mirror=mirror,
        billing=billing,
        scoped=scoped,
        later_billing=kept is not None,
    )
    try:
        planned = _plan(provider, settings, state, reason, refused, inputs, force=force, progress=progress)
        if billing and kept is not None and planned.accounts is not None:
            return planned, BillingReport.from_dict(kept)  # valid: the revision was found unmoved
        return planned, inputs.billing()
    finally:
        inputs.close()
