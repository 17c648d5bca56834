"""bulk_insert stores exactly what insert(table) stores, and fails the way apply's retry expects."""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from types import MappingProxyType
from typing import Any

import pytest
from fakes import blind_add_memberships
from sqlalchemy import Connection
from sqlalchemy import Table
from sqlalchemy import delete
from sqlalchemy import event
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import IntegrityError

from connector.apply import applier
from connector.apply.applier import apply_plan
from connector.rules import plan as plan_module
from connector.rules.plan import Action
from connector.rules.plan import AddMembership
from connector.rules.plan import Change
from connector.rules.plan import CreateAccount
from connector.rules.plan import CreateGroup
from connector.rules.plan import Plan
from connector.rules.plan import UpdateAccount
from connector.store import Store
from connector.store import bulk
from connector.store import tables as t
from connector.store.bulk import bulk_insert
from connector.store.bulk import one_of
from connector.store.handlers import registry

D = "okta-main"
NOW = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=timezone.utc)
LATER = datetime(2026, 3, 4, 9, 6, 7, 123, tzinfo=timezone(timedelta(hours=2)))


@pytest.fixture
def org(store: Store) -> Store:
    store.set_verified_domains(["example.com"])
    store.ensure_directory(D, "okta")
    return store


def account(n: int, at: datetime = NOW, **extra: Any) -> dict[str, Any]:
    return {
        "account_id": f"a{n}",
        "email": f"user{n}@example.com",
        "display_name": f"Ü{n} ' \" \\ \t tab" if n % 2 else None,
        "given_name": None,
        "family_name": "Smith\nnewline" if n % 3 == 0 else None,
        "status": "active",
        "origin": "sync",
        "created_at": at,
        "updated_at": at,
        **extra,
    }


def _read(conn: Connection, table: Table, skip: Sequence[str] = ()) -> tuple[list[Any], list[Any]]:
    """The table through SQLAlchemy and as the driver returns it, in key order, without ``skip``."""
    columns = [c for c in table.columns if c.name not in skip and c.name != "org_id"]
    query = select(*columns).order_by(*table.primary_key.columns)
    names = ", ".join(c.name for c in columns)
    order = ", ".join(c.name for c in table.primary_key.columns)
    raw = conn.exec_driver_sql(f"SELECT {names} FROM {table.name} ORDER BY {order}").all()
    return [tuple(r) for r in conn.execute(query).all()], [tuple(r) for r in raw]


def _same_as_insert(
    conn: Connection, table: Table, rows: list[dict[str, Any]], skip: Sequence[str] = ()
) -> list[Any]:
    """Rows written by insert(table), then by bulk_insert: both reads must be equal."""
    conn.execute(insert(table), rows)
    expected = _read(conn, table, skip)
    conn.execute(delete(table))
    bulk_insert(conn, table, rows)
    got = _read(conn, table, skip)
    assert got == expected
    return got[0]


def test_accounts_round_trip_text_nulls_and_datetimes(org: Store) -> None:
    # the same datetime object on several rows, then another, then the first again
    rows = [account(1), account(2), account(3, LATER), account(4, LATER), account(5), account(6)]
    with org.transaction() as conn:
        read = _same_as_insert(conn, t.accounts, rows)
    at = [r[7] for r in read]
    assert at[0] == at[1] == at[4] == at[5] != at[2] == at[3]
    assert [r[2] for r in read][:3] == ["Ü1 ' \" \\ \t tab", None, "Ü3 ' \" \\ \t tab"]
    assert read[2][4] == "Smith\nnewline"


def test_links_groups_memberships_round_trip_booleans_integers_and_defaults(org: Store) -> None:
    with org.transaction() as conn:
        conn.execute(insert(t.accounts), [account(1), account(2)])
        links = [
            {
                "directory_id": D,
                "idp_user_id": f"u{n}",
                "account_id": f"a{n}",
                "missing_count": n,
                "idp_active": n == 1,
                "linked_at": NOW,
            }
            for n in (1, 2)
        ]
        read = _same_as_insert(conn, t.links, links)
        assert [(r[3], r[4]) for r in read] == [(1, True), (2, False)]
        groups = [  # "adopted" left out: its scalar default, as insert() would
            {"group_id": "g1", "name": "eng", "directory_id": D, "idp_group_id": "ig1", "description": None},
            {"group_id": "g2", "name": "ops", "directory_id": None, "idp_group_id": None, "description": "d"},
        ]
        groups = [dict(g, created_at=LATER) for g in groups]
        read = _same_as_insert(conn, t.groups, groups)
        assert [r[5] for r in read] == [False, False]
        members = [
            {"group_id": "g1", "account_id": a, "source": s, "added_at": NOW}
            for a in ("a1", "a2")
            for s in (D, "local")
        ]
        _same_as_insert(conn, t.memberships, members)


