"""Events: the transactional outbox, its retention mark, webhook endpoints and API keys.

* ``events``: one row per change the product should learn of, written in the transaction of the
  change (:mod:`connector.store.outbox`); ``event_id`` is a time-ordered UUID (version 7) as text,
  so the primary key ``(org_id, event_id)`` is the order a consumer reads in.
* ``event_retention``: per organization, the newest event id pruned; a cursor before it has
  lost events and is refused ("cursor expired, resync") rather than silently skipping.
* ``webhook_endpoints``: where an organization's events are posted, the secret sealed with the
  vault, and the delivery position (the last event delivered or dead-lettered), the attempt
  count and the lease of the deliverer working on it (:mod:`connector.store.webhooks`).
* ``webhook_dead_letters``: events given up on after the last attempt, kept for ``replay``.
* ``api_keys``: per-organization keys of ``GET /events``, kept as a SHA-256 hash.

The downgrade drops the five tables.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _org() -> sa.Column:
    return sa.Column("org_id", sa.String(64), nullable=False)


def _to_organizations(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["org_id"], ["organizations.org_id"], name=f"fk_{table}_org_id_organizations"
    )


def upgrade() -> None:
    op.create_table(
        "events",
        _org(),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("directory_id", sa.String(255), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        _to_organizations("events"),
        sa.PrimaryKeyConstraint("org_id", "event_id", name="pk_events"),
    )
    op.create_table(
        "event_retention",
        _org(),
        sa.Column("pruned_through", sa.String(36), nullable=False),
        sa.Column("pruned_at", sa.DateTime(timezone=True), nullable=False),
        _to_organizations("event_retention"),
        sa.PrimaryKeyConstraint("org_id", name="pk_event_retention"),
    )
    op.create_table(
        "webhook_endpoints",
        _org(),
        sa.Column("endpoint_id", sa.String(32), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("types", sa.JSON(), nullable=False),
        sa.Column("allow_private", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("position", sa.String(36), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("leased_until", sa.DateTime(timezone=True), nullable=True),
        _to_organizations("webhook_endpoints"),
        sa.PrimaryKeyConstraint("org_id", "endpoint_id", name="pk_webhook_endpoints"),
    )
    op.create_table(
        "webhook_dead_letters",
        _org(),
        sa.Column("endpoint_id", sa.String(32), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        _to_organizations("webhook_dead_letters"),
        sa.PrimaryKeyConstraint("org_id", "endpoint_id", "event_id", name="pk_webhook_dead_letters"),
    )
    op.create_table(
        "api_keys",
        _org(),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _to_organizations("api_keys"),
        sa.PrimaryKeyConstraint("org_id", "key_id", name="pk_api_keys"),
    )


def downgrade() -> None:
    for table in ("api_keys", "webhook_dead_letters", "webhook_endpoints", "event_retention", "events"):
        op.drop_table(table)
