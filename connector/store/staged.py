"""Deactivations the receiving guard holds for a push directory (``staged_changes``).

A push directory's IdP is answered with success when it deactivates or deletes users, but more
deactivations within the guard's window than the guard allows are *staged* here instead of
applied (:mod:`connector.push.staging`): the account keeps its access until an admin approves
(the row goes and the account is deactivated) or rejects (the row stays ``rejected`` and the
account active, until the IdP reports the user active again).

A mixin of :class:`connector.store.Store`, which supplies ``transaction()``.
"""

from __future__ import annotations

from collections.abc import Collection
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from datetime import timezone

from sqlalchemy import Connection
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import update

from connector.store import tables as t
from connector.store.bulk import rows_by_ids
from connector.store.tenancy import in_directory
from connector.store.tenancy import in_org

STAGED = "staged"
REJECTED = "rejected"


@dataclass(frozen=True)
class StagedDeactivation:
    """One held deactivation: whose, why, since when, and what was decided (``rejected``)."""

    directory_id: str
    idp_user_id: str
    account_id: str
    state: str
    reason: str
    staged_at: datetime
    decided_at: datetime | None = None


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=timezone.utc) if value is not None and value.tzinfo is None else value


def held_identities(conn: Connection, directory_id: str, ids: Collection[str]) -> dict[str, str]:
    """The state (``staged`` or ``rejected``) of each of ``ids`` that is held."""
    s = t.staged_changes.c
    mine = in_directory(conn, t.staged_changes, directory_id)
    rows = rows_by_ids(
        conn, s.idp_user_id, ids, lambda cond: select(s.idp_user_id, s.state).where(mine, cond)
    )
    return {r[0]: r[1] for r in rows}


def staged_since(conn: Connection, directory_id: str, since: datetime) -> int:
    """How many deactivations were staged in the directory at or after ``since`` (held still)."""
    s = t.staged_changes.c
    query = select(func.count()).where(
        in_directory(conn, t.staged_changes, directory_id), s.state == STAGED, s.staged_at >= since
    )
    return int(conn.execute(query).scalar_one())


def deactivations_applied_since(conn: Connection, directory_id: str, since: datetime) -> int:
    """The deactivations the directory's runs applied at or after ``since`` (their counts)."""
    r = t.sync_runs.c
    query = select(r.counts).where(
        in_org(conn, t.sync_runs),
        r.directory_id == directory_id,
        r.started_at >= since,
        r.dry_run.is_(False),
        r.outcome.in_(("applied", "applied_with_failures")),
    )
    return sum(int((counts or {}).get("deactivate", 0)) for (counts,) in conn.execute(query))


def stage(conn: Connection, directory_id: str, held: Iterable[tuple[str, str, str]], now: datetime) -> None:
    """Hold these (identity, account, reason) deactivations; one already held stays as it is."""
    rows = {idp_user_id: (account_id, reason) for idp_user_id, account_id, reason in held}
    if not rows:
        return
    there = held_identities(conn, directory_id, list(rows))
    new = [
        {
            "directory_id": directory_id,
            "idp_user_id": idp_user_id,
            "account_id": account_id,
            "state": STAGED,
            "reason": reason,
            "staged_at": now,
        }
        for idp_user_id, (account_id, reason) in rows.items()
        if idp_user_id not in there
    ]
    if new:
        conn.execute(insert(t.staged_changes), new)


def release(conn: Connection, directory_id: str, ids: Collection[str]) -> int:
    """Forget the held rows of ``ids`` (approved and applied, or the IdP says active again)."""
    s = t.staged_changes.c
    mine = in_directory(conn, t.staged_changes, directory_id)
    gone = 0
    values = sorted(ids)
    for start in range(0, len(values), 1000):
        result = conn.execute(
            delete(t.staged_changes).where(mine, s.idp_user_id.in_(values[start : start + 1000]))
        )
        gone += result.rowcount or 0
    return gone


class StagedChanges:
    """Listing and deciding held deactivations (a mixin of :class:`~connector.store.Store`)."""

    def transaction(self, *, write: bool = True) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def staged(
        self, directory_id: str | None = None, *, state: str | None = None
    ) -> list[StagedDeactivation]:
        """The organization's held deactivations (of one directory, in one state), oldest first."""
        s = t.staged_changes.c
        with self.transaction(write=False) as conn:
            query = select(t.staged_changes).where(in_org(conn, t.staged_changes))
            if directory_id is not None:
                query = query.where(s.directory_id == directory_id)
            if state is not None:
                query = query.where(s.state == state)
            rows = conn.execute(query.order_by(s.staged_at, s.directory_id, s.idp_user_id)).all()
        return [
            StagedDeactivation(
                r.directory_id,
                r.idp_user_id,
                r.account_id,
                r.state,
                r.reason,
                _aware(r.staged_at) or r.staged_at,
                _aware(r.decided_at),
            )
            for r in rows
        ]

    def staged_waiting(self) -> int:
        """Deactivations held in every organization, waiting for a decision (the operator's gauge)."""
        s = t.staged_changes.c
        with self.transaction(write=False) as conn:
            query = select(func.count()).select_from(t.staged_changes).where(s.state == STAGED)
            return int(conn.execute(query).scalar_one())

    def reject_staged(self, directory_id: str, ids: Collection[str]) -> int:
        """Mark these held deactivations rejected (the accounts stay active); how many were held."""
        s = t.staged_changes.c
        now = datetime.now(timezone.utc)
        with self.transaction() as conn:
            mine = in_directory(conn, t.staged_changes, directory_id)
            result = conn.execute(
                update(t.staged_changes)
                .where(mine, s.idp_user_id.in_(sorted(ids)), s.state == STAGED)
                .values(state=REJECTED, decided_at=now)
            )
            return result.rowcount or 0

    def release_staged(self, directory_id: str, ids: Collection[str]) -> int:
        """Forget these held rows (after their deactivation was applied)."""
        with self.transaction() as conn:
            return release(conn, directory_id, ids)
