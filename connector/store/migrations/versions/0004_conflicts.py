"""Conflicts as state: the ``conflicts`` table, one open conflict per identity of a directory;
``hand_unlinks``, the identities an administrator unlinked from an account by hand; and
``groups.missing_count``, the full reads in a row that missed a managed group's IdP group.
The look-alike keys kept beside identities and accounts are worked out again (the runs fill
them in where missing): ``İ`` now looks like the ``i`` it is.

A run that finds a conflict opens it (``first_seen``) or brings it up to date (``last_seen``,
its reason and accounts); a run that decides the identity again and finds no conflict closes it.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM account_keys")
    op.execute("UPDATE idp_users SET match_key = NULL, loose_key = NULL")
    op.add_column("groups", sa.Column("missing_count", sa.Integer, nullable=False, server_default="0"))
    op.create_table(
        "conflicts",
        sa.Column("directory_id", sa.String(255), nullable=False),
        sa.Column("idp_user_id", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("email", sa.String(512), nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("account_ids", sa.JSON, nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["directory_id"],
            ["directories.directory_id"],
            name="fk_conflicts_directory_id_directories",
        ),
        sa.PrimaryKeyConstraint("directory_id", "idp_user_id", name="pk_conflicts"),
    )
    op.create_table(
        "hand_unlinks",
        sa.Column("directory_id", sa.String(255), nullable=False),
        sa.Column("idp_user_id", sa.String(255), nullable=False),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["directory_id"],
            ["directories.directory_id"],
            name="fk_hand_unlinks_directory_id_directories",
        ),
        sa.PrimaryKeyConstraint("directory_id", "idp_user_id", "account_id", name="pk_hand_unlinks"),
    )


def downgrade() -> None:
    op.execute("ALTER TABLE groups DROP COLUMN missing_count")
    op.drop_table("hand_unlinks")
    op.drop_table("conflicts")
