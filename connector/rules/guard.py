"""The guard: stop a plan that looks like a fault of the source, not a change of the world.

docs/contract.md, "Guard".  A plan is stopped when it would

* follow a read that came back empty, or shrank by more than
  ``max_shrink_ratio`` since the last good run (``read_empty``,
  ``read_shrank``);
* deactivate at least ``min_deactivations`` accounts and more than
  ``max_deactivation_ratio`` of the directory's linked accounts, or more than
  ``max_deactivations`` (``mass_deactivation``);
* take more than ``group_max_removal_ratio`` of the members out of any group of
  at least ``group_min_size`` (``group_emptied``).

Never on a directory's first sync (nothing is linked yet).  ``force`` lets a
tripped plan through; the outcome still names the rule and its numbers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from collections.abc import Collection
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from connector.errors import GuardTrippedError
from connector.model import DirectoryView
from connector.model import GroupMembership
from connector.model import StoreSnapshot
from connector.rules.plan import Action
from connector.rules.plan import DeactivateAccount
from connector.rules.plan import Plan
from connector.rules.plan import RemoveMembership
from connector.rules.settings import GuardSettings

READ_EMPTY = "read_empty"
READ_SHRANK = "read_shrank"
MASS_DEACTIVATION = "mass_deactivation"
GROUP_EMPTIED = "group_emptied"


@dataclass(frozen=True)
class GuardOutcome:
    """What the guard decided.

    ``tripped`` is True when the plan must not be applied.  ``rule`` names the
    rule that fired (also when ``forced`` let the plan through), ``numbers``
    the figures it compared and ``message`` says all of it in words,
    including how to let the plan through.
    """

    tripped: bool
    rule: str | None = None
    message: str = "guard passed"
    numbers: Mapping[str, Any] = field(default_factory=dict)
    forced: bool = False

    def raise_if_tripped(self) -> None:
        """Raise :class:`GuardTrippedError` when the plan must not be applied."""
        if self.tripped:
            raise GuardTrippedError(self.message, rule=self.rule)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tripped": self.tripped,
            "rule": self.rule,
            "message": self.message,
            "numbers": dict(self.numbers),
            "forced": self.forced,
        }


@dataclass(frozen=True)
class GuardFacts:
    """What the guard weighs a plan against, besides the plan itself.

    ``linked``: the directory's links; ``users_read``: users in the read (or in
    the mirror after an incremental run's changes); ``memberships``: at least
    every membership of each account the plan removes memberships of or
    deactivates, as the directory's snapshot holds them; ``group_sizes``:
    distinct accounts per group, for the groups asked; ``group_names``: product
    group names.  :meth:`of_snapshot` takes them all from a whole snapshot.
    """

    linked: int
    users_read: int
    last_good_user_count: int | None
    memberships: Iterable[GroupMembership]
    group_sizes: Callable[[Collection[str]], Mapping[str, int]]
    group_names: Mapping[str, str]

    @classmethod
    def of_snapshot(cls, snapshot: StoreSnapshot, view: DirectoryView) -> GuardFacts:
        directory_id = view.directory_id

        def group_sizes(group_ids: Collection[str]) -> dict[str, int]:
            wanted = set(group_ids)
            pairs = {(m.group_id, m.account_id) for m in snapshot.memberships if m.group_id in wanted}
            size = Counter(group_id for group_id, _ in pairs)
            return {group_id: size[group_id] for group_id in wanted}

        return cls(
            linked=sum(1 for (dir_id, _) in snapshot.links if dir_id == directory_id),
            users_read=len(view.users),
            last_good_user_count=snapshot.directory.last_good_user_count if snapshot.directory else None,
            memberships=snapshot.memberships,
            group_sizes=group_sizes,
            group_names={g.group_id: g.name for g in snapshot.groups.values()},
        )


def check_guard(
    plan: Plan, snapshot: StoreSnapshot, view: DirectoryView, settings: GuardSettings, *, force: bool = False
) -> GuardOutcome:
    """Judge ``plan`` (made from ``view`` against ``snapshot``) by the guard's rules."""
    return judge(plan, GuardFacts.of_snapshot(snapshot, view), settings, force=force)


def judge(plan: Plan, facts: GuardFacts, settings: GuardSettings, *, force: bool = False) -> GuardOutcome:
    """Judge ``plan`` by the guard's rules, given what it is weighed against."""
    if facts.linked == 0:
        return GuardOutcome(
            False, message="guard skipped: first sync of this directory, nothing is linked yet"
        )
    found = _read_rule(facts, settings) or _deactivation_rule(plan, facts.linked, settings)
    found = found or _group_rule(plan, facts, settings)
    if found is None:
        return GuardOutcome(False)
    rule, numbers, what, fix = found
    if force:
        message = f"guard rule {rule} tripped and was overridden with --force: {what}"
        return GuardOutcome(False, rule, message, numbers, forced=True)
    how = f"run again with --force, or raise {fix}" if fix else "run again with --force"
    message = f"guard tripped ({rule}): {what}. Nothing was applied. If this is intended, {how}."
    return GuardOutcome(True, rule, message, numbers)


