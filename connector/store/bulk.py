"""Bulk inserts for the apply step: the fastest write path each backend has.

``insert(table)`` with a list of dicts runs SQLAlchemy's per-row parameter
processing, and on PostgreSQL one statement per row.  :func:`bulk_insert`
does the same job with the values prepared column by column:

* SQLite: ``executemany`` of a multi-row ``INSERT`` (100 rows a statement)
  through ``exec_driver_sql``, the values passed through each column type's
  bind processor (DateTime as SQLite's text, JSON as text, Boolean as 0/1),
  so what is stored is what ``insert(table)`` would have stored;
* PostgreSQL (psycopg 3), :data:`COPY_MIN_ROWS` rows or more: ``COPY ... FROM
  STDIN`` on the connection's own cursor, in the open transaction; JSON
  columns go as their JSON text.  ``after_cursor_execute`` listeners see the
  COPY statement, with the cursor's row count, and ``None`` for parameters
  and context;
* PostgreSQL, fewer rows (a delta's few changes, apply's one-at-a-time
  retry): the same multi-row ``INSERT`` as SQLite, with the values COPY would
  send; the two take the same time there, and the retry's single rows stay
  plain statements.  ``tests/store/test_bulk_copy.py`` holds the two paths
  to the same stored values and the same refusals.

Either way a refusal comes out as :class:`sqlalchemy.exc.DBAPIError`, which
:mod:`connector.apply.applier` relies on to retry a batch one change at a time in
savepoints.  Table and column names come from the ``Table`` and are quoted
by the dialect, never taken from the data.

Reads of many ids go through the same helpers: :func:`one_of` binds them
(one array on PostgreSQL) and :func:`rows_by_ids` slices them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from collections.abc import Collection
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import Column
from sqlalchemy import ColumnElement
from sqlalchemy import Connection
from sqlalchemy import Row
from sqlalchemy import Select
from sqlalchemy import Table
from sqlalchemy import any_
from sqlalchemy import bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError

from connector.store.tenancy import org_of

Processor = Callable[[Any], Any]
_UNSET = object()
ROWS_PER_INSERT = 100
"""Rows per SQLite ``INSERT`` statement (fewer when the columns would pass the parameter limit)."""
SQLITE_MAX_PARAMETERS = 999
"""The bound-parameter limit of SQLite builds before 3.32 (32,766 since); the lowest one may meet."""
POSTGRESQL_MAX_PARAMETERS = 65_535
"""PostgreSQL's bound-parameter limit per statement (its wire protocol counts them in 16 bits)."""
COPY_MIN_ROWS = 5
"""Rows from which PostgreSQL writes through ``COPY``: as fast as one ``INSERT`` below, faster above
(``benchmarks/copy_threshold.py``: 0.9x at 5 rows, 0.3x at 50, 0.55x at 1,000)."""


ID_SLICE = 1000
"""Ids per query: one bound parameter each on SQLite (an array on PostgreSQL)."""


def one_of(conn: Connection, column: ColumnElement[Any], values: Sequence[Any]) -> ColumnElement[bool]:
    """``column IN (values)``; on PostgreSQL ``column = ANY(:array)``, one bound array.

    A 5,000-id ``IN`` list is 5,000 bound parameters that SQLAlchemy expands
    and psycopg rewrites on every execution, and a statement text never seen
    before; the array is one parameter, and no size bound applies to it.
    """
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(values)


def bulk_insert(
    conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], *, copy: bool | None = None
) -> None:
    """Insert rows (dicts keyed by column name, all with the same keys) as fast as the backend allows.

    A table scoped by organization gets the connection's (:func:`~connector.store.tenancy.org_of`)
    on every row that does not name one.  ``copy`` chooses PostgreSQL's path (``COPY`` or
    ``INSERT``) instead of :data:`COPY_MIN_ROWS`; SQLite ignores it.
    """
    if not rows:
        return
    columns, values = _columns(table, rows)
    if "org_id" in table.c and "org_id" not in rows[0]:  # the connection's organization, on every row
        columns.append(table.c.org_id)
        values.append([org_of(conn)] * len(rows))
    if conn.dialect.name != "postgresql":
        _executemany(conn, table, columns, values, _bind_processor, "?", SQLITE_MAX_PARAMETERS)
    elif (len(rows) >= COPY_MIN_ROWS) if copy is None else copy:
        _copy(conn, table, columns, values)
    else:
        _executemany(conn, table, columns, values, _copy_processor, "%s", POSTGRESQL_MAX_PARAMETERS)


def _columns(table: Table, rows: Sequence[Mapping[str, Any]]) -> tuple[list[Column[Any]], list[list[Any]]]:
    """The columns to write and, per column, the rows' values (scalar defaults for columns left out)."""
    names = list(rows[0])
    columns = [table.c[name] for name in names]
    values = [[row[name] for row in rows] for name in names]
    for column in table.columns:
        if column.name in names or column.default is None or column.name == "org_id":
            continue
        if not column.default.is_scalar:
            raise ValueError(f"bulk_insert into {table.name} needs a value for {column.name}")
        columns.append(column)
        values.append([column.default.arg] * len(rows))  # type: ignore[attr-defined]
    return columns, values


