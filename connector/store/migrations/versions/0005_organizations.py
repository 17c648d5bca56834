"""Organizations as data: every product table carries ``org_id`` and leads its keys with it.

``organization`` (one row, an integer id) becomes ``organizations`` (one row per organization,
its id a slug).  A store made before holds one organization; it gets the id the upgrade is given
(``Store.open(url, org=...)``: the configuration's ``organization.id``), ``default`` when none.
``verified_domains`` keeps the domain as its key (a domain is verified by one organization) and
names its organization; ``directories`` is keyed ``(org_id, directory_id)`` and gains the columns
that make a directory data (mode, base URL, settings, sealed secrets, schedule, disabled).

Every table is rebuilt: its rows are copied aside, the table is made again in the new shape and
the rows come back with their organization.  The store revision's triggers (migration 0002) go
with the old tables and are made again on the new ones.  A downgrade does the reverse, and
refuses a store that holds more than one organization (the old shape cannot tell them apart).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from datetime import timezone

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
ID = sa.String(64)
IDP_ID = sa.String(255)
EMAIL = sa.String(320)
ORG = sa.String(64)

ORDER = (
    "verified_domains",
    "product_grants",
    "directories",
    "accounts",
    "links",
    "groups",
    "memberships",
    "sync_runs",
    "audit_log",
    "idp_users",
    "account_keys",
    "idp_groups",
    "idp_members",
    "conflicts",
    "hand_unlinks",
)
"""The rebuilt tables, parents before children (the organization table comes first)."""

TRACKED_BEFORE = (
    "organization",
    "verified_domains",
    "product_grants",
    "accounts",
    "links",
    "groups",
    "memberships",
)
TRACKED_AFTER = ("organizations", *TRACKED_BEFORE[1:])
BUMP_FUNCTION = "store_revision_bump"
SQLITE_EVENTS = ("insert", "update", "delete")

_ONLY_SET = {
    "sqlite_where": sa.text("loose_key IS NOT NULL"),
    "postgresql_where": sa.text("loose_key IS NOT NULL"),
}


def _shape(scoped: bool) -> sa.MetaData:
    """The product tables after this migration (``scoped``) or before it."""
    md = sa.MetaData(naming_convention=NAMING)

    def org(primary: bool = True, parent: bool = False) -> list[sa.SchemaItem]:
        if not scoped:
            return []
        if parent:
            return [
                sa.Column(
                    "org_id", ORG, sa.ForeignKey("organizations.org_id"), primary_key=primary, nullable=False
                )
            ]
        return [sa.Column("org_id", ORG, primary_key=primary, nullable=False)]

    def keyed(*columns: str) -> list[str]:
        return ["org_id", *columns] if scoped else list(columns)

    def fk(columns: list[str], table: str, remote: list[str]) -> sa.ForeignKeyConstraint:
        return sa.ForeignKeyConstraint(keyed(*columns), [f"{table}.{c}" for c in keyed(*remote)])

    def ts(name: str, nullable: bool = False) -> sa.Column:
        return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)

    if scoped:
        sa.Table(
            "organizations",
            md,
            sa.Column("org_id", ORG, primary_key=True),
            sa.Column("name", sa.String(255), nullable=False),
            sa.Column("settings", sa.JSON, nullable=False),
            ts("created_at"),
        )
        sa.Table(
            "verified_domains",
            md,
            sa.Column("domain", sa.String(255), primary_key=True),
            sa.Column("org_id", ORG, sa.ForeignKey("organizations.org_id"), nullable=False),
            sa.Index("ix_verified_domains_org_id", "org_id"),
        )
    else:
        sa.Table(
            "organization",
            md,
            sa.Column("org_id", sa.Integer, primary_key=True, autoincrement=False),
            sa.Column("name", sa.String(255), nullable=False),
        )
        sa.Table("verified_domains", md, sa.Column("domain", sa.String(255), primary_key=True))
    sa.Table(
        "product_grants",
        md,
        *org(parent=True),
        sa.Column("product", sa.String(128), primary_key=True),
        sa.Column("group_name", sa.String(255), primary_key=True),
    )
    directory_data = [
        sa.Column("mode", sa.String(8), nullable=False, server_default="pull"),
        sa.Column("base_url", sa.Text, nullable=True),
        sa.Column("settings", sa.JSON, nullable=True),
        sa.Column("secrets", sa.Text, nullable=True),
        sa.Column("schedule", sa.String(64), nullable=True),
        sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
    ]
    sa.Table(
        "directories",
        md,
        *org(parent=True),
        sa.Column("directory_id", IDP_ID, primary_key=True),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("cursor", sa.Text, nullable=True),
        ts("last_full_read_at", nullable=True),
        sa.Column("last_good_user_count", sa.Integer, nullable=True),
        sa.Column("synced_before", sa.Boolean, nullable=False),
        ts("created_at"),
        sa.Column("planned_revision", sa.BigInteger, nullable=True),
        sa.Column("planned_settings", sa.Text, nullable=True),
        sa.Column("planned_billing", sa.Text, nullable=True),
        *(directory_data if scoped else []),
    )
    sa.Table(
        "accounts",
        md,
        *org(parent=True),
        sa.Column("account_id", ID, primary_key=True),
        sa.Column("email", EMAIL, nullable=False),
        sa.Column("display_name", sa.String(512), nullable=True),
        sa.Column("given_name", sa.String(255), nullable=True),
        sa.Column("family_name", sa.String(255), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        ts("created_at"),
        ts("updated_at"),
        sa.Index(None, *keyed("email")),
    )
    sa.Table(
        "links",
        md,
        *org(),
        sa.Column("directory_id", IDP_ID, primary_key=True),
        sa.Column("idp_user_id", IDP_ID, primary_key=True),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("missing_count", sa.Integer, nullable=False),
        sa.Column("idp_active", sa.Boolean, nullable=False),
        ts("linked_at"),
        sa.UniqueConstraint(*keyed("directory_id", "account_id")),
        sa.Index(None, *keyed("account_id")),
        fk(["directory_id"], "directories", ["directory_id"]),
        fk(["account_id"], "accounts", ["account_id"]),
    )
    sa.Table(
        "groups",
        md,
        *org(parent=True),
        sa.Column("group_id", ID, primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("directory_id", IDP_ID, nullable=True),
        sa.Column("idp_group_id", IDP_ID, nullable=True),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("adopted", sa.Boolean, nullable=False),
        ts("created_at"),
        sa.Column("missing_count", sa.Integer, nullable=False, server_default="0"),
        sa.UniqueConstraint(*keyed("directory_id", "idp_group_id")),
        sa.Index(None, *keyed("name")),
        fk(["directory_id"], "directories", ["directory_id"]),
    )
    sa.Table(
        "memberships",
        md,
        *org(),
        sa.Column("group_id", ID, primary_key=True),
        sa.Column("account_id", ID, primary_key=True),
        sa.Column("source", IDP_ID, primary_key=True),
        ts("added_at"),
        sa.Index(None, *keyed("account_id")),
        sa.Index(None, *keyed("source")),
        fk(["group_id"], "groups", ["group_id"]),
        fk(["account_id"], "accounts", ["account_id"]),
    )
    sa.Table(
        "sync_runs",
        md,
        sa.Column("run_id", sa.Integer, primary_key=True, autoincrement=True),
        *org(primary=False, parent=True),
        sa.Column("directory_id", IDP_ID, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("dry_run", sa.Boolean, nullable=False),
        ts("started_at"),
        ts("finished_at", nullable=True),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("counts", sa.JSON, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Index(None, *keyed("directory_id")),
    )
    sa.Table(
        "audit_log",
        md,
        sa.Column("audit_id", sa.Integer, primary_key=True, autoincrement=True),
        *org(primary=False, parent=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("sync_runs.run_id"), nullable=True),
        ts("at"),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("directory_id", IDP_ID, nullable=True),
        sa.Column("target", sa.String(512), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("change", sa.JSON, nullable=False),
        sa.Index(None, "run_id"),
        *([sa.Index(None, "org_id")] if scoped else []),
    )
    sa.Table(
        "idp_users",
        md,
        *org(),
        sa.Column("directory_id", IDP_ID, primary_key=True),
        sa.Column("idp_user_id", IDP_ID, primary_key=True),
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
        sa.Column("match_key", EMAIL, nullable=True),
        sa.Column("loose_key", EMAIL, nullable=True),
        sa.Index("ix_idp_users_match_key", *keyed("directory_id", "match_key")),
        sa.Index("ix_idp_users_loose_key", *keyed("directory_id", "loose_key"), **_ONLY_SET),
        fk(["directory_id"], "directories", ["directory_id"]),
    )
    sa.Table(
        "account_keys",
        md,
        *org(),
        sa.Column("account_id", ID, primary_key=True),
        sa.Column("email", EMAIL, nullable=False),
        sa.Column("match_key", EMAIL, nullable=False),
        sa.Column("loose_key", EMAIL, nullable=True),
        sa.Index("ix_account_keys_match_key", *keyed("match_key")),
        sa.Index("ix_account_keys_loose_key", *keyed("loose_key"), **_ONLY_SET),
    )
    sa.Table(
        "idp_groups",
        md,
        *org(),
        sa.Column("directory_id", IDP_ID, primary_key=True),
        sa.Column("idp_group_id", IDP_ID, primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("updated_at", sa.String(40), nullable=True),
        fk(["directory_id"], "directories", ["directory_id"]),
    )
    sa.Table(
        "idp_members",
        md,
        *org(),
        sa.Column("directory_id", IDP_ID, primary_key=True),
        sa.Column("group_id", IDP_ID, primary_key=True),
        sa.Column("member_id", IDP_ID, primary_key=True),
        sa.Column("kind", sa.String(8), primary_key=True),
        sa.Index("ix_idp_members_member_id", *keyed("directory_id", "member_id", "group_id", "kind")),
        fk(["directory_id"], "directories", ["directory_id"]),
    )
    sa.Table(
        "conflicts",
        md,
        *org(),
        sa.Column("directory_id", IDP_ID, primary_key=True),
        sa.Column("idp_user_id", IDP_ID, primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("email", sa.String(512), nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("account_ids", sa.JSON, nullable=False),
        ts("first_seen"),
        ts("last_seen"),
        fk(["directory_id"], "directories", ["directory_id"]),
    )
    sa.Table(
        "hand_unlinks",
        md,
        *org(),
        sa.Column("directory_id", IDP_ID, primary_key=True),
        sa.Column("idp_user_id", IDP_ID, primary_key=True),
        sa.Column("account_id", ID, primary_key=True),
        ts("at"),
        fk(["directory_id"], "directories", ["directory_id"]),
    )
    return md


def upgrade() -> None:
    bind = op.get_bind()
    org_id = op.get_context().config.attributes.get("organization_id") or "default"
    name = bind.execute(sa.text("SELECT name FROM organization ORDER BY org_id")).scalar()
    _rebuild(
        bind,
        _shape(scoped=True),
        old_org_table="organization",
        copy=lambda table, columns: (
            f"INSERT INTO {table} ({', '.join(columns)}, org_id) "
            f"SELECT {', '.join(columns)}, :org FROM old_{table}"
        ),
        org_id=org_id,
        before_copy=lambda: bind.execute(
            sa.text(
                "INSERT INTO organizations (org_id, name, settings, created_at) VALUES (:o, :n, '{}', :t)"
            ),
            {"o": org_id, "n": name or org_id, "t": datetime.now(timezone.utc)},
        ),
    )
    _triggers(bind, TRACKED_AFTER)


def downgrade() -> None:
    bind = op.get_bind()
    orgs = bind.execute(sa.text("SELECT org_id, name FROM organizations ORDER BY org_id")).all()
    if len(orgs) > 1:
        raise RuntimeError(
            f"the store holds {len(orgs)} organizations; the schema before 0005 holds one: "
            "move the others to stores of their own first"
        )
    _rebuild(
        bind,
        _shape(scoped=False),
        old_org_table="organizations",
        copy=lambda table, columns: (
            f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(columns)} FROM old_{table}"
        ),
        org_id=None,
        before_copy=lambda: (
            orgs
            and bind.execute(
                sa.text("INSERT INTO organization (org_id, name) VALUES (1, :n)"), {"n": orgs[0].name}
            )
        ),
    )
    _triggers(bind, TRACKED_BEFORE)


def _rebuild(
    bind: sa.Connection,
    shape: sa.MetaData,
    *,
    old_org_table: str,
    copy: Callable[[str, list[str]], str],
    org_id: str | None,
    before_copy: Callable[[], object],
) -> None:
    """Copy each table aside, drop it, make it in ``shape``, and copy its rows back."""
    for table in ORDER:
        bind.execute(sa.text(f"CREATE TEMPORARY TABLE old_{table} AS SELECT * FROM {table}"))
    for table in reversed(ORDER):
        bind.execute(sa.text(f"DROP TABLE {table}"))
    bind.execute(sa.text(f"DROP TABLE {old_org_table}"))
    shape.create_all(bind)
    before_copy()
    for table in ORDER:
        columns = [c.name for c in shape.tables[table].columns if c.name != "org_id"]
        old_columns = _columns_of(bind, f"old_{table}")
        columns = [c for c in columns if c in old_columns]
        bind.execute(sa.text(copy(table, columns)), {"org": org_id} if org_id is not None else {})
        bind.execute(sa.text(f"DROP TABLE old_{table}"))
    if bind.dialect.name == "postgresql":
        for table, column in (("sync_runs", "run_id"), ("audit_log", "audit_id")):
            bind.execute(
                sa.text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                    f"COALESCE(MAX({column}), 0) + 1, false) FROM {table}"
                )
            )


def _columns_of(bind: sa.Connection, table: str) -> set[str]:
    result = bind.execute(sa.text(f"SELECT * FROM {table} WHERE 1 = 0"))
    return set(result.keys())


def _triggers(bind: sa.Connection, tables: tuple[str, ...]) -> None:
    """The store revision's triggers (migration 0002) on ``tables``, made again."""
    for table in tables:
        if bind.dialect.name == "postgresql":
            bind.execute(
                sa.text(
                    f"CREATE TRIGGER store_revision_{table} BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE "
                    f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION {BUMP_FUNCTION}()"
                )
            )
        else:
            for event in SQLITE_EVENTS:
                bind.execute(
                    sa.text(
                        f"CREATE TRIGGER store_revision_{table}_{event} AFTER {event.upper()} ON {table} "
                        "FOR EACH ROW BEGIN "
                        "UPDATE store_revision SET revision = revision + 1 WHERE id = 1; END"
                    )
                )
