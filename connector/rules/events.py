"""The events a consumer learns of (GATEWAY.md, "Events"): the types, and which change makes which.

Pure data: the applier (:mod:`connector.store.change_events`) writes one event per applied change
of an action in :data:`EVENT_OF_ACTION`, so a plan's counts by action are the run's event counts
by type; ``access.*`` follow from memberships and status, ``conflict.*`` from the run's conflicts,
``sync.completed`` and ``guard.tripped`` from the run's end.  Each type has a JSON Schema in
``docs/events/``.
"""

from __future__ import annotations

from collections.abc import Iterable

from connector.rules.plan import Action

ACCOUNT_CREATED = "account.created"
ACCOUNT_LINKED = "account.linked"
ACCOUNT_UPDATED = "account.updated"
ACCOUNT_DEACTIVATED = "account.deactivated"
ACCOUNT_REACTIVATED = "account.reactivated"
GROUP_CREATED = "group.created"
GROUP_UPDATED = "group.updated"
MEMBERSHIP_ADDED = "membership.added"
MEMBERSHIP_REMOVED = "membership.removed"
ACCESS_GRANTED = "access.granted"
ACCESS_REVOKED = "access.revoked"
CONFLICT_OPENED = "conflict.opened"
CONFLICT_RESOLVED = "conflict.resolved"
SYNC_COMPLETED = "sync.completed"
GUARD_TRIPPED = "guard.tripped"

EVENT_TYPES: tuple[str, ...] = (
    ACCOUNT_CREATED,
    ACCOUNT_LINKED,
    ACCOUNT_UPDATED,
    ACCOUNT_DEACTIVATED,
    ACCOUNT_REACTIVATED,
    GROUP_CREATED,
    GROUP_UPDATED,
    MEMBERSHIP_ADDED,
    MEMBERSHIP_REMOVED,
    ACCESS_GRANTED,
    ACCESS_REVOKED,
    CONFLICT_OPENED,
    CONFLICT_RESOLVED,
    SYNC_COMPLETED,
    GUARD_TRIPPED,
)

EVENT_OF_ACTION: dict[Action, str] = {
    Action.CREATE_GROUP: GROUP_CREATED,
    Action.ADOPT_GROUP: GROUP_UPDATED,
    Action.UPDATE_GROUP: GROUP_UPDATED,
    Action.CREATE_ACCOUNT: ACCOUNT_CREATED,
    Action.LINK: ACCOUNT_LINKED,
    Action.UPDATE_ACCOUNT: ACCOUNT_UPDATED,
    Action.ACTIVATE: ACCOUNT_REACTIVATED,
    Action.ADD_MEMBERSHIP: MEMBERSHIP_ADDED,
    Action.REMOVE_MEMBERSHIP: MEMBERSHIP_REMOVED,
    Action.DEACTIVATE: ACCOUNT_DEACTIVATED,
}
"""The event each applied change writes; the bookkeeping actions write none."""

FINISHED_OUTCOMES = {"applied": SYNC_COMPLETED, "applied_with_failures": SYNC_COMPLETED}
"""A run's outcome -> the event its end writes (``guard_tripped`` writes :data:`GUARD_TRIPPED`)."""


def check_types(types: Iterable[str]) -> tuple[str, ...]:
    """``types`` as given, each a known event type; ValueError naming the known ones otherwise."""
    chosen = tuple(types)
    unknown = sorted(set(chosen) - set(EVENT_TYPES))
    if unknown:
        raise ValueError(f"unknown event type(s) {', '.join(unknown)}; known: {', '.join(EVENT_TYPES)}")
    return chosen


def expected_counts(plan_counts: dict[str, int]) -> dict[str, int]:
    """The events of each type a plan's applied changes write (plan counts by action in)."""
    counts: dict[str, int] = {}
    for action, event_type in EVENT_OF_ACTION.items():
        if plan_counts.get(action.value):
            counts[event_type] = counts.get(event_type, 0) + plan_counts[action.value]
    return counts
