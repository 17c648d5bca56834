"""The first schema: organization, directories, accounts, links, groups,
memberships, runs, audit log and the mirror of the last IdP read.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = sa.String(64)
IDP_ID = sa.String(255)
EMAIL = sa.String(320)


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "organization",
        sa.Column("org_id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("org_id", name="pk_organization"),
    )
    op.create_table(
        "verified_domains",
        sa.Column("domain", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("domain", name="pk_verified_domains"),
    )
    op.create_table(
        "product_grants",
        sa.Column("product", sa.String(128), nullable=False),
        sa.Column("group_name", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("product", "group_name", name="pk_product_grants"),
    )
    op.create_table(
        "directories",
        sa.Column("directory_id", IDP_ID, nullable=False),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("cursor", sa.Text, nullable=True),
        _ts("last_full_read_at", nullable=True),
        sa.Column("last_good_user_count", sa.Integer, nullable=True),
        sa.Column("synced_before", sa.Boolean, nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("directory_id", name="pk_directories"),
    )
    op.create_table(
        "accounts",
        sa.Column("account_id", ID, nullable=False),
        sa.Column("email", EMAIL, nullable=False),
        sa.Column("display_name", sa.String(512), nullable=True),
        sa.Column("given_name", sa.String(255), nullable=True),
        sa.Column("family_name", sa.String(255), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("account_id", name="pk_accounts"),
    )
    op.create_index("ix_accounts_email", "accounts", ["email"])
    op.create_table(
        "links",
        sa.Column("directory_id", IDP_ID, nullable=False),
        sa.Column("idp_user_id", IDP_ID, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("missing_count", sa.Integer, nullable=False),
        sa.Column("idp_active", sa.Boolean, nullable=False),
        _ts("linked_at"),
        sa.PrimaryKeyConstraint("directory_id", "idp_user_id", name="pk_links"),
        sa.UniqueConstraint("directory_id", "account_id", name="uq_links_directory_id_account_id"),
        sa.ForeignKeyConstraint(
            ["directory_id"], ["directories.directory_id"], name="fk_links_directory_id_directories"
        ),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.account_id"], name="fk_links_account_id_accounts"),
    )
    op.create_index("ix_links_account_id", "links", ["account_id"])
    op.create_table(
        "groups",
        sa.Column("group_id", ID, nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("directory_id", IDP_ID, nullable=True),
        sa.Column("idp_group_id", IDP_ID, nullable=True),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("adopted", sa.Boolean, nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("group_id", name="pk_groups"),
        sa.UniqueConstraint("directory_id", "idp_group_id", name="uq_groups_directory_id_idp_group_id"),
        sa.ForeignKeyConstraint(
            ["directory_id"], ["directories.directory_id"], name="fk_groups_directory_id_directories"
        ),
    )
    op.create_index("ix_groups_name", "groups", ["name"])
    op.create_table(
        "memberships",
        sa.Column("group_id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("source", IDP_ID, nullable=False),
        _ts("added_at"),
        sa.PrimaryKeyConstraint("group_id", "account_id", "source", name="pk_memberships"),
        sa.ForeignKeyConstraint(["group_id"], ["groups.group_id"], name="fk_memberships_group_id_groups"),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.account_id"], name="fk_memberships_account_id_accounts"
        ),
    )
    op.create_index("ix_memberships_account_id", "memberships", ["account_id"])
    op.create_index("ix_memberships_source", "memberships", ["source"])
    op.create_table(
        "sync_runs",
        sa.Column("run_id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("directory_id", IDP_ID, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("dry_run", sa.Boolean, nullable=False),
        _ts("started_at"),
        _ts("finished_at", nullable=True),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("counts", sa.JSON, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("run_id", name="pk_sync_runs"),
    )
    op.create_index("ix_sync_runs_directory_id", "sync_runs", ["directory_id"])
    op.create_table(
        "audit_log",
        sa.Column("audit_id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Integer, nullable=True),
        _ts("at"),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("directory_id", IDP_ID, nullable=True),
        sa.Column("target", sa.String(512), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("change", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("audit_id", name="pk_audit_log"),
        sa.ForeignKeyConstraint(["run_id"], ["sync_runs.run_id"], name="fk_audit_log_run_id_sync_runs"),
    )
    op.create_index("ix_audit_log_run_id", "audit_log", ["run_id"])
    op.create_table(
        "idp_users",
        sa.Column("directory_id", IDP_ID, nullable=False),
        sa.Column("idp_user_id", IDP_ID, nullable=False),
        sa.Column("user_name", sa.String(512), nullable=False),
        sa.Column("email", EMAIL, nullable=True),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("raw_status", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(512), nullable=True),
        sa.Column("given_name", sa.String(255), nullable=True),
        sa.Column("family_name", sa.String(255), nullable=True),
        sa.Column("other_emails", sa.JSON, nullable=False),
        sa.Column("is_guest", sa.Boolean, nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=True),
        sa.PrimaryKeyConstraint("directory_id", "idp_user_id", name="pk_idp_users"),
        sa.ForeignKeyConstraint(
            ["directory_id"], ["directories.directory_id"], name="fk_idp_users_directory_id_directories"
        ),
    )
    op.create_table(
        "idp_groups",
        sa.Column("directory_id", IDP_ID, nullable=False),
        sa.Column("idp_group_id", IDP_ID, nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("updated_at", sa.String(40), nullable=True),
        sa.PrimaryKeyConstraint("directory_id", "idp_group_id", name="pk_idp_groups"),
        sa.ForeignKeyConstraint(
            ["directory_id"], ["directories.directory_id"], name="fk_idp_groups_directory_id_directories"
        ),
    )
    op.create_table(
        "idp_members",
        sa.Column("directory_id", IDP_ID, nullable=False),
        sa.Column("group_id", IDP_ID, nullable=False),
        sa.Column("member_id", IDP_ID, nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.PrimaryKeyConstraint("directory_id", "group_id", "member_id", "kind", name="pk_idp_members"),
        sa.ForeignKeyConstraint(
            ["directory_id"], ["directories.directory_id"], name="fk_idp_members_directory_id_directories"
        ),
    )


def downgrade() -> None:
    for index, table in (
        ("ix_audit_log_run_id", "audit_log"),
        ("ix_sync_runs_directory_id", "sync_runs"),
        ("ix_memberships_source", "memberships"),
        ("ix_memberships_account_id", "memberships"),
        ("ix_groups_name", "groups"),
        ("ix_links_account_id", "links"),
        ("ix_accounts_email", "accounts"),
    ):
        op.drop_index(index, table_name=table)
    for table in (
        "idp_members",
        "idp_groups",
        "idp_users",
        "audit_log",
        "sync_runs",
        "memberships",
        "groups",
        "links",
        "accounts",
        "directories",
        "product_grants",
        "verified_domains",
        "organization",
    ):
        op.drop_table(table)
