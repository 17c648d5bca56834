"""Accounts and groups made in the product itself, not by a sync.

Invited or self-signed-up accounts (``accounts import``), local groups and
``local`` memberships: what exists before provisioning, which a sync links to
but never deletes.  A mixin of :class:`connector.store.Store`, which supplies
``transaction()``.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection
from sqlalchemy import insert
from sqlalchemy import select

from connector.emails import InvalidEmailError
from connector.emails import parse_email
from connector.errors import StoreError
from connector.model import LOCAL_SOURCE
from connector.model import Account
from connector.model import AccountOrigin
from connector.model import AccountStatus
from connector.model import Group
from connector.store import tables as t
from connector.store.runs import utcnow
from connector.store.tenancy import in_org
from connector.store.tenancy import org_of


def _new_account(
    email: str,
    display_name: str | None,
    origin: AccountOrigin,
    status: AccountStatus = AccountStatus.ACTIVE,
    account_id: str | None = None,
) -> Account:
    try:
        address = parse_email(email).address
    except InvalidEmailError as exc:
        raise StoreError(f"{email!r} is not a valid email: {exc}") from exc
    return Account(
        account_id=account_id or uuid.uuid4().hex,
        email=address,
        display_name=display_name,
        status=AccountStatus(status),
        origin=AccountOrigin(origin),
    )


class LocalObjects:
    """Adding accounts, local groups and local memberships made outside sync."""

    def transaction(self, *, write: bool = True) -> contextlib.AbstractContextManager[Connection]:
        raise NotImplementedError

    def add_account(
        self,
        email: str,
        display_name: str | None = None,
        *,
        origin: AccountOrigin = AccountOrigin.INVITED,
        groups: Iterable[str] = (),
        account_id: str | None = None,
        status: AccountStatus = AccountStatus.ACTIVE,
    ) -> Account:
        """Add an account made outside sync (invited, self sign-up, imported).

        ``groups`` are group names: the account joins each as a ``local``
        member; a name no group has yet becomes a new local group.
        """
        account = _new_account(email, display_name, origin, status, account_id)
        with self.transaction() as conn:
            self._insert_account(conn, account, groups, utcnow())
        return account

    def add_accounts(
        self, rows: Iterable[tuple[str, str | None, Iterable[str]]], *, origin: AccountOrigin
    ) -> list[Account]:
        """Add ``(email, display_name, groups)`` rows in one transaction: all of them, or none.

        Each row is added as :meth:`add_account` adds one.
        """
        pending = [(_new_account(e, name, origin), groups) for e, name, groups in rows]
        now = utcnow()
        with self.transaction() as conn:
            for account, groups in pending:
                self._insert_account(conn, account, groups, now)
        return [account for account, _ in pending]

    def _insert_account(
        self, conn: Connection, account: Account, groups: Iterable[str], now: datetime
    ) -> None:
        if conn.execute(
            select(t.accounts.c.account_id).where(
                in_org(conn, t.accounts), t.accounts.c.account_id == account.account_id
            )
        ).first():
            raise StoreError(f"an account with id {account.account_id!r} already exists")
        conn.execute(
            insert(t.accounts).values(
                org_id=org_of(conn),
                account_id=account.account_id,
                email=account.email,
                display_name=account.display_name,
                status=account.status.value,
                origin=account.origin.value,
                created_at=now,
                updated_at=now,
            )
        )
        for name in dict.fromkeys(groups):
            group_id = self._local_group_id(conn, name, now)
            conn.execute(
                insert(t.memberships).values(
                    org_id=org_of(conn),
                    group_id=group_id,
                    account_id=account.account_id,
                    source=LOCAL_SOURCE,
                    added_at=now,
                )
            )

    def add_group(self, name: str, *, description: str | None = None, group_id: str | None = None) -> Group:
        """Add a local group (made in the product, managed by no directory)."""
        if not name or not name.strip():
            raise StoreError("a group needs a non-empty name")
        group = Group(group_id=group_id or uuid.uuid4().hex, name=name, description=description)
        with self.transaction() as conn:
            conn.execute(
                insert(t.groups).values(
                    org_id=org_of(conn),
                    group_id=group.group_id,
                    name=name,
                    description=description,
                    adopted=False,
                    created_at=utcnow(),
                )
            )
        return group

    def add_membership(self, group_id: str, account_id: str, source: str = LOCAL_SOURCE) -> None:
        """Put an account in a group through ``source`` (``local`` unless said otherwise)."""
        with self.transaction() as conn:
            if not conn.execute(
                select(t.groups.c.group_id).where(in_org(conn, t.groups), t.groups.c.group_id == group_id)
            ).first():
                raise StoreError(f"no group with id {group_id!r}")
            if not conn.execute(
                select(t.accounts.c.account_id).where(
                    in_org(conn, t.accounts), t.accounts.c.account_id == account_id
                )
            ).first():
                raise StoreError(f"no account with id {account_id!r}")
            key = (t.memberships.c.group_id == group_id, t.memberships.c.account_id == account_id)
            if not conn.execute(
                select(t.memberships.c.source).where(
                    in_org(conn, t.memberships), *key, t.memberships.c.source == source
                )
            ).first():
                conn.execute(
                    insert(t.memberships).values(
                        org_id=org_of(conn),
                        group_id=group_id,
                        account_id=account_id,
                        source=source,
                        added_at=utcnow(),
                    )
                )

    def _local_group_id(self, conn: Connection, name: str, now: datetime) -> str:
        g = t.groups.c
        rows = conn.execute(
            select(g.group_id, g.directory_id)
            .where(in_org(conn, t.groups), g.name == name)
            .order_by(g.group_id)
        ).all()
        local = [r.group_id for r in rows if r.directory_id is None]
        if local or rows:
            return (local or [rows[0].group_id])[0]
        group_id = uuid.uuid4().hex
        conn.execute(
            insert(t.groups).values(
                org_id=org_of(conn), group_id=group_id, name=name, adopted=False, created_at=now
            )
        )
        return group_id