def test_audit_round_trip_json_and_autoincrement(org: Store) -> None:
    rows = [
        {
            "run_id": None,
            "at": NOW,
            "action": "update_account",
            "directory_id": D if n else None,
            "target": f"account a{n}",
            "reason": "why",
            "outcome": "failed" if n else "applied",
            "error": "no" if n else None,
            "change": {"fields": {"email": f"é{n}@example.com"}, "ids": [n, None], "ok": True, "none": None},
        }
        for n in range(3)
    ]
    with org.transaction() as conn:
        read = _same_as_insert(conn, t.audit_log, rows, skip=["audit_id"])
        assert read[1][-1] == {
            "fields": {"email": "é1@example.com"},
            "ids": [1, None],
            "ok": True,
            "none": None,
        }
        ids = conn.execute(select(t.audit_log.c.audit_id)).scalars().all()
    assert len(set(ids)) == 3


def test_empty_rows_write_nothing(org: Store) -> None:
    with org.transaction() as conn:
        bulk_insert(conn, t.accounts, [])
        assert conn.execute(select(func.count()).select_from(t.accounts)).scalar() == 0


def test_a_column_without_a_value_or_scalar_default_is_refused(org: Store) -> None:
    with org.transaction() as conn, pytest.raises(IntegrityError):
        bulk_insert(conn, t.accounts, [{"account_id": "a1", "email": "x@example.com"}])


@pytest.mark.parametrize("copy", [False, True], ids=["insert", "copy"])
def test_a_duplicate_key_raises_dbapierror_and_the_savepoint_rolls_back_cleanly(
    org: Store, copy: bool
) -> None:
    with org.transaction() as conn:
        bulk_insert(conn, t.accounts, [account(1)])
        with pytest.raises(DBAPIError) as raised, conn.begin_nested():
            bulk_insert(conn, t.accounts, [account(2), account(1)], copy=copy)
        assert isinstance(raised.value, IntegrityError)
        assert conn.in_transaction() and not conn.in_nested_transaction()
        ids = conn.execute(select(t.accounts.c.account_id)).scalars().all()
        assert ids == ["a1"]  # a2 went with the savepoint
        with conn.begin_nested():
            bulk_insert(conn, t.accounts, [account(3)])
    assert [a.account_id for a in org.accounts()] == ["a1", "a3"]


def create(n: int) -> CreateAccount:
    return CreateAccount(
        reason="new", account_id=f"a{n}", directory_id=D, idp_user_id=f"u{n}", email=f"user{n}@example.com"
    )


def test_a_refused_bulk_insert_fails_only_the_offending_change(
    org: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = [CreateGroup(reason="r", group_id="g1", name="eng", directory_id=D, idp_group_id="ig1")]
    apply_plan(org, Plan(D, changes=(*first, *(create(n) for n in range(1, 5)))))
    org.add_membership("g1", "a2", D)
    monkeypatch.setitem(registry._HANDLERS, Action.ADD_MEMBERSHIP, blind_add_memberships)
    adds = [AddMembership(reason="r", group_id="g1", account_id=f"a{n}", source=D) for n in (1, 2, 3, 4)]
    run_id = org.start_run(D, kind="sync", dry_run=False)
    result = apply_plan(org, Plan(D, changes=tuple(adds)), run_id=run_id)
    assert result.applied == {"add_membership": 3}
    assert [f.change for f in result.failed] == [adds[1]]
    assert "the database refused it" in result.failed[0].error
    assert sorted(m.account_id for m in org.memberships()) == ["a1", "a2", "a3", "a4"]
    audit = org.audit(run_id)
    assert [(a.outcome, a.change["account_id"]) for a in audit] == [
        ("applied", "a1"),
        ("failed", "a2"),
        ("applied", "a3"),
        ("applied", "a4"),
    ]


def test_audit_rows_hold_the_change_as_its_dict(org: Store) -> None:
    changes: list[Change] = [
        create(1),
        UpdateAccount(
            reason="renamed",
            account_id="a1",
            fields=MappingProxyType({"display_name": "New"}),
            old={"x": None},
        ),
        UpdateAccount(reason="gone", account_id="a9", fields={"email": "z@example.com"}),
    ]
    run_id = org.start_run(D, kind="sync", dry_run=False)
    apply_plan(org, Plan(D, changes=tuple(changes)), run_id=run_id)
    audit = org.audit(run_id)
    plain = [{k: dict(v) if isinstance(v, Mapping) else v for k, v in c.to_dict().items()} for c in changes]
    assert [a.change for a in audit] == plain
    assert audit[1].change["fields"] == {"display_name": "New"} and audit[1].change["old"] == {"x": None}
    assert [a.target for a in audit] == ["account a1", "account a1", "account a9"]
    assert [a.directory_id for a in audit] == [D, D, D]
    assert audit[0].at == audit[1].at and audit[2].outcome == "failed"


@dataclass(frozen=True)
class _Bare(Change):  # no action of its own: not registered as a change type
    pass


@dataclass(frozen=True)
class _Custom(Change):
    items: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"custom": list(self.items), "meta": MappingProxyType({"n": len(self.items)})}