_Found = tuple[str, dict[str, Any], str, str]


def _read_rule(facts: GuardFacts, s: GuardSettings) -> _Found | None:
    read = facts.users_read
    last = facts.last_good_user_count
    if read == 0:
        numbers = {"users_read": 0, "last_good_user_count": last}
        what = "the read came back with no users at all; that is a fault of the source, not everybody leaving"
        return READ_EMPTY, numbers, what, ""
    if last:
        shrink = (last - read) / last
        if shrink > s.max_shrink_ratio:
            numbers = {
                "users_read": read,
                "last_good_user_count": last,
                "shrink_ratio": round(shrink, 4),
                "max_shrink_ratio": s.max_shrink_ratio,
            }
            what = (
                f"the read has {read} users, {last - read} fewer than the {last} of the last good run"
                f" ({shrink:.1%}, more than {s.max_shrink_ratio:.0%})"
            )
            return READ_SHRANK, numbers, what, "guard.max_shrink_ratio"
    return None


def _deactivation_rule(plan: Plan, linked: int, s: GuardSettings) -> _Found | None:
    count = len(plan.of(Action.DEACTIVATE))
    ratio = count / linked
    if count >= s.min_deactivations and (ratio > s.max_deactivation_ratio or count > s.max_deactivations):
        numbers = {
            "deactivations": count,
            "linked_accounts": linked,
            "ratio": round(ratio, 4),
            "min_deactivations": s.min_deactivations,
            "max_deactivation_ratio": s.max_deactivation_ratio,
            "max_deactivations": s.max_deactivations,
        }
        what = (
            f"the plan would deactivate {count} of {linked} linked accounts ({ratio:.1%}); the limit is"
            f" at least {s.min_deactivations} and more than {s.max_deactivation_ratio:.0%},"
            f" or more than {s.max_deactivations}"
        )
        fix = "guard.max_deactivation_ratio, guard.max_deactivations or guard.min_deactivations"
        return MASS_DEACTIVATION, numbers, what, fix
    return None


def _group_rule(plan: Plan, facts: GuardFacts, s: GuardSettings) -> _Found | None:
    if not plan.of(Action.REMOVE_MEMBERSHIP) and not plan.of(Action.DEACTIVATE):
        return None
    sources: dict[tuple[str, str], set[str]] = {}
    for m in facts.memberships:
        sources.setdefault((m.group_id, m.account_id), set()).add(m.source)
    removed: dict[tuple[str, str], set[str]] = {}
    deactivated = {(c.account_id, c.directory_id) for c in plan.changes if isinstance(c, DeactivateAccount)}
    for c in plan.changes:
        if isinstance(c, RemoveMembership):
            removed.setdefault((c.group_id, c.account_id), set()).add(c.source)
    if deactivated:  # a deactivation drops that directory's memberships too
        for (group_id, account_id), srcs in sources.items():
            for source in srcs:
                if (account_id, source) in deactivated:
                    removed.setdefault((group_id, account_id), set()).add(source)
    leaving = Counter(
        gid for key, gone in removed.items() if key in sources and sources[key] <= gone for gid in key[:1]
    )
    size = facts.group_sizes(list(leaving)) if leaving else {}
    worst: tuple[float, str] | None = None
    for group_id, out in leaving.items():
        total = size[group_id]
        if total >= s.group_min_size and out > s.group_max_removal_ratio * total:
            candidate = (out / total, group_id)
            worst = max(worst, candidate) if worst else candidate
    if worst is None:
        return None
    ratio, group_id = worst
    name = facts.group_names.get(group_id, group_id)
    numbers = {
        "group_id": group_id,
        "group": name,
        "members": size[group_id],
        "removed": leaving[group_id],
        "ratio": round(ratio, 4),
        "group_min_size": s.group_min_size,
        "group_max_removal_ratio": s.group_max_removal_ratio,
    }
    what = (
        f"the plan would take {leaving[group_id]} of the {size[group_id]} members out of group {name!r}"
        f" ({ratio:.1%}; the limit is {s.group_max_removal_ratio:.0%}"
        f" for groups of {s.group_min_size} or more)"
    )
    return GROUP_EMPTIED, numbers, what, "guard.group_max_removal_ratio or guard.group_min_size"
