"""The handlers that create, link, update, activate and deactivate accounts.

See :mod:`connector.store.handlers.groups` for what every handler promises.  A
deactivation drops only the memberships the plan's directory gave; an
update is refused for an account outside the verified domains.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy import update

from connector.emails import try_parse_email
from connector.model import AccountOrigin
from connector.model import AccountStatus
from connector.rules.plan import Action
from connector.rules.plan import ActivateAccount
from connector.rules.plan import CreateAccount
from connector.rules.plan import DeactivateAccount
from connector.rules.plan import LinkAccount
from connector.rules.plan import UpdateAccount
from connector.store import tables as t
from connector.store.address_keys import insert_account_keys
from connector.store.address_keys import write_account_keys
from connector.store.bulk import bulk_insert
from connector.store.handlers.groups import ids_in
from connector.store.handlers.groups import links_by_account
from connector.store.handlers.groups import links_by_identity
from connector.store.handlers.groups import rows_by
from connector.store.handlers.registry import ApplyContext
from connector.store.handlers.registry import Result
from connector.store.handlers.registry import applied
from connector.store.handlers.registry import failed
from connector.store.handlers.registry import handles
from connector.store.handlers.registry import noop

PROFILE_FIELDS = frozenset({"email", "display_name", "given_name", "family_name"})
ACTIVE = AccountStatus.ACTIVE.value
DEACTIVATED = AccountStatus.DEACTIVATED.value


# ---------------------------------------------------------------------- accounts and links


def _link_row(ctx: ApplyContext, idp_user_id: str, account_id: str) -> dict[str, Any]:
    return {
        "directory_id": ctx.directory_id,
        "idp_user_id": idp_user_id,
        "account_id": account_id,
        "missing_count": 0,
        "idp_active": True,
        "linked_at": ctx.now,
    }


@handles(Action.CREATE_ACCOUNT)
def create_accounts(ctx: ApplyContext, changes: Sequence[CreateAccount]) -> list[Result]:
    existing = ids_in(ctx, t.accounts, "account_id", (c.account_id for c in changes))
    linked = links_by_identity(ctx, (c.idp_user_id for c in changes))
    accounts, links, results = [], [], []
    for c in changes:
        if error := ctx.foreign(c):
            results.append(failed(error))
        elif c.idp_user_id in linked:
            same = linked[c.idp_user_id] == c.account_id and c.account_id in existing
            results.append(
                noop()
                if same
                else failed(f"the identity is already linked to account {linked[c.idp_user_id]}")
            )
        elif c.account_id in existing:
            results.append(failed(f"account id {c.account_id} is taken"))
        elif not c.email or not c.account_id:
            results.append(failed("a new account needs an id and an email"))
        else:
            existing.add(c.account_id)
            linked[c.idp_user_id] = c.account_id
            accounts.append(
                {
                    "account_id": c.account_id,
                    "email": c.email,
                    "display_name": c.display_name,
                    "given_name": c.given_name,
                    "family_name": c.family_name,
                    "status": ACTIVE,
                    "origin": AccountOrigin.SYNC.value,
                    "created_at": ctx.now,
                    "updated_at": ctx.now,
                }
            )
            links.append(_link_row(ctx, c.idp_user_id, c.account_id))
            results.append(applied())
    bulk_insert(ctx.conn, t.accounts, accounts)
    bulk_insert(ctx.conn, t.links, links)
    insert_account_keys(ctx.conn, [(a["account_id"], a["email"]) for a in accounts])
    return results


@handles(Action.LINK)
def link_accounts(ctx: ApplyContext, changes: Sequence[LinkAccount]) -> list[Result]:
    existing = ids_in(ctx, t.accounts, "account_id", (c.account_id for c in changes))
    by_identity = links_by_identity(ctx, (c.idp_user_id for c in changes))
    by_account = links_by_account(ctx, (c.account_id for c in changes))
    rows, results = [], []
    for c in changes:
        if error := ctx.foreign(c):
            results.append(failed(error))
        elif c.account_id not in existing:
            results.append(failed(f"no account {c.account_id} to link"))
        elif c.idp_user_id in by_identity:
            same = by_identity[c.idp_user_id] == c.account_id
            results.append(
                noop()
                if same
                else failed(f"the identity is already linked to account {by_identity[c.idp_user_id]}")
            )
        elif c.account_id in by_account:
            results.append(
                failed(f"account {c.account_id} is already linked to identity {by_account[c.account_id]}")
            )
        else:
            by_identity[c.idp_user_id] = c.account_id
            by_account[c.account_id] = c.idp_user_id
            rows.append(_link_row(ctx, c.idp_user_id, c.account_id))
            results.append(applied())
    bulk_insert(ctx.conn, t.links, rows)
    return results


def _internal(ctx: ApplyContext, email: str | None) -> bool:
    parsed = try_parse_email(email)
    return parsed is not None and parsed.domain in ctx.verified_domains()


@handles(Action.UPDATE_ACCOUNT)
def update_accounts(ctx: ApplyContext, changes: Sequence[UpdateAccount]) -> list[Result]:
    existing = rows_by(ctx, t.accounts, "account_id", (c.account_id for c in changes))
    results = []
    new_addresses: dict[str, str] = {}  # account -> its new email, whose address keys follow it
    for c in changes:
        have = existing.get(c.account_id)
        unknown = set(c.fields) - PROFILE_FIELDS
        if have is None:
            results.append(failed(f"no account {c.account_id}"))
        elif unknown:
            results.append(
                failed(
                    f"sync changes only {', '.join(sorted(PROFILE_FIELDS))}, not {', '.join(sorted(unknown))}"
                )
            )
        elif not _internal(ctx, have.email):
            results.append(
                failed("the account is outside the verified domains: sync never changes its profile")
            )
        elif "email" in c.fields and not c.fields["email"]:
            results.append(failed("an account's email cannot be emptied"))
        elif all(have._mapping[k] == v for k, v in c.fields.items()):
            results.append(noop())
        else:
            values = dict(c.fields)
            ctx.conn.execute(
                update(t.accounts)
                .where(ctx.mine(t.accounts), t.accounts.c.account_id == c.account_id)
                .values(**values, updated_at=ctx.now)
            )
            if values.get("email") and values["email"] != have.email:
                new_addresses[c.account_id] = str(values["email"])
            results.append(applied())
    write_account_keys(ctx.conn, list(new_addresses.items()))  # a run leaves the keys fresh
    return results


def _check_link(
    ctx: ApplyContext, linked: dict[str, str], c: ActivateAccount | DeactivateAccount
) -> str | None:
    if error := ctx.foreign(c):
        return error
    if linked.get(c.idp_user_id) != c.account_id:
        return f"identity {c.idp_user_id} is not linked to account {c.account_id}"
    return None


def _set_status(ctx: ApplyContext, account_ids: list[str], status: str) -> None:
    if account_ids:
        ctx.conn.execute(
            update(t.accounts)
            .where(ctx.mine(t.accounts), ctx.one_of(t.accounts.c.account_id, account_ids))
            .values(status=status, updated_at=ctx.now)
        )


@handles(Action.ACTIVATE)
def activate_accounts(ctx: ApplyContext, changes: Sequence[ActivateAccount]) -> list[Result]:
    existing = rows_by(ctx, t.accounts, "account_id", (c.account_id for c in changes), ("status",))
    linked = links_by_identity(ctx, (c.idp_user_id for c in changes))
    todo, results = [], []
    for c in changes:
        have = existing.get(c.account_id)
        if have is None:
            results.append(failed(f"no account {c.account_id}"))
        elif error := _check_link(ctx, linked, c):
            results.append(failed(error))
        elif have.status == ACTIVE or c.account_id in todo:
            results.append(noop())
        else:
            todo.append(c.account_id)
            results.append(applied())
    _set_status(ctx, todo, ACTIVE)
    return results


@handles(Action.DEACTIVATE)
def deactivate_accounts(ctx: ApplyContext, changes: Sequence[DeactivateAccount]) -> list[Result]:
    """Deactivate, and drop only the memberships this directory gave.

    docs/contract.md, "Inactive and absent identities"."""
    existing = rows_by(ctx, t.accounts, "account_id", (c.account_id for c in changes), ("status",))
    linked = links_by_identity(ctx, (c.idp_user_id for c in changes))
    m = t.memberships.c
    ids = [c.account_id for c in changes]
    given = set(
        ctx.conn.execute(
            select(m.account_id).where(
                ctx.mine(t.memberships), m.source == ctx.directory_id, ctx.one_of(m.account_id, ids)
            )
        ).scalars()
    )
    todo, results = [], []
    for c in changes:
        have = existing.get(c.account_id)
        if have is None:
            results.append(failed(f"no account {c.account_id}"))
        elif error := _check_link(ctx, linked, c):
            results.append(failed(error))
        elif (have.status == DEACTIVATED and c.account_id not in given) or c.account_id in todo:
            results.append(noop())
        else:
            todo.append(c.account_id)
            results.append(applied())
    if todo:
        _set_status(ctx, todo, DEACTIVATED)
        ctx.conn.execute(
            delete(t.memberships).where(
                ctx.mine(t.memberships), m.source == ctx.directory_id, ctx.one_of(m.account_id, todo)
            )
        )
    return results
