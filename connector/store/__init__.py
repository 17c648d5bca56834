"""The product store: SQLAlchemy 2.x tables, the :class:`Store` API, Alembic migrations.

SQLite (a file) is the default; PostgreSQL by URL
(``postgresql+psycopg://user@host/db``).  ``Store.open(url)`` brings an empty
database to the current schema; ``Store.upgrade()`` is ``db upgrade``.
"""

from connector.store.records import AuditRecord
from connector.store.records import RunRecord
from connector.store.snapshot import fingerprint_of
from connector.store.store import Store

__all__ = ["AuditRecord", "RunRecord", "Store", "fingerprint_of"]
