"""One run per directory at a time, and one writing run per organization at a time.

Every run holds its organization's lock (:data:`ORGANIZATION_LOCK`, taken first) and its
directory's: the directories of an organization share its accounts, so two runs of one
organization would each decide to create the account a person lacks.  ``wait`` is False (busy
at once), True (queue behind the holder) or a number of seconds to keep trying (a push request,
which its IdP waits on).

PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock`` or, to
wait, ``pg_advisory_lock``) taken on a connection held open for the whole
run, keyed by the store (its database and schema) and the directory.  The
server drops it when that session ends, so a killed process never leaves it
behind.

SQLite: an exclusive ``flock`` on a small file beside the database file, one
file per directory.  Chosen over a lock row with owner and heartbeat because
the kernel releases the lock the moment the holding process dies (even on
``SIGKILL``), so there is no stale-owner guesswork, no clock, and no write to
the database that a crash could leave half done.  The lock files stay behind
(empty and harmless).  An in-memory SQLite database lives in one process, so
a process-local lock is its equivalent.  ``flock`` is POSIX; on Windows the
SQLite lock is process-local only.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import time
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy import text

from connector.errors import OrganizationBusyError
from connector.errors import RunInProgressError
from connector.store.tenancy import DEFAULT_ORG

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

_LOCAL_LOCKS: dict[str, threading.Lock] = {}
_LOCAL_GUARD = threading.Lock()

ORGANIZATION_LOCK = "*organization*"
"""The lock name of a whole organization (a directory id is a slug: never this)."""
POLL_SECONDS = 0.05
"""How often a lock waited on for a bounded time is tried again."""

Wait = bool | float
"""False: busy at once; True: wait as long as it takes; a number: seconds to keep trying."""


def _retrying(try_once: Callable[[], bool], wait: Wait) -> bool:
    """Whether ``try_once`` took the lock within ``wait`` (a number of seconds)."""
    deadline = time.monotonic() + float(wait)
    while not try_once():
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_SECONDS)
    return True


def advisory_key(store_identity: str, directory_id: str, org: str = DEFAULT_ORG) -> int:
    """A signed 64-bit key for ``pg_advisory_lock``, stable across processes.

    ``store_identity`` names the store (database and schema): advisory locks are shared by every
    schema of a database, and two stores in two schemas must not hold each other's runs up; ``org``
    the organization, whose directory ids are its own."""
    digest = hashlib.sha256(f"idp-connector run\0{store_identity}\0{org}\0{directory_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _busy(directory_id: str) -> RunInProgressError:
    if directory_id == ORGANIZATION_LOCK:
        return OrganizationBusyError(
            "another run of this organization is in progress (its directories share its accounts); "
            "wait for it to finish, or run again with --wait to queue behind it"
        )
    return RunInProgressError(
        f"another run is in progress for directory {directory_id!r}; "
        "wait for it to finish, or run again with --wait to queue behind it"
    )


@contextlib.contextmanager
def postgres_lock(engine: Engine, directory_id: str, *, wait: Wait, org: str = DEFAULT_ORG) -> Iterator[None]:
    """Hold ``pg_advisory_lock`` for ``directory_id`` of this store on a dedicated session."""
    with engine.connect() as conn:
        database, schema = conn.execute(text("SELECT current_database(), current_schema()")).one()
        key = advisory_key(f"{database}.{schema}", directory_id, org)
        if wait is True:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
        elif not _retrying(
            lambda: bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()), wait
        ):
            raise _busy(directory_id)
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            conn.commit()


@contextlib.contextmanager
def file_lock(db_path: str, directory_id: str, *, wait: Wait, org: str = DEFAULT_ORG) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``<db>.run-<hash>.lock`` for ``directory_id``."""
    if fcntl is None:  # pragma: no cover - Windows
        with local_lock(f"{db_path}\0{org}\0{directory_id}", wait=wait):
            yield
        return
    digest = hashlib.sha256(f"{org}\0{directory_id}".encode()).hexdigest()[:16]
    path = Path(f"{db_path}.run-{digest}.lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if wait is True:
            fcntl.flock(fd, fcntl.LOCK_EX)
        elif not _retrying(lambda: _try_flock(fd), wait):
            raise _busy(directory_id)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _try_flock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextlib.contextmanager
def local_lock(name: str, *, wait: Wait) -> Iterator[None]:
    """A process-local lock, for an in-memory database that no other process can see."""
    with _LOCAL_GUARD:
        lock = _LOCAL_LOCKS.setdefault(name, threading.Lock())
    taken = (
        lock.acquire() if wait is True else lock.acquire(timeout=float(wait)) if wait else lock.acquire(False)
    )
    if not taken:
        raise _busy(name.rsplit("\0", 1)[-1])
    try:
        yield
    finally:
        lock.release()
