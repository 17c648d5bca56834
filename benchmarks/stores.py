"""Empty stores for the benchmark: SQLite files in a scratch directory, PostgreSQL scratch databases.

Each PostgreSQL store is a database ``bench_<pid>_<dialect>`` created on the
server of ``pg_url`` and dropped (``WITH (FORCE)``) when the factory closes.
"""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url


class StoreFactory:
    """Hands out store URLs; a context manager that drops what it created."""

    def __init__(self, work: Path, pg_url: str) -> None:
        self.work = work
        self.pg_url = make_url(pg_url)
        self._databases: list[str] = []

    def _admin_dsn(self) -> str:
        url = self.pg_url.set(drivername="postgresql")
        return url.render_as_string(hide_password=False)

    def create(self, kind: str, dialect: str) -> str:
        """A URL of a new, empty store of ``kind`` (``sqlite`` or ``postgres``)."""
        if kind == "sqlite":
            path = self.work / f"{dialect}.sqlite"
            if path.exists():
                path.unlink()
            return f"sqlite:///{path}"
        name = f"bench_{os.getpid()}_{dialect}"
        with psycopg.connect(self._admin_dsn(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        self._databases.append(name)
        return self.pg_url.set(database=name).render_as_string(hide_password=False)

    def close(self) -> None:
        if not self._databases:
            return
        with psycopg.connect(self._admin_dsn(), autocommit=True) as conn:
            for name in self._databases:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._databases.clear()

    def __enter__(self) -> StoreFactory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
