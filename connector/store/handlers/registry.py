"""The handler registry: one function per :class:`~connector.rules.plan.Action` writes its changes.

A handler is registered with ``@handles(Action.X)`` when its module loads (as
Alembic registers an implementation per operation class); importing
:mod:`connector.store.handlers` loads them all.  A handler gets a whole batch of
one action and answers per change: applied, already so (a rerun after a crash),
or failed with a reason.  :func:`run_handler` runs it in a savepoint and, when
the database refuses the batch, retries it one change at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from typing import Any
from typing import TypeVar

from sqlalchemy import ColumnElement
from sqlalchemy import Connection
from sqlalchemy import Table
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from connector.rules.plan import Action
from connector.rules.plan import Change
from connector.store import tables as t
from connector.store.bulk import one_of
from connector.store.tenancy import in_directory
from connector.store.tenancy import in_org

APPLIED = "applied"
NOOP = "noop"  # already so: applying it again changes nothing
FAILED = "failed"

Result = tuple[str, str | None]  # (APPLIED | NOOP | FAILED, error)
Handler = Callable[["ApplyContext", Sequence[Any]], list[Result]]
H = TypeVar("H", bound=Handler)

_HANDLERS: dict[Action, Handler] = {}


def handles(action: Action) -> Callable[[H], H]:
    """Register the decorated function as the handler of ``action``."""

    def register(func: H) -> H:
        if action in _HANDLERS and _HANDLERS[action] is not func:
            raise ValueError(f"{action.value!r} already has a handler: {_HANDLERS[action].__qualname__}")
        _HANDLERS[action] = func
        return func

    return register


def registered() -> dict[Action, Handler]:
    """A copy of the registry: action -> handler."""
    return dict(_HANDLERS)


def applied(*_: object) -> Result:
    return (APPLIED, None)


def noop(*_: object) -> Result:
    return (NOOP, None)


def failed(error: str) -> Result:
    return (FAILED, error)


@dataclass
class ApplyContext:
    """What a handler may use: the open transaction, the plan's directory, the time."""

    conn: Connection
    directory_id: str
    now: datetime
    _domains: frozenset[str] | None = None
    memo: dict[str, Any] = field(default_factory=dict)
    """What handlers remember for the rest of this transaction (one ApplyContext per transaction)."""
    one_by_one: bool = False
    """True while a refused batch is retried one change at a time, each checked in full."""
    created_accounts: set[str] = field(default_factory=set)
    """Accounts this apply has created so far, in this transaction or an earlier one of the run.

    Nothing else can have given them memberships of this directory, so the membership handler
    need not look them up (a first sync's look-ups were a fifth of its apply)."""

    def verified_domains(self) -> frozenset[str]:
        if self._domains is None:
            query = select(t.verified_domains.c.domain).where(self.mine(t.verified_domains))
            self._domains = frozenset(r[0] for r in self.conn.execute(query))
        return self._domains

    def mine(self, table: Table) -> ColumnElement[bool]:
        """The rows of ``table`` that belong to the organization this apply works for."""
        return in_org(self.conn, table)

    def ours(self, table: Table) -> ColumnElement[bool]:
        """The rows of ``table`` that belong to the plan's directory (of this organization)."""
        return in_directory(self.conn, table, self.directory_id)

    def one_of(self, column: ColumnElement[Any], values: Sequence[Any]) -> ColumnElement[bool]:
        """``column IN (values)``, as one bound array on PostgreSQL (:func:`~connector.store.bulk.one_of`)."""
        return one_of(self.conn, column, values)

    def foreign(self, change: Change) -> str | None:
        """An error when a change names another directory than the plan's."""
        directory = getattr(change, "directory_id", None)
        if directory is not None and directory != self.directory_id:
            return f"the change is for directory {directory!r}, the plan for {self.directory_id!r}"
        return None


def run_handler(ctx: ApplyContext, handler: Handler, changes: list[Change]) -> list[Result]:
    """The handler on the whole batch in a savepoint; on a database refusal, one change at a time."""
    try:
        with ctx.conn.begin_nested():
            outcomes = handler(ctx, changes)
    except DBAPIError:
        outcomes = []
        ctx.one_by_one = True  # handlers take no shortcut now: each change is checked in full
        try:
            for change in changes:
                try:
                    with ctx.conn.begin_nested():
                        outcomes += handler(ctx, [change])
                except DBAPIError as one:
                    outcomes.append(failed(describe(one)))
        finally:
            ctx.one_by_one = False
    if len(outcomes) != len(changes):
        raise RuntimeError(
            f"handler {handler.__qualname__} answered {len(outcomes)} of {len(changes)} changes"
        )
    return outcomes


def describe(exc: DBAPIError) -> str:
    """The database's own complaint, first line only (no statement, no parameters)."""
    text = str(exc.orig or exc).strip().splitlines()
    return f"the database refused it: {text[0] if text else exc.__class__.__name__}"
