"""Staged deactivations: what the receiving guard holds of a push directory (``staged_changes``).

One row per identity whose account a push would have deactivated beyond the guard's numbers
within its window: held (``staged``) until an admin approves it (the row goes and the account
is deactivated) or rejects it (``rejected``: the account stays active until the IdP says the
user is active again).  :mod:`connector.store.staged`.  The downgrade drops the table: what was
held is then deactivated by the directory's next whole plan.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staged_changes",
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("directory_id", sa.String(255), nullable=False),
        sa.Column("idp_user_id", sa.String(255), nullable=False),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("staged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id", "directory_id"],
            ["directories.org_id", "directories.directory_id"],
            name="fk_staged_changes_org_id_directories",
        ),
        sa.PrimaryKeyConstraint("org_id", "directory_id", "idp_user_id", name="pk_staged_changes"),
    )


def downgrade() -> None:
    op.drop_table("staged_changes")
