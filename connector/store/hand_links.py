"""Links made and unmade by an administrator (``accounts link`` / ``accounts unlink``).

docs/contract.md, "3. Link": an administrator resolves a conflict by linking or unlinking by
hand, and a sync never undoes it: a sync never deletes a link, and an identity unlinked from an
account by hand is never linked to that account again by email (``hand_unlinks``).  Each is
audited, and closes the identity's open conflict.

A mixin of :class:`connector.store.Store`, which supplies ``transaction()``.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from datetime import timezone
from typing import Any

from sqlalchemy import Connection
from sqlalchemy import delete
from sqlalchemy import insert
from sqlalchemy import select

from connector.errors import ConfigError
from connector.model import Link
from connector.rules.events import ACCOUNT_LINKED
from connector.rules.events import CONFLICT_RESOLVED
from connector.store import tables as t
from connector.store.event_data import accounts_data
from connector.store.outbox import EventDraft
from connector.store.outbox import conflict_event
from connector.store.outbox import write_events
from connector.store.runs import write_audit
from connector.store.tenancy import in_directory
from connector.store.tenancy import in_org
from connector.store.tenancy import org_of


class HandLinks:
    """Linking and unlinking by hand."""

    def transaction(self, *, write: bool = True) -> contextlib.AbstractContextManager[Connection]:
        raise NotImplementedError

    def link_by_hand(self, directory_id: str, idp_user_id: str, account_id: str) -> Link:
        """Link the directory's identity to the account; refused (naming why) when the identity is
        linked already or the account has another identity of this directory."""
        k = t.links.c
        now = datetime.now(timezone.utc)
        with self.transaction() as conn:
            if not _exists(conn, t.directories.c.directory_id, directory_id):
                raise ConfigError(f"directory {directory_id!r} has never been synced into this store")
            if not _exists(conn, t.accounts.c.account_id, account_id):
                raise ConfigError(f"no account {account_id!r}; see `idp-connector accounts export`")
            held = _linked_account(conn, directory_id, idp_user_id)
            if held is not None:
                raise ConfigError(
                    f"identity {idp_user_id!r} of {directory_id!r} is linked to account {held!r}; "
                    "unlink it first"
                )
            other = conn.execute(
                select(k.idp_user_id).where(
                    in_directory(conn, t.links, directory_id), k.account_id == account_id
                )
            ).scalar()
            if other is not None:
                raise ConfigError(
                    f"account {account_id!r} is linked to identity {other!r} of {directory_id!r}; "
                    "one account has at most one identity per directory: unlink that one first"
                )
            conn.execute(
                insert(t.links).values(
                    org_id=org_of(conn), directory_id=directory_id, idp_user_id=idp_user_id,
                    account_id=account_id, missing_count=0, idp_active=True, linked_at=now,
                )
            )  # fmt: skip
            h = t.hand_unlinks.c
            conn.execute(
                delete(t.hand_unlinks).where(
                    in_directory(conn, t.hand_unlinks, directory_id),
                    h.idp_user_id == idp_user_id,
                    h.account_id == account_id,
                )
            )
            self._settled(conn, directory_id, idp_user_id, account_id, "link_by_hand", now)
        return Link(directory_id, idp_user_id, account_id)

    def unlink_by_hand(self, directory_id: str, idp_user_id: str) -> Link:
        """Remove the identity's link; no sync links the two again by email."""
        k = t.links.c
        now = datetime.now(timezone.utc)
        with self.transaction() as conn:
            account_id = _linked_account(conn, directory_id, idp_user_id)
            if account_id is None:
                raise ConfigError(f"identity {idp_user_id!r} of {directory_id!r} is linked to no account")
            conn.execute(
                delete(t.links).where(in_directory(conn, t.links, directory_id), k.idp_user_id == idp_user_id)
            )
            conn.execute(
                insert(t.hand_unlinks).values(
                    org_id=org_of(conn),
                    directory_id=directory_id,
                    idp_user_id=idp_user_id,
                    account_id=account_id,
                    at=now,
                )
            )
            self._settled(conn, directory_id, idp_user_id, account_id, "unlink_by_hand", now)
        return Link(directory_id, idp_user_id, account_id)

    @staticmethod
    def _settled(
        conn: Connection, directory_id: str, idp_user_id: str, account_id: str, action: str, now: datetime
    ) -> None:
        """Audit the hand-made change, close the identity's open conflict, and write their events
        (``account.linked`` for a link, ``conflict.resolved`` for a conflict it closed)."""
        c = t.conflicts.c
        mine = (in_directory(conn, t.conflicts, directory_id), c.idp_user_id == idp_user_id)
        closed = conn.execute(
            select(c.idp_user_id, c.kind, c.email, c.reason, c.account_ids).where(*mine)
        ).first()
        conn.execute(delete(t.conflicts).where(*mine))
        events = []
        if action == "link_by_hand":
            account = accounts_data(conn, [account_id]).get(account_id, {"id": account_id})
            identity = {"directory_id": directory_id, "idp_user_id": idp_user_id}
            data = {"reason": "linked by hand", "account": account, "identity": identity}
            events.append(EventDraft(ACCOUNT_LINKED, data, directory_id))
        if closed is not None:
            events.append(conflict_event(CONFLICT_RESOLVED, directory_id, closed, resolution=action))
        write_events(conn, events, now=now)
        write_audit(
            conn,
            [
                {
                    "run_id": None,
                    "at": now,
                    "action": action,
                    "directory_id": directory_id,
                    "target": f"identity {idp_user_id} / account {account_id}"[:512],
                    "reason": "by hand (accounts link / unlink)",
                    "outcome": "applied",
                    "error": None,
                    "change": {
                        "directory_id": directory_id,
                        "idp_user_id": idp_user_id,
                        "account_id": account_id,
                    },
                }
            ],
        )


def _exists(conn: Connection, column: Any, value: str) -> bool:
    """Whether the connection's organization has a row whose ``column`` is ``value``."""
    return conn.execute(select(column).where(in_org(conn, column.table), column == value)).first() is not None


def _linked_account(conn: Connection, directory_id: str, idp_user_id: str) -> str | None:
    k = t.links.c
    return conn.execute(
        select(k.account_id).where(in_directory(conn, t.links, directory_id), k.idp_user_id == idp_user_id)
    ).scalar()
