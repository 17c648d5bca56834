"""The store revision per organization: a write in one organization leaves every other's revision.

``store_revision`` held one counter for the whole store, so a run of one organization made every
other organization's next run plan its whole directory (its revision had moved).  Now it holds
one row per organization (``org_id``, ``revision``), each starting at the old counter's value.

SQLite's row triggers bump the row of the written row's organization (``NEW.org_id``, or
``OLD.org_id`` for a delete), creating it if it is missing.  PostgreSQL keeps its once-per-
transaction statement triggers (migration 0002), which see no rows: the connector names the
organization of a writing transaction in the setting ``connector.org``
(:meth:`connector.store.Store.transaction`), and the trigger bumps that organization's row; a
transaction that names none (a write from outside the connector) bumps every organization's,
which is never wrong, only pessimistic.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TRACKED = (
    "organizations",
    "verified_domains",
    "product_grants",
    "accounts",
    "links",
    "groups",
    "memberships",
)
SQLITE_EVENTS = ("insert", "update", "delete")
BUMP_FUNCTION = "store_revision_bump"
BUMPED_SETTING = "connector.store_revision_bumped"
ORG_SETTING = "connector.org"


def upgrade() -> None:
    bind = op.get_bind()
    postgresql = bind.dialect.name == "postgresql"
    old = bind.execute(sa.text("SELECT revision FROM store_revision WHERE id = 1")).scalar() or 0
    if not postgresql:
        _drop_sqlite_triggers()
    op.drop_table("store_revision")
    op.create_table(
        "store_revision",
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("revision", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("org_id", name="pk_store_revision"),
    )
    bind.execute(
        sa.text("INSERT INTO store_revision (org_id, revision) SELECT org_id, :r FROM organizations"),
        {"r": old},
    )
    if postgresql:
        op.execute(
            f"CREATE OR REPLACE FUNCTION {BUMP_FUNCTION}() RETURNS trigger LANGUAGE plpgsql "
            "SET search_path FROM CURRENT AS $$ BEGIN "
            f"IF current_setting('{BUMPED_SETTING}', true) IS DISTINCT FROM 'on' THEN "
            f"IF coalesce(current_setting('{ORG_SETTING}', true), '') = '' THEN "
            "UPDATE store_revision SET revision = revision + 1; "
            "ELSE "
            "INSERT INTO store_revision (org_id, revision) "
            f"VALUES (current_setting('{ORG_SETTING}'), 1) "
            "ON CONFLICT (org_id) DO UPDATE SET revision = store_revision.revision + 1; "
            "END IF; "
            f"PERFORM set_config('{BUMPED_SETTING}', 'on', true); "
            "END IF; RETURN NULL; END $$"
        )
    else:
        for table in TRACKED:
            for event in SQLITE_EVENTS:
                row = "OLD" if event == "delete" else "NEW"
                op.execute(
                    f"CREATE TRIGGER store_revision_{table}_{event} AFTER {event.upper()} ON {table} "
                    "FOR EACH ROW BEGIN "
                    f"INSERT INTO store_revision (org_id, revision) VALUES ({row}.org_id, 1) "
                    "ON CONFLICT (org_id) DO UPDATE SET revision = revision + 1; END"
                )


def downgrade() -> None:
    bind = op.get_bind()
    postgresql = bind.dialect.name == "postgresql"
    highest = bind.execute(sa.text("SELECT max(revision) FROM store_revision")).scalar() or 0
    if not postgresql:
        _drop_sqlite_triggers()
    op.drop_table("store_revision")
    op.create_table(
        "store_revision",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("revision", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_store_revision"),
        sa.CheckConstraint("id = 1", name="ck_store_revision_one_row"),
    )
    bind.execute(sa.text("INSERT INTO store_revision (id, revision) VALUES (1, :r)"), {"r": highest})
    if postgresql:
        op.execute(
            f"CREATE OR REPLACE FUNCTION {BUMP_FUNCTION}() RETURNS trigger LANGUAGE plpgsql "
            "SET search_path FROM CURRENT AS $$ BEGIN "
            f"IF current_setting('{BUMPED_SETTING}', true) IS DISTINCT FROM 'on' THEN "
            "UPDATE store_revision SET revision = revision + 1 WHERE id = 1; "
            f"PERFORM set_config('{BUMPED_SETTING}', 'on', true); "
            "END IF; RETURN NULL; END $$"
        )
    else:
        for table in TRACKED:
            for event in SQLITE_EVENTS:
                op.execute(
                    f"CREATE TRIGGER store_revision_{table}_{event} AFTER {event.upper()} ON {table} "
                    "FOR EACH ROW BEGIN "
                    "UPDATE store_revision SET revision = revision + 1 WHERE id = 1; END"
                )


def _drop_sqlite_triggers() -> None:
    for table in TRACKED:
        for event in SQLITE_EVENTS:
            op.execute(f"DROP TRIGGER IF EXISTS store_revision_{table}_{event}")
