"""The receiving guard: deactivations a push directory's IdP sends beyond the guard, staged.

A pulled directory's guard weighs one plan.  A push directory's IdP sends its deactivations a
request at a time, so the guard weighs a window instead (``guard.window_seconds``, 10 minutes by
default): the deactivations applied in it, those staged in it and the request's own.  When they
reach ``guard.min_deactivations`` and exceed ``guard.max_deactivations`` or
``guard.max_deactivation_ratio`` of the directory's linked accounts, the request's deactivations
are staged (:mod:`connector.store.staged`) instead of applied: the IdP is answered with success
and sees the user as it sent it, the account keeps its access, and an admin decides
(``idp-connector staged``).  An identity already held stays held whatever plan reaches it, and a
held row goes when the IdP reports the user active again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from collections.abc import Collection
from datetime import datetime
from datetime import timedelta
from datetime import timezone

from connector.errors import StoreError
from connector.model import ChangeSet
from connector.rules.plan import DeactivateAccount
from connector.rules.plan import Plan
from connector.rules.plan import RemoveMembership
from connector.rules.settings import GuardSettings
from connector.store import Store
from connector.store import staged as held_rows
from connector.store.push_reads import DirectoryLookup
from connector.store.registry import DirectoryEntry
from connector.store.scoped_reads import links_count


def beyond(guard: GuardSettings, deactivations: int, linked: int) -> bool:
    """Whether ``deactivations`` within the window are more than the guard allows."""
    if deactivations < max(guard.min_deactivations, 1):
        return False
    return deactivations > guard.max_deactivations or deactivations > guard.max_deactivation_ratio * linked


class ReceivingGuard:
    """Holds a push request's deactivations back when the window's are beyond the guard.

    ``request`` gives the request's changes (known once its edit ran, under the lock);
    ``released`` names identities an admin approved: their deactivations pass.
    """

    def __init__(
        self,
        store: Store,
        directory_id: str,
        guard: GuardSettings,
        request: Callable[[], ChangeSet],
        *,
        released: Collection[str] = (),
    ) -> None:
        self.store = store
        self.directory_id = directory_id
        self.guard = guard
        self.request = request
        self.released = frozenset(released)
        self.staged: list[str] = []  # the identities this request's plan staged

    def __call__(self, plan: Plan) -> Plan:
        """``plan`` without the deactivations held (and the membership removals of their accounts)."""
        now = datetime.now(timezone.utc)
        since = now - timedelta(seconds=self.guard.window_seconds)
        wanted = [c for c in plan.changes if isinstance(c, DeactivateAccount)]
        active_again = {u.idp_user_id for u in self.request().users if u.active}
        with self.store.transaction() as conn:
            if active_again:
                held_rows.release(conn, self.directory_id, active_again)
            if not wanted:
                return plan
            held = held_rows.held_identities(conn, self.directory_id, [c.idp_user_id for c in wanted])
            fresh = [c for c in wanted if c.idp_user_id not in held and c.idp_user_id not in self.released]
            keep = {
                c.account_id for c in wanted if c.idp_user_id in held and c.idp_user_id not in self.released
            }
            if fresh:
                seen = held_rows.deactivations_applied_since(conn, self.directory_id, since)
                seen += held_rows.staged_since(conn, self.directory_id, since)
                if beyond(self.guard, seen + len(fresh), links_count(conn, self.directory_id)):
                    reason = (
                        f"{seen + len(fresh)} deactivations within {self.guard.window_seconds} s are beyond "
                        "the guard (guard.min_deactivations, guard.max_deactivations, "
                        "guard.max_deactivation_ratio)"
                    )
                    held_rows.stage(
                        conn, self.directory_id, [(c.idp_user_id, c.account_id, reason) for c in fresh], now
                    )
                    keep |= {c.account_id for c in fresh}
                    self.staged = [c.idp_user_id for c in fresh]
        if not keep:
            return plan
        changes = tuple(
            c
            for c in plan.changes
            if not (isinstance(c, (DeactivateAccount, RemoveMembership)) and c.account_id in keep)
        )
        note = f"{len(keep)} deactivation(s) held by the receiving guard: see idp-connector staged list"
        return dataclasses.replace(plan, changes=changes, notes=(*plan.notes, note))


def plan_guard(guard: GuardSettings) -> GuardSettings:
    """The guard each push request's own plan is weighed by: the receiving guard weighs its
    deactivations over the window, so the per-plan deactivation rule is off."""
    return dataclasses.replace(guard, min_deactivations=2**31 - 1)


@dataclasses.dataclass(frozen=True)
class Decision:
    """What deciding held deactivations did: how many were decided and how many accounts went."""

    decided: int
    deactivated: int


def _chosen(store: Store, entry: DirectoryEntry, ids: Collection[str] | None) -> set[str]:
    """The identities of ``ids`` held (staged, not rejected) in the directory; every one for None."""
    staged = {s.idp_user_id for s in store.staged(entry.directory_id, state=held_rows.STAGED)}
    return staged if ids is None else staged & set(ids)


def approve(store: Store, entry: DirectoryEntry, ids: Collection[str] | None = None) -> Decision:
    """Apply the held deactivations of ``ids`` (every one staged in the directory when None).

    Each identity is planned again as the directory now has it, under the run lock: one the
    IdP has since reported active is not deactivated.  The rows go once the run applied."""
    from connector.push.changes import CURSOR
    from connector.push.changes import run_request

    chosen = _chosen(store, entry, ids)
    if not chosen:
        return Decision(0, 0)

    def edit(look: DirectoryLookup) -> ChangeSet:
        found = {u.idp_user_id: u for u in look.users_by_ids(chosen)}
        return ChangeSet(
            cursor=CURSOR,
            users=tuple(found[i] for i in sorted(found)),
            removed_user_ids=tuple(sorted(chosen - found.keys())),
        )

    report, _ = run_request(store, entry, edit, released=chosen)
    if report.outcome not in ("applied", "applied_with_failures"):
        raise StoreError(f"held deactivations not applied: {report.guard.message or report.outcome}")
    store.release_staged(entry.directory_id, chosen)
    return Decision(len(chosen), int(report.counts.get("deactivate", 0)))


def reject(store: Store, entry: DirectoryEntry, ids: Collection[str] | None = None) -> Decision:
    """Keep these held accounts active (every staged one of the directory when None)."""
    chosen = _chosen(store, entry, ids)
    return Decision(store.reject_staged(entry.directory_id, chosen) if chosen else 0, 0)