def test_audit_change_reads_one_field_classes_and_honours_an_own_to_dict() -> None:
    found = plan_module._fields_of(_Bare)
    assert found is not None and found[0] == ("reason",) and found[1](_Bare(reason="r")) == ("r",)
    assert applier.audit_change(_Custom(reason="r", items=("a",))) == {"custom": ["a"], "meta": {"n": 1}}
    assert type(applier.audit_change(_Custom(reason="r"))["meta"]) is dict


@pytest.mark.parametrize("copy", [None, True], ids=["by-count", "copy"])
def test_cursor_listeners_see_how_many_rows_were_written(org: Store, copy: bool | None) -> None:
    seen: list[tuple[str, int]] = []

    @event.listens_for(org.engine, "after_cursor_execute")
    def _count(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if "accounts" in statement:
            seen.append((statement.split(None, 1)[0], cursor.rowcount))

    with org.transaction() as conn:
        bulk_insert(conn, t.accounts, [account(1), account(2), account(3)], copy=copy)
    # three rows are under COPY_MIN_ROWS: an INSERT, unless COPY is asked for (PostgreSQL only)
    verb = "COPY" if copy and org.engine.dialect.name == "postgresql" else "INSERT"
    assert seen == [(verb, 3)]


def test_many_rows_go_in_whole_statements_and_one_for_the_rest(org: Store) -> None:
    seen: list[tuple[str, int]] = []

    @event.listens_for(org.engine, "after_cursor_execute")
    def _count(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if "accounts" in statement and not statement.startswith("SELECT"):
            seen.append((statement.split(None, 1)[0], cursor.rowcount))

    per = min(bulk.ROWS_PER_INSERT, bulk.SQLITE_MAX_PARAMETERS // len(t.accounts.columns))
    n = 2 * per + 7
    assert n >= bulk.COPY_MIN_ROWS
    with org.transaction() as conn:
        bulk_insert(conn, t.accounts, [account(i) for i in range(n)])
    with org.transaction(write=False) as conn:
        ids = conn.execute(select(t.accounts.c.account_id)).scalars().all()
    assert sorted(ids) == sorted(account(i)["account_id"] for i in range(n))
    if org.engine.dialect.name == "postgresql":
        assert seen == [("COPY", n)]
    else:  # the full statements in one executemany, the 7 left in one more
        assert seen == [("INSERT", 2 * per), ("INSERT", 7)]


# ---------------------------------------------------------------------- one_of


def _count_parameters(conn: Connection) -> list[int]:
    """Bound parameters per statement the connection sends, collected while the caller runs."""
    seen: list[int] = []

    @event.listens_for(conn, "before_cursor_execute")
    def count(_conn: Any, _cursor: Any, _sql: str, params: Any, _ctx: Any, _many: bool) -> None:
        seen.append(len(params) if isinstance(params, (dict, list, tuple)) else 0)

    return seen


def test_one_of_finds_the_same_rows_as_in_and_binds_one_array_on_postgresql(org: Store) -> None:
    ids = [f"a{n}" for n in range(70_000)]  # more than PostgreSQL's 65,535 bound parameters
    with org.transaction() as conn:
        bulk_insert(conn, t.accounts, [account(n) for n in (1, 7, 69_999)])
        seen = _count_parameters(conn)
        column = t.accounts.c.account_id
        found = conn.execute(select(column).where(one_of(conn, column, ids))).scalars().all()
        none = conn.execute(select(column).where(one_of(conn, column, []))).scalars().all()
        odd = conn.execute(select(column).where(one_of(conn, column, ["a7", "x'; --", "a7"]))).scalars().all()
    assert sorted(found) == ["a1", "a69999", "a7"]
    assert none == []
    assert odd == ["a7"]
    if org.engine.dialect.name == "postgresql":
        assert seen == [1, 1, 1]


def test_one_of_in_a_delete(org: Store) -> None:
    with org.transaction() as conn:
        bulk_insert(conn, t.accounts, [account(n) for n in range(5)])
        done = conn.execute(
            delete(t.accounts).where(one_of(conn, t.accounts.c.account_id, ["a1", "a3", "zz"]))
        )
        left = conn.execute(select(t.accounts.c.account_id).order_by(t.accounts.c.account_id)).scalars().all()
    assert done.rowcount == 2
    assert left == ["a0", "a2", "a4"]
