"""PostgreSQL's two bulk paths, ``COPY`` and the multi-row ``INSERT``, store the same rows and fail alike.

:func:`~connector.store.bulk.bulk_insert` takes ``COPY`` from
``COPY_MIN_ROWS`` rows and ``INSERT`` below; both are forced here on random
rows (text with tabs, newlines, backslashes and COPY's own markers, NULLs,
timestamps in any offset, booleans, JSON of any shape) and read back through
SQLAlchemy and as the driver returns them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from typing import Any

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis_profiles import examples
from sqlalchemy import Connection
from sqlalchemy import Table
from sqlalchemy import delete
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from connector.store import Store
from connector.store import tables as t
from connector.store.bulk import bulk_insert

pytestmark = pytest.mark.postgres

D = "okta-main"
AWKWARD = ["", "\t", "\n", "\r\n", "\\", "\\N", "\\.", "a\tb\nc\\d", "NULL", "'\"", "é ü 日本 🙂"]
"""Strings COPY's text format escapes or gives a meaning to (``\\N`` is its NULL, ``\\.`` its end)."""

texts = st.one_of(
    st.sampled_from(AWKWARD),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40),
)
offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
moments = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=offsets)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)


@pytest.fixture
def org(pg_url: str) -> Iterator[Store]:
    store = Store.open(pg_url)
    store.set_verified_domains(["example.com"])
    store.ensure_directory(D, "okta")
    try:
        yield store
    finally:
        store.close()


def _read(conn: Connection, table: Table, skip: tuple[str, ...] = ()) -> tuple[list[Any], list[Any]]:
    """The table through SQLAlchemy and as the driver returns it, in key order."""
    columns = [c for c in table.columns if c.name not in skip]
    order = [*table.primary_key.columns]
    typed = [dict(r._mapping) for r in conn.execute(select(*columns).order_by(*order)).all()]
    names = ", ".join(c.name for c in columns)
    keys = ", ".join(c.name for c in order)
    raw = [tuple(r) for r in conn.exec_driver_sql(f"SELECT {names} FROM {table.name} ORDER BY {keys}").all()]
    return typed, raw


def _both_ways(conn: Connection, table: Table, rows: list[dict[str, Any]], skip: tuple[str, ...] = ()) -> Any:
    """The rows written by COPY, then (the table emptied) by INSERT: the two reads must be equal."""
    bulk_insert(conn, table, rows, copy=True)
    copied = _read(conn, table, skip)
    conn.execute(delete(table))
    bulk_insert(conn, table, rows, copy=False)
    inserted = _read(conn, table, skip)
    conn.execute(delete(table))
    assert copied == inserted
    return copied[0]


def _account(n: int, text: str, maybe: str | None, at: datetime) -> dict[str, Any]:
    return {
        "account_id": f"a{n:03d}",
        "email": f"user{n}@example.com",
        "display_name": text,
        "given_name": maybe,
        "family_name": None,
        "status": "active",
        "origin": "sync",
        "created_at": at,
        "updated_at": at + timedelta(microseconds=1),
    }


@settings(
    max_examples=examples(60),
    deadline=None,
    # the fixture's store is emptied by every example; only the rows differ between them
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    people=st.lists(st.tuples(texts, st.none() | texts, moments, st.booleans()), min_size=1, max_size=30),
    changes=st.lists(st.tuples(json_values, st.none() | texts, moments), min_size=1, max_size=30),
)
def test_copy_and_insert_store_the_same_values(
    org: Store,
    people: list[tuple[str, str | None, datetime, bool]],
    changes: list[tuple[Any, str | None, datetime]],
) -> None:
    accounts = [_account(n, text, maybe, at) for n, (text, maybe, at, _) in enumerate(people)]
    links = [
        {
            "directory_id": D,
            "idp_user_id": f"u{n:03d}",
            "account_id": f"a{n:03d}",
            "missing_count": n,
            "idp_active": active,
            "linked_at": at,
        }
        for n, (_, _, at, active) in enumerate(people)
    ]
    audit = [
        {
            "run_id": None,
            "at": at,
            "action": "update_account",
            "directory_id": D,
            "target": f"account a{n}",
            "reason": "r",
            "outcome": "applied",
            "error": error,
            "change": {"value": value},
        }
        for n, (value, error, at) in enumerate(changes)
    ]
    with org.transaction() as conn:
        read = _both_ways(conn, t.accounts, accounts)
        assert [{k: r[k] for k in accounts[0]} for r in read] == accounts  # and what was given
        conn.execute(insert(t.accounts), accounts)
        read = _both_ways(conn, t.links, links)
        assert [{k: r[k] for k in links[0]} for r in read] == links
        conn.execute(delete(t.accounts))
        read = _both_ways(conn, t.audit_log, audit, skip=("audit_id",))
        assert [{k: r[k] for k in audit[0]} for r in read] == audit


@pytest.mark.parametrize("copy", [False, True], ids=["insert", "copy"])
@pytest.mark.parametrize(
    "bad",
    [
        pytest.param({"display_name": "nul \x00 byte"}, id="nul-in-text"),
        pytest.param({"account_id": "a000"}, id="duplicate-key"),
        pytest.param({"email": None}, id="null-in-not-null"),
    ],
)
def test_a_refusal_is_a_dbapierror_and_the_savepoint_rolls_back(
    org: Store, copy: bool, bad: dict[str, Any]
) -> None:
    """Whichever path wrote it, a bad row fails the statement as a DBAPIError (what apply's
    one-at-a-time retry catches) and a savepoint around it leaves the transaction usable."""
    at = datetime(2026, 3, 4, tzinfo=timezone.utc)
    with org.transaction() as conn:
        bulk_insert(conn, t.accounts, [_account(0, "kept", None, at)])
        rows = [_account(n, "x", None, at) for n in range(1, 4)] + [{**_account(9, "y", None, at), **bad}]
        with pytest.raises(DBAPIError), conn.begin_nested():
            bulk_insert(conn, t.accounts, rows, copy=copy)
        assert conn.execute(select(t.accounts.c.account_id)).scalars().all() == ["a000"]
        bulk_insert(conn, t.accounts, [_account(5, "after", None, at)], copy=copy)
    assert [a.account_id for a in org.accounts()] == ["a000", "a005"]
