"""The store revision: one counter that every write to the planned-against tables bumps,
and, per directory, the revision its last applied run left (``planned_revision``) with
the digest of the settings that run planned with (``planned_settings``).

SQLite has only row triggers, so there each inserted, updated or deleted row adds one.
PostgreSQL bumps once per transaction, from ``BEFORE`` statement triggers: the first
write statement of a transaction adds one and notes it in a transaction-local setting
(rolled back with a savepoint, as the bump is), the later ones see the note and skip.
Once per statement was not enough: psycopg runs an executemany ``UPDATE`` as one
statement per row, and thousands of updates of the one revision row in a transaction
grew a version chain each lookup walks (20,000 link updates: 0.8 s -> 4.4 s).  The
revision row is locked before the rows the first statement touches, in the same order
:func:`connector.store.revision.read_revision` with ``lock=True`` takes it, so two
writers queue rather than deadlock.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TRACKED = (
    "organization",
    "verified_domains",
    "product_grants",
    "accounts",
    "links",
    "groups",
    "memberships",
)
"""The tables whose content planning depends on (kept equal to ``connector.store.revision.TRACKED``)."""

SQLITE_EVENTS = ("insert", "update", "delete")
BUMP_FUNCTION = "store_revision_bump"
BUMPED_SETTING = "connector.store_revision_bumped"  # PostgreSQL: set (locally) once this transaction bumped


def upgrade() -> None:
    op.create_table(
        "store_revision",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("revision", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_store_revision"),
        sa.CheckConstraint("id = 1", name="ck_store_revision_one_row"),
    )
    op.execute("INSERT INTO store_revision (id, revision) VALUES (1, 0)")
    op.add_column("directories", sa.Column("planned_revision", sa.BigInteger, nullable=True))
    op.add_column("directories", sa.Column("planned_settings", sa.Text, nullable=True))
    if op.get_context().dialect.name == "postgresql":
        _postgresql_triggers()
    else:
        _sqlite_triggers()


def _sqlite_triggers() -> None:
    for table in TRACKED:
        for event in SQLITE_EVENTS:
            op.execute(
                f"CREATE TRIGGER store_revision_{table}_{event} AFTER {event.upper()} ON {table} "
                "FOR EACH ROW BEGIN UPDATE store_revision SET revision = revision + 1 WHERE id = 1; END"
            )


def _postgresql_triggers() -> None:
    # SET search_path FROM CURRENT: the function finds store_revision in the schema it was
    # made in, whatever the search path of the session that writes
    op.execute(
        f"CREATE FUNCTION {BUMP_FUNCTION}() RETURNS trigger LANGUAGE plpgsql "
        "SET search_path FROM CURRENT AS $$ BEGIN "
        f"IF current_setting('{BUMPED_SETTING}', true) IS DISTINCT FROM 'on' THEN "
        "UPDATE store_revision SET revision = revision + 1 WHERE id = 1; "
        f"PERFORM set_config('{BUMPED_SETTING}', 'on', true); "
        "END IF; RETURN NULL; END $$"
    )
    for table in TRACKED:
        op.execute(
            f"CREATE TRIGGER store_revision_{table} BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION {BUMP_FUNCTION}()"
        )


def downgrade() -> None:
    postgresql = op.get_context().dialect.name == "postgresql"
    for table in TRACKED:
        if postgresql:
            op.execute(f"DROP TRIGGER IF EXISTS store_revision_{table} ON {table}")
        else:
            for event in SQLITE_EVENTS:
                op.execute(f"DROP TRIGGER IF EXISTS store_revision_{table}_{event}")
    if postgresql:
        op.execute(f"DROP FUNCTION IF EXISTS {BUMP_FUNCTION}()")
    for column in ("planned_settings", "planned_revision"):
        # SQLite (3.35+) drops a column in place; a batch copy of directories would trip
        # the foreign keys of the tables that name it
        op.execute(f"ALTER TABLE directories DROP COLUMN {column}")
    op.drop_table("store_revision")
