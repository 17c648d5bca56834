"""Address keys kept beside the mirror's users and the accounts, so a run that plans only
what changed can find every identity and account an address could link to by index
(``connector.scoped``) instead of parsing the whole organization's addresses.

``idp_users`` gains ``match_key`` and ``loose_key``, the matching and look-alike keys
of its ``email``: ``match_key`` is ``""`` when the address is missing or invalid and NULL
when not worked out yet; ``loose_key`` is NULL where it equals ``match_key`` (always for
an ASCII address), and only the rows that have one are in its index.  ``account_keys``
holds the same two keys per account, for the email they were worked out from: a row
whose ``email`` is no longer the account's is stale and is worked out again.  Neither is
tracked by the store revision: both are the connector's own caches.

``directories.planned_billing`` keeps the billing figures as the directory's last run left
the store (valid while ``planned_revision`` is the store's), so a run that plans only what
changed need not count the whole organization again.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


_ONLY_SET = {
    "sqlite_where": sa.text("loose_key IS NOT NULL"),
    "postgresql_where": sa.text("loose_key IS NOT NULL"),
}
"""A look-alike key is stored only where it differs from the matching key (never for an ASCII
address), so its index holds only those rows."""


def upgrade() -> None:
    op.add_column("directories", sa.Column("planned_billing", sa.Text, nullable=True))
    op.add_column("idp_users", sa.Column("match_key", sa.String(320), nullable=True))
    op.add_column("idp_users", sa.Column("loose_key", sa.String(320), nullable=True))
    op.create_index("ix_idp_users_match_key", "idp_users", ["directory_id", "match_key"])
    op.create_index("ix_idp_users_loose_key", "idp_users", ["directory_id", "loose_key"], **_ONLY_SET)
    op.create_table(
        "account_keys",
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("match_key", sa.String(320), nullable=False),
        sa.Column("loose_key", sa.String(320), nullable=True),
        sa.PrimaryKeyConstraint("account_id", name="pk_account_keys"),
    )
    op.create_index("ix_account_keys_match_key", "account_keys", ["match_key"])
    op.create_index("ix_account_keys_loose_key", "account_keys", ["loose_key"], **_ONLY_SET)
    # covering, so SQLite prefers it to the primary key for look-ups by member
    op.create_index(
        "ix_idp_members_member_id", "idp_members", ["directory_id", "member_id", "group_id", "kind"]
    )


def downgrade() -> None:
    # in place (SQLite 3.35+): a batch copy of directories would trip the foreign keys naming it
    op.execute("ALTER TABLE directories DROP COLUMN planned_billing")
    op.drop_index("ix_idp_members_member_id", table_name="idp_members")
    op.drop_table("account_keys")
    op.drop_index("ix_idp_users_loose_key", table_name="idp_users")
    op.drop_index("ix_idp_users_match_key", table_name="idp_users")
    for column in ("loose_key", "match_key"):
        op.execute(f"ALTER TABLE idp_users DROP COLUMN {column}")
