"""The events of an apply: each applied change's event, written with the change's transaction.

:class:`ChangeEvents` lives for one apply.  Before a transaction's handlers run,
:meth:`~ChangeEvents.begin` reads the products of the accounts the batch may give or take
access from (only when the organization grants any product); after them,
:meth:`~ChangeEvents.write` writes one event per applied change of an action in
:data:`~connector.rules.events.EVENT_OF_ACTION`, in apply order, then ``access.granted`` /
``access.revoked`` for each product an account gained or lost in the transaction.

Each event's ``data`` is what a consumer acts on without calling back: the account (id, email,
names, status, origin, ``external``), the group (id, name, description, directory and IdP id),
the identity (directory and IdP user id) and, for updates, what changed from what.  Accounts a
run created are remembered for the rest of the apply, so a first sync's membership events read
no account back.
"""

from __future__ import annotations

from collections.abc import Collection
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from connector.model import Account
from connector.model import AccountOrigin
from connector.model import AccountStatus
from connector.rules import events as ev
from connector.rules.plan import Action
from connector.rules.plan import Change
from connector.store import tables as t
from connector.store.bulk import rows_by_ids
from connector.store.event_data import account_data
from connector.store.event_data import accounts_data
from connector.store.event_data import group_data
from connector.store.handlers.registry import ApplyContext
from connector.store.outbox import EventDraft
from connector.store.outbox import write_events
from connector.store.tenancy import in_org

_ACCOUNT_ACTIONS = frozenset(
    {Action.CREATE_ACCOUNT, Action.LINK, Action.UPDATE_ACCOUNT, Action.ACTIVATE, Action.DEACTIVATE}
)
_MEMBERSHIP_ACTIONS = frozenset({Action.ADD_MEMBERSHIP, Action.REMOVE_MEMBERSHIP})
_STATUS_ACTIONS = frozenset({Action.ACTIVATE, Action.DEACTIVATE})
_RELOADED = frozenset({Action.LINK, Action.UPDATE_ACCOUNT, Action.ACTIVATE, Action.DEACTIVATE})
"""Account changes after which the account is read back (its stored state is the event's)."""


def granted_groups(ctx: ApplyContext) -> dict[str, set[str]]:
    """The products each group grants, by group id (grants name groups: every group of a name)."""
    g, p = t.groups.c, t.product_grants.c
    query = (
        select(g.group_id, p.product)
        .join_from(t.product_grants, t.groups, (g.org_id == p.org_id) & (g.name == p.group_name))
        .where(in_org(ctx.conn, t.product_grants))
    )
    granted: dict[str, set[str]] = {}
    for group_id, product in ctx.conn.execute(query):
        granted.setdefault(group_id, set()).add(product)
    return granted


def products_of(ctx: ApplyContext, account_ids: Collection[str]) -> dict[str, set[str]]:
    """Each active account's products (docs/contract.md, "Product access"), of these accounts.

    Their memberships are read by account (an index) and matched here with the granted groups: a
    join from the grants walked every member of the granted groups for each slice of accounts."""
    granted = granted_groups(ctx)
    if not granted:
        return {}
    m, a = t.memberships.c, t.accounts.c
    conn = ctx.conn

    def query(cond: Any) -> Any:
        return (
            select(m.account_id, m.group_id)
            .join_from(t.memberships, t.accounts, (a.org_id == m.org_id) & (a.account_id == m.account_id))
            .where(in_org(conn, t.memberships), a.status == AccountStatus.ACTIVE.value, cond)
        )

    found: dict[str, set[str]] = {}
    for account_id, group_id in rows_by_ids(conn, m.account_id, account_ids, query):
        products = granted.get(group_id)
        if products:
            found.setdefault(account_id, set()).update(products)
    return found


