"""Planning one run: read the directory (or what changed), load the store, plan, judge.

:func:`plan_with_inputs` is what :mod:`connector.run.sync` calls.  It decides
the run's shape first (:mod:`connector.run.shape`: a full read or the changes
since the cursor; a scoped plan or a whole one), then reads and plans in it.
Before a full read it asks the provider for a cursor that marks *now*, so the
next incremental run misses nothing that happened during the read.

A scoped run plans only the identities that changed (:mod:`connector.store.scope`):
those the changes since the cursor touch, or, after a full read, those the read
finds different from the mirror (:mod:`connector.run.read_differences`, which
never holds the read whole).  A whole run lays the changes over the mirror, or
keeps the full read whole, and plans the whole directory.  The planner's plan
gets the mirror's changes and the ``SetCursor`` appended here, and carries the
store revision it was made against (or None when the next run must plan the
whole directory).

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
from connector.errors import IncompleteReadError
from connector.model import ChangeSet
from connector.model import DirectoryState
from connector.model import DirectoryView
from connector.model import IdpMember
from connector.model import IdpUser
from connector.model import ReadProblem
from connector.progress import Progress
from connector.providers.base import Provider
from connector.rules.billing import BillingReport
from connector.rules.guard import GuardOutcome
from connector.rules.guard import check_guard
from connector.rules.guard import judge
from connector.rules.managed_groups import group_absence
from connector.rules.mirror import MirrorIndex
from connector.rules.mirror import mirror_changes
from connector.rules.mirror import overlay
from connector.rules.plan import CreateAccount
from connector.rules.plan import Plan
from connector.rules.plan import SetCursor
from connector.rules.plan import UpdateAccount
from connector.rules.planner import make_plan
from connector.rules.read_faults import malformed_fault
from connector.rules.settings import SyncSettings
from connector.run.read_differences import READ_PROGRESS_EVERY
from connector.run.read_differences import read_differences
from connector.run.shape import RunShape
from connector.run.shape import decide_shape
from connector.run.shape import planning_basis
from connector.run.store_inputs import MirrorForm
from connector.run.store_inputs import StoreInputs
from connector.store import Store
from connector.store.scope import FullRead
from connector.store.scope import ScopeRefused
from connector.store.scope import keep_keys_fresh
from connector.store.scope import load_scope
from connector.store.scope import why_whole


@dataclass(frozen=True)
class Planned:
    plan: Plan
    guard: GuardOutcome
    view: DirectoryView
    read_reason: str
    users_read: int
    accounts: frozenset[str] | None = None  # a scoped plan's accounts: all it can change
    problems: tuple[ReadProblem, ...] = ()  # what the read skipped or could not trust
    decided: frozenset[str] | None = None  # a scoped plan's identities; None: every identity


def _sharing_ids(members: Iterable[IdpMember], users: Mapping[str, IdpUser]) -> Iterator[IdpMember]:
    """The members, each user id the very string object of the user read (one copy, not two)."""
    for member in members:
        user = users.get(member.member_id)
        if user is not None and user.idp_user_id is not member.member_id:
            member = IdpMember(member.group_id, user.idp_user_id, member.kind)
        yield member


def read_directory(provider: Provider, directory_id: str, progress: Progress | None = None) -> DirectoryView:
    """Every user, group and direct membership of the directory, with what the read could not take
    as the IdP's word (:meth:`DirectoryView.with_problems`)."""
    reported = len(provider.problems)
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
    view = DirectoryView(directory_id, users, groups, members, full_read=True)
    return view.with_problems(provider.problems[reported:])