def _processed(values: list[Any], process: Processor | None) -> list[Any]:
    """``process`` applied to each value, once per run of the same object (``ctx.now`` on every row)."""
    if process is None:
        return values
    first = values[0]
    if values[-1] is first and len(set(map(id, values))) == 1:  # one object on every row
        return [process(first)] * len(values)
    out = []
    last: Any = _UNSET
    done: Any = None
    for value in values:
        if value is not last:
            last, done = value, process(value)
        out.append(done)
    return out


def _bind_processor(column: Column[Any], dialect: Dialect) -> Processor | None:
    return column.type._cached_bind_processor(dialect)


def _json_text(column: Column[Any], dialect: Dialect) -> Processor:
    """A JSON column's value as the JSON text SQLAlchemy would send (``None`` is JSON ``null``)."""
    dumps = getattr(dialect, "_json_serializer", None) or json.dumps
    none_as_null = getattr(column.type, "none_as_null", False)

    def process(value: Any) -> Any:
        if value is None and none_as_null:
            return None
        return dumps(value)

    return process


def _names(conn: Connection, table: Table, columns: Sequence[Column[Any]]) -> tuple[str, str]:
    """The table's and the columns' names, quoted by the dialect."""
    preparer = conn.dialect.identifier_preparer
    return preparer.format_table(table), ", ".join(preparer.quote(c.name) for c in columns)


def _executemany(
    conn: Connection,
    table: Table,
    columns: list[Column[Any]],
    values: list[list[Any]],
    processor: Callable[[Column[Any], Dialect], Processor | None],
    marker: str,
    max_parameters: int,
) -> None:
    """Multi-row ``INSERT``s, values as ``processor`` makes them, ``marker`` the driver's placeholder.

    :data:`ROWS_PER_INSERT` rows a statement, the full statements as one
    executemany, the rest as one more.  A statement per row made SQLite open
    a statement journal per row once the tables had triggers (the store
    revision's) and apply's savepoint was open: that doubled a first sync's
    apply; per ~100 rows it costs nothing measurable.
    """
    prepared = [_processed(v, processor(c, conn.dialect)) for c, v in zip(columns, values, strict=True)]
    into, names = _names(conn, table, columns)
    rows = list(zip(*prepared, strict=True))
    per = max(1, min(ROWS_PER_INSERT, max_parameters // len(columns)))
    one = f"({', '.join([marker] * len(columns))})"
    full = len(rows) - len(rows) % per
    if full:
        sql = f"INSERT INTO {into} ({names}) VALUES {', '.join([one] * per)}"
        conn.exec_driver_sql(sql, [_flat(rows[i : i + per]) for i in range(0, full, per)])
    if full < len(rows):
        rest = rows[full:]
        sql = f"INSERT INTO {into} ({names}) VALUES {', '.join([one] * len(rest))}"
        conn.exec_driver_sql(sql, _flat(rest))


def _flat(rows: Sequence[tuple[Any, ...]]) -> tuple[Any, ...]:
    return tuple(value for row in rows for value in row)


def _copy_processor(column: Column[Any], dialect: Dialect) -> Processor | None:
    if isinstance(column.type, JSON):
        return _json_text(column, dialect)
    return _bind_processor(column, dialect)


def _copy(conn: Connection, table: Table, columns: list[Column[Any]], values: list[list[Any]]) -> None:
    """PostgreSQL (psycopg 3): ``COPY FROM STDIN`` in the connection's transaction."""
    prepared = [_processed(v, _copy_processor(c, conn.dialect)) for c, v in zip(columns, values, strict=True)]
    into, names = _names(conn, table, columns)
    sql = f"COPY {into} ({names}) FROM STDIN"
    dbapi = conn.dialect.loaded_dbapi
    cursor = conn.connection.cursor()
    try:
        with cursor.copy(sql) as copy:
            for row in zip(*prepared, strict=True):
                copy.write_row(row)
        # what SQLAlchemy would have told its listeners (write counters); COPY has no context
        conn.dispatch.after_cursor_execute(conn, cursor, sql, None, None, True)
    except dbapi.Error as exc:
        raise DBAPIError.instance(sql, None, exc, dbapi.Error, dialect=conn.dialect) from exc
    finally:
        cursor.close()


def rows_by_ids(
    conn: Connection,
    column: ColumnElement[Any],
    ids: Collection[str],
    query: Callable[[ColumnElement[bool]], Select[Any]],
) -> Iterator[Row[Any]]:
    """The rows of ``query(condition)`` where ``column`` is one of ``ids``, a slice of ids at a time."""
    values = sorted(ids)
    for start in range(0, len(values), ID_SLICE):
        yield from conn.execute(query(one_of(conn, column, values[start : start + ID_SLICE])))
