"""The review before a sync: who the next sync would touch, as a CSV, and mixed groups.

docs/contract.md, "Review before sync": one row a user, columns in this order:
``email, unique_identifier, active, groups, action, account_id, note``.
``active`` is ``yes``/``no``; ``groups`` are the user's IdP group names
(nested groups included) joined by ``;``; ``action`` is one of create, link,
update, deactivate, skip, conflict; ``account_id`` is set for link, update and
deactivate.  External users only, unless ``include_internal`` (``--all``).
A user the sync would not touch gets no row.

Cells that a spreadsheet would run as a formula (starting with ``=``, ``+``,
``-``, ``@``, tab or carriage return) are written with a leading ``'``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TextIO

from connector.csv_files import write_csv
from connector.model import DirectoryView
from connector.model import StoreSnapshot
from connector.rules.linking import LinkKind
from connector.rules.linking import decide_links
from connector.rules.mapping import account_is_internal
from connector.rules.mapping import map_user
from connector.rules.nesting import flatten
from connector.rules.plan import Action
from connector.rules.plan import AdoptGroup
from connector.rules.plan import Plan
from connector.rules.planner import make_plan
from connector.rules.settings import SyncSettings

COLUMNS: tuple[str, ...] = ("email", "unique_identifier", "active", "groups", "action", "account_id", "note")
_EXTERNAL = "external: the profile is the person's own and is never changed"


@dataclass(frozen=True, slots=True)
class ReviewRow:
    email: str
    unique_identifier: str
    active: bool
    groups: tuple[str, ...]
    action: str
    account_id: str
    note: str
    internal: bool

    def cells(self) -> list[str]:
        """The CSV cells, in :data:`COLUMNS` order."""
        active = "yes" if self.active else "no"
        return [
            self.email,
            self.unique_identifier,
            active,
            ";".join(self.groups),
            self.action,
            self.account_id,
            self.note,
        ]


@dataclass(frozen=True, slots=True)
class MixedGroup:
    """An IdP group with both internal and external members (the note advises against it)."""

    idp_group_id: str
    name: str
    internal: int
    external: int


def review_rows(
    view: DirectoryView,
    snapshot: StoreSnapshot,
    settings: SyncSettings,
    *,
    include_internal: bool = False,
    plan: Plan | None = None,
) -> list[ReviewRow]:
    """The rows of the review CSV; ``plan`` defaults to a fresh :func:`make_plan`."""
    counter = itertools.count(1)
    if plan is None:
        plan = make_plan(view, snapshot, settings, new_id=lambda: f"new-{next(counter)}")
    domains = frozenset(settings.verified_domains)
    decisions = decide_links(view, snapshot, domains, settings.managed).decisions
    flat = flatten(view)
    group_names = {gid: view.groups[gid].name for gid in view.groups}
    group_ids_by_user = flat.groups_by_user()
    groups_by_user = {
        uid: tuple(sorted(group_names[g] for g in gids)) for uid, gids in group_ids_by_user.items()
    }
    adopted = {c.idp_group_id for c in plan.changes if isinstance(c, AdoptGroup)}
    touched: dict[str, set[Action]] = {}
    reasons: dict[str, str] = {}
    for change in plan.changes:
        account_id = getattr(change, "account_id", None)
        if account_id and change.action is not Action.MARK_MISSING:
            touched.setdefault(account_id, set()).add(change.action)
            if change.action is Action.DEACTIVATE:
                reasons[account_id] = change.reason
    rows: list[ReviewRow] = []
    for idp_user_id in sorted(view.users):
        user = view.users[idp_user_id]
        decision = decisions[idp_user_id]
        internal = map_user(user, domains).internal
        account_id = decision.account_id or ""
        notes: list[str] = []
        if decision.kind is LinkKind.LINKED:
            account = snapshot.accounts.get(account_id)
            if account is not None:
                internal = account_is_internal(account, domains)
            actions = touched.get(account_id, set())
            if Action.DEACTIVATE in actions:
                action, note = "deactivate", reasons[account_id]
            elif actions:
                action, note = "update", _update_note(actions)
            else:
                continue
            notes.append(note)
        elif decision.kind is LinkKind.LINK:
            action = "link"
            notes.append("an existing account with this email is linked; its groups and permissions stay")
        elif decision.kind is LinkKind.CREATE:
            action = "create"
            notes.append("a new account is created")
        else:
            action = decision.kind.value
            notes.append(decision.reason)
        if not internal and action in ("create", "link", "update"):
            notes.append(_EXTERNAL)
        if internal and not include_internal:
            continue
        for gid in group_ids_by_user.get(idp_user_id, ()):
            if gid in adopted:
                notes.append(f"group {group_names[gid]!r} adopts the local group of that name")
        rows.append(
            ReviewRow(
                email=user.email or "",
                unique_identifier=idp_user_id,
                active=user.active,
                groups=groups_by_user.get(idp_user_id, ()),
                action=action,
                account_id=account_id if action in ("link", "update", "deactivate") else "",
                note="; ".join(notes),
                internal=internal,
            )
        )
    rows.extend(_absent_rows(view, snapshot, domains, touched, reasons, include_internal))
    return rows


def _update_note(actions: set[Action]) -> str:
    parts = []
    if Action.ACTIVATE in actions:
        parts.append("reactivated")
    if Action.UPDATE_ACCOUNT in actions:
        parts.append("profile updated")
    if Action.ADD_MEMBERSHIP in actions or Action.REMOVE_MEMBERSHIP in actions:
        parts.append("group memberships change")
    return ", ".join(parts)


def _absent_rows(
    view: DirectoryView,
    snapshot: StoreSnapshot,
    domains: frozenset[str],
    touched: dict[str, set[Action]],
    reasons: dict[str, str],
    include_internal: bool,
) -> list[ReviewRow]:
    rows = []
    for (directory_id, idp_user_id), link in sorted(snapshot.links.items()):
        if directory_id != view.directory_id or idp_user_id in view.users:
            continue
        if Action.DEACTIVATE not in touched.get(link.account_id, set()):
            continue
        account = snapshot.accounts[link.account_id]
        internal = account_is_internal(account, domains)
        if internal and not include_internal:
            continue
        rows.append(
            ReviewRow(
                email=account.email,
                unique_identifier=idp_user_id,
                active=False,
                groups=(),
                action="deactivate",
                account_id=link.account_id,
                note=reasons[link.account_id],
                internal=internal,
            )
        )
    return rows


def write_review_csv(rows: Iterable[ReviewRow], file: TextIO) -> int:
    """Write the header and ``rows`` to ``file`` (opened with ``newline=""``); return the row count."""
    return write_csv(file, COLUMNS, (row.cells() for row in rows))


def mixed_groups(view: DirectoryView, settings: SyncSettings) -> list[MixedGroup]:
    """IdP groups whose members (nested included) are both internal and external, by name."""
    domains = frozenset(settings.verified_domains)
    internal = {uid: map_user(user, domains).internal for uid, user in view.users.items()}
    out = []
    for idp_group_id, members in flatten(view).users.items():
        inside = sum(1 for uid in members if internal[uid])
        outside = len(members) - inside
        if inside and outside:
            out.append(MixedGroup(idp_group_id, view.groups[idp_group_id].name, inside, outside))
    return sorted(out, key=lambda g: (g.name, g.idp_group_id))
