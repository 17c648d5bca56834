"""The product store's tables, as SQLAlchemy 2.x Core ``Table`` objects.

Core rather than ORM classes: the store reads with plain column selects and
writes with executemany ``insert()``/``update()`` in batches, which is what
100k accounts need.  The schema itself is owned by the Alembic migrations in
``migrations/versions``; this module must describe the same columns (a test
compares the two).

Every product table is scoped by organization: it carries ``org_id`` and leads its keys with
it, so the same email in two organizations is two accounts and a directory id is unique within
its organization (docs/architecture.md, "Tenancy").  Every query filters on the organization the
store is opened for (:func:`connector.store.scope_org.org_of`).

Constraints hold what a database can hold of docs/contract.md:

* ``links``: one identity links to one account (primary key
  ``(org_id, directory_id, idp_user_id)``) and an account has at most one identity
  per directory (unique ``(org_id, directory_id, account_id)``);
* ``memberships``: an account is in a group once per source (primary key
  ``(org_id, group_id, account_id, source)``);
* ``groups``: a directory manages an IdP group through one product group
  (unique ``(org_id, directory_id, idp_group_id)``);
* ``verified_domains``: a domain is verified by one organization (its primary key is the domain).

The ``idp_*`` tables are the mirror of the last read of each directory
(:mod:`connector.rules.mirror`), kept for incremental runs.

``store_revision`` counts the writes to the tables planning reads; triggers
(migration 0002, not described here) bump it (:mod:`connector.store.revision`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON
from sqlalchemy import BigInteger
from sqlalchemy import Boolean
from sqlalchemy import Column
from sqlalchemy import DateTime
from sqlalchemy import ForeignKey
from sqlalchemy import ForeignKeyConstraint
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import MetaData
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy import false
from sqlalchemy import text

from connector.store.tenancy import connection_org

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)

ID = String(64)  # account and group ids: uuid4().hex, or an imported id
IDP_ID = String(255)  # IdP ids: Okta 20 chars, Graph GUIDs, SCIM ids of any shape
EMAIL = String(320)  # RFC 5321 limits: 64 + 1 + 255
ORG = String(64)  # an organization id: a slug

organizations = Table(
    "organizations",
    metadata,
    Column("org_id", ORG, primary_key=True, autoincrement=False),
    Column("name", String(255), nullable=False),
    # guard and sync settings that override the defaults (JSON object; {} when none)
    Column("settings", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
"""One row per organization (tenant); every other product table names its ``org_id``."""

verified_domains = Table(
    "verified_domains",
    metadata,
    # a domain is verified by one organization: the domain alone is the key
    Column("domain", String(255), primary_key=True),
    Column("org_id", ORG, ForeignKey("organizations.org_id"), nullable=False, default=connection_org),
    Index("ix_verified_domains_org_id", "org_id"),
)

product_grants = Table(
    "product_grants",
    metadata,
    Column("org_id", ORG, ForeignKey("organizations.org_id"), primary_key=True, default=connection_org),
    Column("product", String(128), primary_key=True),
    Column("group_name", String(255), primary_key=True),
)

directories = Table(
    "directories",
    metadata,
    Column("org_id", ORG, ForeignKey("organizations.org_id"), primary_key=True, default=connection_org),
    Column("directory_id", IDP_ID, primary_key=True),
    Column("provider", String(64), nullable=False),
    Column("cursor", Text, nullable=True),
    Column("last_full_read_at", DateTime(timezone=True), nullable=True),
    Column("last_good_user_count", Integer, nullable=True),
    Column("synced_before", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # the store revision as this directory's last applied run left it, and the digest of the
    # settings it planned with; NULL when unknown (connector.store.revision)
    Column("planned_revision", BigInteger, nullable=True),
    Column("planned_settings", Text, nullable=True),
    # the billing figures at planned_revision (JSON), NULL when not known (connector.store.revision)
    Column("planned_billing", Text, nullable=True),
    # the directory as data (``config apply``, ``directories add``): how it is reached. NULL for
    # one only a configuration file declares. ``secrets`` is sealed (connector.vault), never plain.
    Column("mode", String(8), nullable=False, server_default="pull"),
    Column("base_url", Text, nullable=True),
    Column("settings", JSON, nullable=True),
    Column("secrets", Text, nullable=True),
    Column("schedule", String(64), nullable=True),
    Column("disabled", Boolean, nullable=False, server_default=false()),
)

store_revision = Table(
    "store_revision",
    metadata,
    Column("org_id", ORG, primary_key=True),
    Column("revision", BigInteger, nullable=False),
)
"""One row per organization: a counter that triggers bump on every write to the tables planning
reads (connector.store.revision.TRACKED) of that organization; migrations 0002 and 0006 make the
triggers."""


def _directory() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["org_id", "directory_id"], ["directories.org_id", "directories.directory_id"]
    )


def _account() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(["org_id", "account_id"], ["accounts.org_id", "accounts.account_id"])


accounts = Table(
    "accounts",
    metadata,
    Column("org_id", ORG, ForeignKey("organizations.org_id"), primary_key=True, default=connection_org),
    Column("account_id", ID, primary_key=True),
    Column("email", EMAIL, nullable=False),
    Column("display_name", String(512), nullable=True),
    Column("given_name", String(255), nullable=True),
    Column("family_name", String(255), nullable=True),
    Column("status", String(16), nullable=False),
    Column("origin", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_accounts_org_id_email", "org_id", "email"),
)

links = Table(
    "links",
    metadata,
    Column("org_id", ORG, primary_key=True, default=connection_org),
    Column("directory_id", IDP_ID, primary_key=True),
    Column("idp_user_id", IDP_ID, primary_key=True),
    Column("account_id", ID, nullable=False),
    Column("missing_count", Integer, nullable=False, default=0),
    Column("idp_active", Boolean, nullable=False, default=True),
    Column("linked_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("org_id", "directory_id", "account_id"),
    Index("ix_links_org_id_account_id", "org_id", "account_id"),
    _directory(),
    _account(),
)

groups = Table(
    "groups",
    metadata,
    Column("org_id", ORG, ForeignKey("organizations.org_id"), primary_key=True, default=connection_org),
    Column("group_id", ID, primary_key=True),
    Column("name", String(255), nullable=False),
    Column("directory_id", IDP_ID, nullable=True),
    Column("idp_group_id", IDP_ID, nullable=True),
    Column("description", Text, nullable=True),
    Column("adopted", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("missing_count", Integer, nullable=False, default=0, server_default="0"),
    UniqueConstraint("org_id", "directory_id", "idp_group_id"),
    Index("ix_groups_org_id_name", "org_id", "name"),
    _directory(),
)

memberships = Table(
    "memberships",
    metadata,
    Column("org_id", ORG, primary_key=True, default=connection_org),
    Column("group_id", ID, primary_key=True),
    Column("account_id", ID, primary_key=True),
    Column("source", IDP_ID, primary_key=True),  # "local" or a directory_id
    Column("added_at", DateTime(timezone=True), nullable=False),
    Index("ix_memberships_org_id_account_id", "org_id", "account_id"),
    Index("ix_memberships_org_id_source", "org_id", "source"),
    ForeignKeyConstraint(["org_id", "group_id"], ["groups.org_id", "groups.group_id"]),
    _account(),
)

sync_runs = Table(
    "sync_runs",
    metadata,
    Column("run_id", Integer, primary_key=True, autoincrement=True),
    Column("org_id", ORG, ForeignKey("organizations.org_id"), nullable=False, default=connection_org),
    Column("directory_id", IDP_ID, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("dry_run", Boolean, nullable=False, default=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("outcome", String(32), nullable=False),
    Column("counts", JSON, nullable=False),
    Column("detail", Text, nullable=False, default=""),
    Index("ix_sync_runs_org_id_directory_id", "org_id", "directory_id"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("audit_id", Integer, primary_key=True, autoincrement=True),
    Column("org_id", ORG, ForeignKey("organizations.org_id"), nullable=False, default=connection_org),
    Column("run_id", Integer, ForeignKey("sync_runs.run_id"), nullable=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("action", String(32), nullable=False),
    Column("directory_id", IDP_ID, nullable=True),
    Column("target", String(512), nullable=False),  # what the change was done to
    Column("reason", Text, nullable=False),
    Column("outcome", String(16), nullable=False),  # applied | failed
    Column("error", Text, nullable=True),
    Column("change", JSON, nullable=False),
    Index("ix_audit_log_run_id", "run_id"),
    Index("ix_audit_log_org_id", "org_id"),
)

_ONLY_SET: dict[str, Any] = {
    "sqlite_where": text("loose_key IS NOT NULL"),
    "postgresql_where": text("loose_key IS NOT NULL"),
}

idp_users = Table(
    "idp_users",
    metadata,
    Column("org_id", ORG, primary_key=True, default=connection_org),
    Column("directory_id", IDP_ID, primary_key=True),
    Column("idp_user_id", IDP_ID, primary_key=True),
    Column("user_name", String(512), nullable=False),
    Column("email", EMAIL, nullable=True),
    Column("active", Boolean, nullable=False),
    Column("raw_status", String(64), nullable=False),
    Column("display_name", String(512), nullable=True),
    Column("given_name", String(255), nullable=True),
    Column("family_name", String(255), nullable=True),
    Column("other_emails", JSON, nullable=False),
    Column("is_guest", Boolean, nullable=False, default=False),
    Column("updated_at", String(40), nullable=True),  # ISO 8601, as the IdP said it
    # the email's matching key ("" when it has none, NULL when not worked out yet) and its
    # look-alike key where that differs (connector.store.address_keys)
    Column("match_key", EMAIL, nullable=True),
    Column("loose_key", EMAIL, nullable=True),
    # what a push directory looks users up by (migration 0009): the case-folded userName, the
    # client's externalId, and the enterprise extension as the client sent it (JSON text)
    Column("name_key", String(512), nullable=True),
    Column("external_id", String(512), nullable=True),
    Column("enterprise", Text, nullable=True),
    Index("ix_idp_users_match_key", "org_id", "directory_id", "match_key"),
    Index("ix_idp_users_loose_key", "org_id", "directory_id", "loose_key", **_ONLY_SET),
    Index("ix_idp_users_name_key", "org_id", "directory_id", "name_key"),
    Index("ix_idp_users_external_id", "org_id", "directory_id", "external_id"),
    _directory(),
)

account_keys = Table(
    "account_keys",
    metadata,
    # an account's address keys, worked out from ``email``; stale once that is not the account's
    Column("org_id", ORG, primary_key=True, default=connection_org),
    Column("account_id", ID, primary_key=True),
    Column("email", EMAIL, nullable=False),
    Column("match_key", EMAIL, nullable=False),
    Column("loose_key", EMAIL, nullable=True),
    Index("ix_account_keys_match_key", "org_id", "match_key"),
    Index("ix_account_keys_loose_key", "org_id", "loose_key", **_ONLY_SET),
)

idp_groups = Table(
    "idp_groups",
    metadata,
    Column("org_id", ORG, primary_key=True, default=connection_org),
    Column("directory_id", IDP_ID, primary_key=True),
    Column("idp_group_id", IDP_ID, primary_key=True),
    Column("name", String(255), nullable=False),
    Column("description", Text, nullable=True),
    Column("updated_at", String(40), nullable=True),
    Column("name_key", String(255), nullable=True),  # the case-folded name (migration 0009)
    Column("external_id", String(512), nullable=True),
    Index("ix_idp_groups_name_key", "org_id", "directory_id", "name_key"),
    Index("ix_idp_groups_external_id", "org_id", "directory_id", "external_id"),
    _directory(),
)

idp_members = Table(
    "idp_members",
    metadata,
    Column("org_id", ORG, primary_key=True, default=connection_org),
    Column("directory_id", IDP_ID, primary_key=True),
    Column("group_id", IDP_ID, primary_key=True),
    Column("member_id", IDP_ID, primary_key=True),
    Column("kind", String(8), primary_key=True),  # user | group
    # covering
    Index("ix_idp_members_member_id", "org_id", "directory_id", "member_id", "group_id", "kind"),
    _directory(),
)

conflicts = Table(
    "conflicts",
    metadata,
    Column("org_id", ORG, primary_key=True, default=connection_org),
    Column("directory_id", IDP_ID, primary_key=True),
    Column("idp_user_id", IDP_ID, primary_key=True),
    Column("kind", String(32), nullable=False),  # link | email_update
    Column("email", String(512), nullable=True),
    Column("reason", Text, nullable=False),
    Column("account_ids", JSON, nullable=False),
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Column("last_seen", DateTime(timezone=True), nullable=False),
    _directory(),
)
"""Open conflicts, one per identity (docs/contract.md, "Conflicts"): opened by the run that finds
one, brought up to date by every run that finds it again, closed (deleted) by the run that finds
its cause gone.  Not tracked by the store revision: it is the runs' report, kept."""

