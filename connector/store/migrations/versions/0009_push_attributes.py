"""What a push directory looks its mirror up by, and the SCIM attributes it keeps.

``idp_users`` and ``idp_groups`` gain ``name_key`` (the case-folded userName or group name: SCIM
compares them without regard to case, and a push directory answers ``userName eq`` and keeps
names unique by it) and ``external_id`` (the client's ``externalId``, an attribute, never an
id), each indexed within its directory; ``idp_users`` gains ``enterprise`` (the enterprise user
extension as the client sent it).  ``name_key`` is filled for the rows already there.  The
downgrade drops the columns: the pushed externalIds and extensions are gone with them.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

FILL_BATCH = 5000
"""Rows whose ``name_key`` is filled per UPDATE statement batch."""


def _fill(table: str, key: str, name: str) -> None:
    """Fill ``name_key`` from the name, in batches (casefold is Python's, not the database's)."""
    conn = op.get_bind()
    rows = conn.execute(sa.text(f"SELECT org_id, directory_id, {key}, {name} FROM {table}")).fetchall()
    update = sa.text(
        f"UPDATE {table} SET name_key = :k WHERE org_id = :o AND directory_id = :d AND {key} = :i"
    )
    for start in range(0, len(rows), FILL_BATCH):
        chunk = rows[start : start + FILL_BATCH]
        conn.execute(update, [{"k": r[3].casefold(), "o": r[0], "d": r[1], "i": r[2]} for r in chunk])


def upgrade() -> None:
    op.add_column("idp_users", sa.Column("name_key", sa.String(512), nullable=True))
    op.add_column("idp_users", sa.Column("external_id", sa.String(512), nullable=True))
    op.add_column("idp_users", sa.Column("enterprise", sa.Text, nullable=True))
    op.add_column("idp_groups", sa.Column("name_key", sa.String(255), nullable=True))
    op.add_column("idp_groups", sa.Column("external_id", sa.String(512), nullable=True))
    _fill("idp_users", "idp_user_id", "user_name")
    _fill("idp_groups", "idp_group_id", "name")
    for table in ("idp_users", "idp_groups"):
        for column in ("name_key", "external_id"):
            op.create_index(f"ix_{table}_{column}", table, ["org_id", "directory_id", column])


def downgrade() -> None:
    for table in ("idp_users", "idp_groups"):
        for column in ("name_key", "external_id"):
            op.drop_index(f"ix_{table}_{column}", table_name=table)
    # in place (SQLite 3.35+): a batch copy would drop the revision triggers and trip foreign keys
    for column in ("enterprise", "external_id", "name_key"):
        op.execute(f"ALTER TABLE idp_users DROP COLUMN {column}")
    for column in ("external_id", "name_key"):
        op.execute(f"ALTER TABLE idp_groups DROP COLUMN {column}")