@dataclass(frozen=True)
class _Planning:
    """What every way of planning one run shares."""

    provider: Provider
    settings: SyncSettings
    inputs: StoreInputs
    basis: str  # the planning basis (:func:`~connector.run.shape.planning_basis`)
    force: bool
    progress: Progress | None

    def run(self, state: DirectoryState | None, shape: RunShape) -> Planned:
        """Read and plan in the run's shape (:mod:`connector.run.shape`), changed only by its named steps."""
        provider = self.provider
        if shape.full_read is None:
            assert state is not None
            reported = len(provider.problems)
            try:
                changes = provider.changes(state.cursor)
            except CursorExpiredError:
                shape = shape.cursor_refused()
            else:
                self.check_read(reported, len(changes.users) + len(changes.groups))
                if shape.scoped:
                    try:
                        return self.scoped(state, changes, shape)
                    except ScopeRefused as refused:
                        shape = shape.planned_whole(refused.reason)
                mirror = self.inputs.mirror()
                assert isinstance(mirror, DirectoryView)
                old = MirrorIndex.of_view(mirror)
                view = overlay(mirror, changes)
                del mirror
                return self.whole(shape, view, changes.cursor, old)
        cursor = provider.changes(None).cursor if provider.supports_changes else None  # marks now
        if shape.scoped:  # a directory synced before, whose provider keeps a mirror
            assert state is not None
            reported = len(provider.problems)
            diff = read_differences(provider, self.inputs.mirror_digests(), cursor, self.progress)
            self.check_read(reported, diff.users_read + diff.groups_read)
            full_read = FullRead(diff.users_read, self.settings.missing_threshold)
            try:
                return self.scoped(state, diff.changes, shape, full_read)
            except ScopeRefused as refused:
                # something wrote to the store during the read, which was not kept whole: read it again
                shape = shape.planned_whole(refused.reason)
        reported = len(provider.problems)
        view = read_directory(provider, provider.directory_id, self.progress)
        self.check_read(reported, len(view.users) + len(view.groups))
        return self.whole(shape, view, cursor, None)

    def check_read(self, reported: int, objects_read: int) -> None:
        """Stop before planning when the problems since ``reported`` make the read a fault of the
        source (:func:`~connector.rules.read_faults.malformed_fault`)."""
        fault = malformed_fault(self.provider.problems[reported:], objects_read)
        if fault is not None:
            raise IncompleteReadError(fault, directory_id=self.provider.directory_id)

    def whole(
        self, shape: RunShape, view: DirectoryView, cursor: str | None, old: MirrorIndex | None
    ) -> Planned:
        """Plan the whole directory ``view`` against the whole store; ``old`` is the mirror's index
        (loaded here when None and the provider keeps a mirror)."""
        if self.progress is not None:
            self.progress("plan", 0, None)
        with self.inputs.store.transaction() as conn:  # so the next scoped run finds them fresh
            keep_keys_fresh(conn, view.directory_id)
        snapshot, fingerprint, revision = self.inputs.snapshot()
        if old is None and self.provider.supports_changes:
            loaded = self.inputs.mirror()
            old = MirrorIndex.of_view(loaded) if isinstance(loaded, DirectoryView) else loaded
        plan = make_plan(view, snapshot, self.settings, base_fingerprint=fingerprint)
        kept = group_absence(view, snapshot, self.settings.missing_threshold).kept_idp
        extra = list(mirror_changes(old, view, kept)) if old is not None else []
        extra.append(_set_cursor(view.directory_id, cursor, len(view.users) if view.full_read else None))
        plan = dataclasses.replace(
            plan,
            changes=plan.changes + tuple(extra),
            base_revision=_base_revision(plan, revision),
            settings_digest=self.basis,
        )
        guard = check_guard(plan, snapshot, view, self.settings.guard, force=self.force)
        if self.progress is not None:
            self.progress("plan", 1, 1)
        return Planned(plan, guard, view, shape.describe(), len(view.users))

    def scoped(
        self, state: DirectoryState, changes: ChangeSet, shape: RunShape, full_read: FullRead | None = None
    ) -> Planned:
        """Plan only the identities ``changes`` touch (:mod:`connector.store.scope`).

        ``changes`` are the IdP's since the cursor, or with ``full_read`` a full read's differences
        from the mirror.  Raises :class:`ScopeRefused` when the store moved since the shape was
        decided."""
        if self.progress is not None:
            self.progress("plan", 0, None)
        store = self.inputs.store
        with store.transaction() as conn:
            keep_keys_fresh(conn, state.directory_id, accounts=False)
        with store.transaction(write=False) as conn:
            scope = load_scope(conn, state, changes, self.basis, full_read)
            plan = make_plan(scope.view, scope.snapshot, self.settings)
            cursor = _set_cursor(
                state.directory_id, changes.cursor, full_read.users_read if full_read is not None else None
            )
            plan = dataclasses.replace(
                plan,
                changes=plan.changes + scope.mirror + (cursor,),
                users_read=scope.facts.users_read,
                base_revision=_base_revision(plan, scope.revision),
                settings_digest=self.basis,
            )
            guard = judge(plan, scope.facts, self.settings.guard, force=self.force)
        if self.progress is not None:
            self.progress("plan", 1, 1)
        created = {c.account_id for c in plan.changes if isinstance(c, CreateAccount)}
        accounts = frozenset(scope.snapshot.accounts.keys() | created)
        reason = shape.describe(scope.identities)
        decided = frozenset(scope.view.users) | frozenset(changes.removed_user_ids)
        return Planned(plan, guard, scope.view, reason, scope.facts.users_read, accounts, decided=decided)


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


def _with_problems(planned: Planned, problems: tuple[ReadProblem, ...]) -> Planned:
    """The read's problems on the plan's report, and said in its notes (``plan`` shows them)."""
    malformed = sum(1 for p in problems if p.malformed)
    incomplete = len(problems) - malformed
    said = []
    if malformed:
        said.append(f"{malformed} malformed object(s) skipped: never read as inactive or absent")
    if incomplete:
        said.append(
            f"{incomplete} group(s) with a member list not known to be complete: their memberships stay"
        )
    notes = planned.plan.notes + tuple(said) + tuple(p.reason for p in problems[:20])
    plan = dataclasses.replace(planned.plan, notes=notes)
    return dataclasses.replace(planned, plan=plan, problems=problems)


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
    basis = planning_basis(settings)

    def store_moved() -> str | None:
        assert state is not None
        with store.transaction(write=False) as conn:
            return why_whole(conn, state, basis)

    shape = decide_shape(
        provider,
        state,
        settings,
        full=full,
        whole=whole,
        saved=fingerprint,
        store_moved=store_moved,
        now=datetime.now(timezone.utc),
    )
    mirror: MirrorForm | None = None
    if provider.supports_changes:
        mirror = "index" if shape.full_read is not None else "view"
    # a scoped run takes the billing figures its last run kept; others count them during the read
    kept = state.planned_billing if shape.scoped and state is not None else None
    inputs = StoreInputs(
        store,
        directory_id,
        fingerprint=fingerprint,
        mirror=mirror,
        billing=billing,
        scoped=shape.scoped,
        later_billing=kept is not None,
    )
    try:
        planned = _Planning(provider, settings, inputs, basis, force, progress).run(state, shape)
        if provider.problems:
            planned = _with_problems(planned, tuple(provider.problems))
        if billing and kept is not None and planned.accounts is not None:
            return planned, BillingReport.from_dict(kept)  # valid: the revision was found unmoved
        return planned, inputs.billing()
    finally:
        inputs.close()