hand_unlinks = Table(
    "hand_unlinks",
    metadata,
    Column("org_id", ORG, primary_key=True, default=connection_org),
    Column("directory_id", IDP_ID, primary_key=True),
    Column("idp_user_id", IDP_ID, primary_key=True),
    Column("account_id", ID, primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    _directory(),
)
"""Identities an administrator unlinked from an account (``accounts unlink``): a sync never links
them again by email; only a hand-made link does (docs/contract.md, "3. Link")."""

push_tokens = Table(
    "push_tokens",
    metadata,
    Column("org_id", ORG, primary_key=True, default=connection_org),
    Column("directory_id", IDP_ID, primary_key=True),
    # the token's public part: ``idpc_<token_id>_<secret>`` names its row
    Column("token_id", String(32), primary_key=True),
    # SHA-256 (hex) of the whole token, bound to its organization and directory; never the token
    Column("hash", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # NULL: good until rotated or revoked; else the end of a rotation's overlap
    Column("expires_at", DateTime(timezone=True), nullable=True),
    _directory(),
)
"""The bearer tokens a push directory's IdP sends (connector.store.push_tokens): each a hash, shown
to the operator once when it was issued; rotation leaves the previous ones an overlap."""

staged_changes = Table(
    "staged_changes",
    metadata,
    Column("org_id", ORG, primary_key=True, default=connection_org),
    Column("directory_id", IDP_ID, primary_key=True),
    Column("idp_user_id", IDP_ID, primary_key=True),
    Column("account_id", ID, nullable=False),
    Column("state", String(16), nullable=False),  # staged | rejected
    Column("reason", Text, nullable=False),
    Column("staged_at", DateTime(timezone=True), nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=True),
    _directory(),
)
"""Deactivations the receiving guard holds (connector.store.staged, migration 0010): a push
directory's, beyond the guard's numbers within its window, until an admin decides them."""

EVENT_ID = String(36)  # a UUID version 7 as text: its order is the order of time

events = Table(
    "events",
    metadata,
    Column("org_id", ORG, ForeignKey("organizations.org_id"), primary_key=True, default=connection_org),
    Column("event_id", EVENT_ID, primary_key=True),
    Column("type", String(32), nullable=False),
    Column("directory_id", IDP_ID, nullable=True),
    Column("run_id", Integer, nullable=True),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("data", JSON, nullable=False),
)
"""The outbox (connector.store.outbox): each event written in the transaction of its change, read
in ``event_id`` order within an organization."""

event_retention = Table(
    "event_retention",
    metadata,
    Column("org_id", ORG, ForeignKey("organizations.org_id"), primary_key=True, default=connection_org),
    Column("pruned_through", EVENT_ID, nullable=False),
    Column("pruned_at", DateTime(timezone=True), nullable=False),
)
"""The newest event pruned per organization: a cursor before it is expired (connector.store.outbox)."""

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("org_id", ORG, ForeignKey("organizations.org_id"), primary_key=True, default=connection_org),
    Column("endpoint_id", String(32), primary_key=True),
    Column("url", Text, nullable=False),
    Column("secret", Text, nullable=False),  # sealed (connector.vault), never plain
    Column("types", JSON, nullable=False),  # the event types posted; [] for every type
    Column("allow_private", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # the last event delivered or dead-lettered; NULL before the first
    Column("position", EVENT_ID, nullable=True),
    Column("attempts", Integer, nullable=False),  # failed attempts at the event after ``position``
    Column("next_attempt_at", DateTime(timezone=True), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("lease_owner", String(64), nullable=True),
    Column("leased_until", DateTime(timezone=True), nullable=True),
)
"""Where an organization's events are posted (connector.store.webhooks), and how far delivery got."""

webhook_dead_letters = Table(
    "webhook_dead_letters",
    metadata,
    Column("org_id", ORG, ForeignKey("organizations.org_id"), primary_key=True, default=connection_org),
    Column("endpoint_id", String(32), primary_key=True),
    Column("event_id", EVENT_ID, primary_key=True),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text, nullable=True),
    Column("at", DateTime(timezone=True), nullable=False),
)
"""Events an endpoint never took, after the last attempt of the retry schedule."""

api_keys = Table(
    "api_keys",
    metadata,
    Column("org_id", ORG, ForeignKey("organizations.org_id"), primary_key=True, default=connection_org),
    Column("key_id", String(16), primary_key=True),
    Column("hash", String(64), nullable=False),  # SHA-256 of the key, bound to its organization
    Column("created_at", DateTime(timezone=True), nullable=False),
)
"""Keys of the served ``GET /events``, one organization's each (connector.store.api_keys)."""