class ChangeEvents:
    """The events of one apply (one run's, or a saved plan's)."""

    def __init__(self, run_id: int | None) -> None:
        self.run_id = run_id
        self._accounts: dict[str, dict[str, Any]] = {}
        self._grants: frozenset[str] | None = None
        self._access_before: dict[str, set[str]] = {}
        self._watched: set[str] = set()

    def begin(self, ctx: ApplyContext, batch: Sequence[Change]) -> None:
        """Before the transaction's writes: the products of the accounts it may change access of.

        Only these can gain or lose a product: an account joining or leaving a group that grants
        one (or is made, or renamed, to), one activated or deactivated, and the members of a group
        renamed from or to a granted name."""
        self._watched, self._access_before = set(), {}
        names = self._granted_names(ctx)
        if not names:
            return
        granting = set(granted_groups(ctx))
        granting.update(
            c.group_id  # type: ignore[attr-defined]
            for c in batch
            if (c.action is Action.CREATE_GROUP and c.name in names)  # type: ignore[attr-defined]
            or (c.action is Action.UPDATE_GROUP and c.name in names)  # type: ignore[attr-defined]
        )
        watched = {
            c.account_id  # type: ignore[attr-defined]
            for c in batch
            if c.action in _STATUS_ACTIONS or (c.action in _MEMBERSHIP_ACTIONS and c.group_id in granting)  # type: ignore[attr-defined]
        }
        renamed = [
            c.group_id  # type: ignore[attr-defined]
            for c in batch
            if c.action is Action.UPDATE_GROUP and c.name != c.old_name and {c.name, c.old_name} & names  # type: ignore[attr-defined]
        ]
        if renamed:
            m = t.memberships.c
            watched.update(
                r[0]
                for r in rows_by_ids(
                    ctx.conn,
                    m.group_id,
                    renamed,
                    lambda cond: select(m.account_id).where(in_org(ctx.conn, t.memberships), cond),
                )
            )
        self._watched = watched
        self._access_before = products_of(ctx, watched) if watched else {}

    def write(self, ctx: ApplyContext, applied: Sequence[Change]) -> None:
        """After the transaction's writes: the events of the ``applied`` changes, then access."""
        if not self._watched and not any(c.action in ev.EVENT_OF_ACTION for c in applied):
            return
        domains = ctx.verified_domains()
        self._remember_created(applied, domains)
        accounts = self._account_payloads(ctx, applied, domains)
        groups = self._group_payloads(ctx, applied)
        drafts = [
            self._draft(ctx, change, accounts, groups)
            for change in applied
            if change.action in ev.EVENT_OF_ACTION
        ]
        drafts += self._access_drafts(ctx, accounts, domains)
        write_events(ctx.conn, drafts, now=ctx.now)

    # ------------------------------------------------------------------ payloads

    def _granted_names(self, ctx: ApplyContext) -> frozenset[str]:
        """The group names the organization grants products to (read once per apply)."""
        if self._grants is None:
            query = select(t.product_grants.c.group_name).where(in_org(ctx.conn, t.product_grants))
            self._grants = frozenset(ctx.conn.execute(query).scalars())
        return self._grants

    def _remember_created(self, applied: Sequence[Change], domains: frozenset[str]) -> None:
        for c in applied:
            if c.action is Action.CREATE_ACCOUNT:
                account = Account(
                    c.account_id, c.email, c.display_name, AccountStatus.ACTIVE, AccountOrigin.SYNC,  # type: ignore[attr-defined]
                    c.given_name, c.family_name,  # type: ignore[attr-defined]
                )  # fmt: skip
                self._accounts[account.account_id] = account_data(account, domains)

    def _account_payloads(
        self, ctx: ApplyContext, applied: Sequence[Change], domains: frozenset[str]
    ) -> dict[str, dict[str, Any]]:
        wanted = {c.account_id for c in applied if hasattr(c, "account_id")} | self._watched  # type: ignore[attr-defined]
        reload = {c.account_id for c in applied if c.action in _RELOADED}  # type: ignore[attr-defined]
        missing = (wanted - self._accounts.keys()) | reload
        if missing:
            self._accounts.update(accounts_data(ctx.conn, missing, domains))
        return self._accounts

    def _group_payloads(self, ctx: ApplyContext, applied: Sequence[Change]) -> dict[str, dict[str, Any]]:
        ids = {c.group_id for c in applied if hasattr(c, "group_id")}  # type: ignore[attr-defined]
        if not ids:
            return {}
        g = t.groups.c
        columns = (g.group_id, g.name, g.description, g.directory_id, g.idp_group_id)
        rows = rows_by_ids(
            ctx.conn, g.group_id, ids, lambda cond: select(*columns).where(in_org(ctx.conn, t.groups), cond)
        )
        return {row.group_id: group_data(row) for row in rows}

    def _draft(
        self,
        ctx: ApplyContext,
        change: Change,
        accounts: dict[str, dict[str, Any]],
        groups: dict[str, dict[str, Any]],
    ) -> EventDraft:
        data: dict[str, Any] = {"reason": change.reason}
        account_id = getattr(change, "account_id", None)
        group_id = getattr(change, "group_id", None)
        if account_id is not None:
            data["account"] = accounts.get(account_id, {"id": account_id})
        if group_id is not None:
            data["group"] = groups.get(group_id, {"id": group_id})
        if change.action in _ACCOUNT_ACTIONS and getattr(change, "idp_user_id", None):
            data["identity"] = {"directory_id": change.directory_id, "idp_user_id": change.idp_user_id}  # type: ignore[attr-defined]
        if change.action is Action.UPDATE_ACCOUNT:
            new, old = dict(change.fields), dict(change.old)  # type: ignore[attr-defined]
            data["changes"] = {name: {"old": old.get(name), "new": value} for name, value in new.items()}
        elif change.action is Action.UPDATE_GROUP:
            data["old_name"] = change.old_name  # type: ignore[attr-defined]
        elif change.action is Action.ADOPT_GROUP:
            data["adopted"] = True
        elif change.action in _MEMBERSHIP_ACTIONS:
            data["source"] = change.source  # type: ignore[attr-defined]
        return EventDraft(ev.EVENT_OF_ACTION[change.action], data, ctx.directory_id, self.run_id)

    def _access_drafts(
        self, ctx: ApplyContext, accounts: dict[str, dict[str, Any]], domains: frozenset[str]
    ) -> list[EventDraft]:
        if not self._watched:
            return []
        after = products_of(ctx, self._watched)
        drafts = []
        for account_id in sorted(self._watched):
            before, now = self._access_before.get(account_id, set()), after.get(account_id, set())
            account = accounts.get(account_id, {"id": account_id})
            for product in sorted(now - before):
                data = {"product": product, "account": account}
                drafts.append(EventDraft(ev.ACCESS_GRANTED, data, ctx.directory_id, self.run_id))
            for product in sorted(before - now):
                data = {"product": product, "account": account}
                drafts.append(EventDraft(ev.ACCESS_REVOKED, data, ctx.directory_id, self.run_id))
        return drafts
