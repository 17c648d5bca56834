"""Engines and migrations: SQLite (a file, the default) or PostgreSQL (psycopg 3).

SQLite is driven the way SQLAlchemy documents for pysqlite with real
transactions: the driver's own transaction handling is switched off and the
engine emits ``BEGIN`` itself, ``BEGIN IMMEDIATE`` for writes (so two writers
queue on the busy timeout instead of failing on a lock upgrade) and plain
``BEGIN`` for reads.  Savepoints then work, which :mod:`connector.apply.applier`
needs to record one failed object and go on.  File databases use WAL
journaling (readers never block the writer) with ``synchronous=NORMAL``,
which survives a killed process; foreign keys are enforced.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

from sqlalchemy import Connection
from sqlalchemy import Engine
from sqlalchemy import create_engine
from sqlalchemy import event
from sqlalchemy import inspect
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool

from connector.errors import StoreError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
HEAD_REVISION = "0010"
"""The newest migration, known without loading Alembic (about 11 MB of modules): a store
already there opens without it.  ``tests/store/test_schema.py`` holds it to Alembic's head."""
WRITE = "connector_write"  # execution option: this transaction writes
SQLITE_BUSY_TIMEOUT = 60.0  # seconds a writer waits for another writer
SQLITE_CACHE_KIB = 16384
"""Page cache per connection.  SQLite's 2 MiB default thrashed on the indexes of a 100k-user
first sync; 16 MiB is as fast there as 64 MiB was, and a run holds two connections (the store's
inputs load on a worker thread), each cache counted in the process's memory."""
SQLITE_WAL_CHECKPOINT_PAGES = 16384
"""WAL pages (4 KiB) before a commit checkpoints into the database file, fsync included.

SQLite's default of 1,000 (4 MiB) made nearly every commit of a 100k-user first
sync a checkpoint; 16,384 (64 MiB) checkpoints about once per 16 of them."""
MIGRATION_LOCK = 0x1D9C_0E11_7A5D_0001  # PostgreSQL advisory key held while migrating


def make_engine(url: str) -> Engine:
    """An engine for ``url``; only SQLite and PostgreSQL (psycopg 3) are supported."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(f"store URL is not a database URL: {exc}") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url, parsed.database)
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        try:
            # No server-side prepared statements: their generic plans keep an IN (...) of bound
            # ids as a linear filter, so the mirror's chunked deletes in one big transaction went
            # quadratic (100k users: 75 s -> 9 s); custom plans hash the list.
            return create_engine(parsed, pool_pre_ping=True, connect_args={"prepare_threshold": None})
        except ImportError as exc:
            raise StoreError(
                f"a PostgreSQL store needs the {exc.name or parsed.get_driver_name()} driver, which is not "
                "installed; pip install 'idp-connector[postgres]'"
            ) from None
    raise StoreError(f"unsupported store database {backend!r}: use sqlite:///path or postgresql+psycopg://")


def _sqlite_engine(url: str, database: str | None) -> Engine:
    in_memory = not database or database == ":memory:"
    kwargs: dict[str, Any] = {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT}}
    if in_memory:
        kwargs["poolclass"] = StaticPool
        kwargs["connect_args"]["check_same_thread"] = False
    elif database and not database.startswith("file:"):
        folder = Path(database).parent
        if not folder.is_dir():
            # SQLite's own word for this is "unable to open database file", naming nothing
            raise StoreError(
                f"the SQLite store's folder {folder} does not exist; create it, or set store.url "
                "(or CONNECTOR_STORE_URL) to a file in an existing folder"
            )
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")  # negative: KiB, not pages
            cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_WAL_CHECKPOINT_PAGES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get(WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def sqlite_path(engine: Engine) -> str | None:
    """The database file of a SQLite engine (None for in-memory or another backend)."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:":
        return None
    return str(Path(database).resolve())


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config  # loaded only when migrations run

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string().replace("%", "%%"))
    return config


def head_revision() -> str:
    """The newest migration, as Alembic finds it in the migrations folder."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at (None for an empty database)."""
    with engine.connect() as conn:
        return _stamped(conn)


def _stamped(conn: Connection) -> str | None:
    """The revision in Alembic's version table, read with plain SQL (None when there is none)."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine, revision: str = "head", *, organization_id: str | None = None) -> None:
    """Run the Alembic migrations up to ``revision`` in one transaction.

    ``organization_id`` names the organization a store made before organizations were data
    holds (migration 0005); ``default`` when not given.

    A store already at the newest migration is left alone without loading
    Alembic.  Two processes opening an empty database at once take turns:
    SQLite's ``BEGIN IMMEDIATE`` and, on PostgreSQL, a transaction-level
    advisory lock make the second one find the schema already at head.
    """
    if revision in ("head", HEAD_REVISION) and current_revision(engine) == HEAD_REVISION:
        return
    from alembic import command

    config = alembic_config(engine)
    with engine.connect() as conn:
        conn.execution_options(**{WRITE: True})
        with conn.begin():
            if engine.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
            config.attributes["connection"] = conn
            config.attributes["organization_id"] = organization_id
            command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Run the migrations down to ``revision`` (``"base"`` empties the database)."""
    from alembic import command

    config = alembic_config(engine)
    with engine.connect() as conn:
        conn.execution_options(**{WRITE: True})
        with conn.begin():
            config.attributes["connection"] = conn
            command.downgrade(config, revision)
