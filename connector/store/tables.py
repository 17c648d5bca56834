"""The product store's tables, as SQLAlchemy 2.x Core ``Table`` objects.

Core rather than ORM classes: the store reads with plain column selects and
writes with executemany ``insert()``/``update()`` in batches, which is what
100k accounts need.  The schema itself is owned by the Alembic migrations in
``migrations/versions``; this module must describe the same columns (a test
compares the two).

Constraints hold what a database can hold of docs/contract.md:

* ``links``: one identity links to one account (primary key
  ``(directory_id, idp_user_id)``) and an account has at most one identity
  per directory (unique ``(directory_id, account_id)``);
* ``memberships``: an account is in a group once per source (primary key
  ``(group_id, account_id, source)``);
* ``groups``: a directory manages an IdP group through one product group
  (unique ``(directory_id, idp_group_id)``).

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
from sqlalchemy import CheckConstraint
from sqlalchemy import Column
from sqlalchemy import DateTime
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import MetaData
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy import text

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

organization = Table(
    "organization",
    metadata,
    Column("org_id", Integer, primary_key=True),
    Column("name", String(255), nullable=False, default="default"),
)

verified_domains = Table(
    "verified_domains",
    metadata,
    Column("domain", String(255), primary_key=True),
)

product_grants = Table(
    "product_grants",
    metadata,
    Column("product", String(128), primary_key=True),
    Column("group_name", String(255), primary_key=True),
)

directories = Table(
    "directories",
    metadata,
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
)

store_revision = Table(
    "store_revision",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("revision", BigInteger, nullable=False),
    CheckConstraint("id = 1", name="one_row"),
)
"""One row (id 1): a counter that triggers bump on every write to the tables planning reads
(connector.store.revision.TRACKED); migration 0002 makes the row and the triggers."""

accounts = Table(
    "accounts",
    metadata,
    Column("account_id", ID, primary_key=True),
    Column("email", EMAIL, nullable=False),
    Column("display_name", String(512), nullable=True),
    Column("given_name", String(255), nullable=True),
    Column("family_name", String(255), nullable=True),
    Column("status", String(16), nullable=False),
    Column("origin", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_accounts_email", "email"),
)

links = Table(
    "links",
    metadata,
    Column("directory_id", IDP_ID, ForeignKey("directories.directory_id"), primary_key=True),
    Column("idp_user_id", IDP_ID, primary_key=True),
    Column("account_id", ID, ForeignKey("accounts.account_id"), nullable=False),
    Column("missing_count", Integer, nullable=False, default=0),
    Column("idp_active", Boolean, nullable=False, default=True),
    Column("linked_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("directory_id", "account_id"),
    Index("ix_links_account_id", "account_id"),
)

groups = Table(
    "groups",
    metadata,
    Column("group_id", ID, primary_key=True),
    Column("name", String(255), nullable=False),
    Column("directory_id", IDP_ID, ForeignKey("directories.directory_id"), nullable=True),
    Column("idp_group_id", IDP_ID, nullable=True),
    Column("description", Text, nullable=True),
    Column("adopted", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("missing_count", Integer, nullable=False, default=0, server_default="0"),
    UniqueConstraint("directory_id", "idp_group_id"),
    Index("ix_groups_name", "name"),
)

memberships = Table(
    "memberships",
    metadata,
    Column("group_id", ID, ForeignKey("groups.group_id"), primary_key=True),
    Column("account_id", ID, ForeignKey("accounts.account_id"), primary_key=True),
    Column("source", IDP_ID, primary_key=True),  # "local" or a directory_id
    Column("added_at", DateTime(timezone=True), nullable=False),
    Index("ix_memberships_account_id", "account_id"),
    Index("ix_memberships_source", "source"),
)

sync_runs = Table(
    "sync_runs",
    metadata,
    Column("run_id", Integer, primary_key=True, autoincrement=True),
    Column("directory_id", IDP_ID, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("dry_run", Boolean, nullable=False, default=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("outcome", String(32), nullable=False),
    Column("counts", JSON, nullable=False),
    Column("detail", Text, nullable=False, default=""),
    Index("ix_sync_runs_directory_id", "directory_id"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("audit_id", Integer, primary_key=True, autoincrement=True),
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
)

_ONLY_SET: dict[str, Any] = {
    "sqlite_where": text("loose_key IS NOT NULL"),
    "postgresql_where": text("loose_key IS NOT NULL"),
}

idp_users = Table(
    "idp_users",
    metadata,
    Column("directory_id", IDP_ID, ForeignKey("directories.directory_id"), primary_key=True),
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
    Index("ix_idp_users_match_key", "directory_id", "match_key"),
    Index("ix_idp_users_loose_key", "directory_id", "loose_key", **_ONLY_SET),
)

account_keys = Table(
    "account_keys",
    metadata,
    # an account's address keys, worked out from ``email``; stale once that is not the account's
    Column("account_id", ID, primary_key=True),
    Column("email", EMAIL, nullable=False),
    Column("match_key", EMAIL, nullable=False),
    Column("loose_key", EMAIL, nullable=True),
    Index("ix_account_keys_match_key", "match_key"),
    Index("ix_account_keys_loose_key", "loose_key", **_ONLY_SET),
)

idp_groups = Table(
    "idp_groups",
    metadata,
    Column("directory_id", IDP_ID, ForeignKey("directories.directory_id"), primary_key=True),
    Column("idp_group_id", IDP_ID, primary_key=True),
    Column("name", String(255), nullable=False),
    Column("description", Text, nullable=True),
    Column("updated_at", String(40), nullable=True),
)

idp_members = Table(
    "idp_members",
    metadata,
    Column("directory_id", IDP_ID, ForeignKey("directories.directory_id"), primary_key=True),
    Column("group_id", IDP_ID, primary_key=True),
    Column("member_id", IDP_ID, primary_key=True),
    Column("kind", String(8), primary_key=True),  # user | group
    Index("ix_idp_members_member_id", "directory_id", "member_id", "group_id", "kind"),  # covering
)

conflicts = Table(
    "conflicts",
    metadata,
    Column("directory_id", IDP_ID, ForeignKey("directories.directory_id"), primary_key=True),
    Column("idp_user_id", IDP_ID, primary_key=True),
    Column("kind", String(32), nullable=False),  # link | email_update
    Column("email", String(512), nullable=True),
    Column("reason", Text, nullable=False),
    Column("account_ids", JSON, nullable=False),
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Column("last_seen", DateTime(timezone=True), nullable=False),
)
"""Open conflicts, one per identity (docs/contract.md, "Conflicts"): opened by the run that finds
one, brought up to date by every run that finds it again, closed (deleted) by the run that finds
its cause gone.  Not tracked by the store revision: it is the runs' report, kept."""

hand_unlinks = Table(
    "hand_unlinks",
    metadata,
    Column("directory_id", IDP_ID, ForeignKey("directories.directory_id"), primary_key=True),
    Column("idp_user_id", IDP_ID, primary_key=True),
    Column("account_id", ID, primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
)
"""Identities an administrator unlinked from an account (``accounts unlink``): a sync never links
them again by email; only a hand-made link does (docs/contract.md, "3. Link")."""
