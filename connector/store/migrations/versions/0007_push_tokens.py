"""Push tokens: the bearer tokens an IdP sends to a push directory (``push_tokens``).

Each row is one token of one directory of one organization, kept as a SHA-256 hash of the
token (never the token itself), with when it was issued and, after a rotation, when it stops
working (:mod:`connector.store.push_tokens`).  The downgrade drops the table: the tokens are
gone, and each push directory needs a new one after the next upgrade.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "push_tokens",
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("directory_id", sa.String(255), nullable=False),
        sa.Column("token_id", sa.String(32), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id", "directory_id"],
            ["directories.org_id", "directories.directory_id"],
            name="fk_push_tokens_org_id_directories",
        ),
        sa.PrimaryKeyConstraint("org_id", "directory_id", "token_id", name="pk_push_tokens"),
    )


def downgrade() -> None:
    op.drop_table("push_tokens")
