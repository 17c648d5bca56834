"""The store revision: triggers bump it on writes to the planned-against tables, and only those."""

from __future__ import annotations

import importlib
from datetime import datetime
from datetime import timezone

import pytest
from sqlalchemy import Connection
from sqlalchemy import inspect
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import IntegrityError

from connector.store import Store
from connector.store import engine as engines
from connector.store import tables as t
from connector.store.revision import TRACKED
from connector.store.revision import read_revision

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)

# per tracked table: (insert, update, delete) of one row; run after BASE_ROWS
BASE_ROWS = [
    "INSERT INTO directories (org_id, directory_id, provider, synced_before, created_at) "
    "VALUES ('default', 'd', 'okta', false, :now)",
    "INSERT INTO accounts (org_id, account_id, email, status, origin, created_at, updated_at) "
    "VALUES ('default', 'a0', 'a0@example.com', 'active', 'sync', :now, :now)",
    "INSERT INTO groups (org_id, group_id, name, adopted, created_at) "
    "VALUES ('default', 'g0', 'zero', false, :now)",
]
WRITES: dict[str, tuple[str, str, str]] = {
    "organizations": (  # its own row: another organization's row moves that one's revision
        "UPDATE organizations SET name = 'one' WHERE org_id = 'default'",
        "UPDATE organizations SET name = 'two' WHERE org_id = 'default'",
        "UPDATE organizations SET settings = '{}' WHERE org_id = 'default'",
    ),
    "verified_domains": (
        "INSERT INTO verified_domains (domain, org_id) VALUES ('example.com', 'default')",
        "UPDATE verified_domains SET domain = 'example.org' WHERE domain = 'example.com'",
        "DELETE FROM verified_domains WHERE domain = 'example.org'",
    ),
    "product_grants": (
        "INSERT INTO product_grants (org_id, product, group_name) VALUES ('default', 'wiki', 'zero')",
        "UPDATE product_grants SET group_name = 'one' WHERE product = 'wiki'",
        "DELETE FROM product_grants WHERE product = 'wiki'",
    ),
    "accounts": (
        "INSERT INTO accounts (org_id, account_id, email, status, origin, created_at, updated_at) "
        "VALUES ('default', 'a1', 'a1@example.com', 'active', 'sync', :now, :now)",
        "UPDATE accounts SET display_name = 'One' WHERE account_id = 'a1'",
        "DELETE FROM accounts WHERE account_id = 'a1'",
    ),
    "links": (
        "INSERT INTO links "
        "(org_id, directory_id, idp_user_id, account_id, missing_count, idp_active, linked_at) "
        "VALUES ('default', 'd', 'u0', 'a0', 0, true, :now)",
        "UPDATE links SET missing_count = 1 WHERE idp_user_id = 'u0'",
        "DELETE FROM links WHERE idp_user_id = 'u0'",
    ),
    "groups": (
        "INSERT INTO groups (org_id, group_id, name, adopted, created_at) "
        "VALUES ('default', 'g1', 'one', false, :now)",
        "UPDATE groups SET name = 'uno' WHERE group_id = 'g1'",
        "DELETE FROM groups WHERE group_id = 'g1'",
    ),
    "memberships": (
        "INSERT INTO memberships (org_id, group_id, account_id, source, added_at) "
        "VALUES ('default', 'g0', 'a0', 'local', :now)",
        "UPDATE memberships SET added_at = :now WHERE group_id = 'g0'",
        "DELETE FROM memberships WHERE group_id = 'g0'",
    ),
}
UNTRACKED_WRITES: dict[str, tuple[str, str, str]] = {
    "directories": (
        "INSERT INTO directories (org_id, directory_id, provider, synced_before, created_at) "
        "VALUES ('default', 'd2', 'scim', false, :now)",
        "UPDATE directories SET cursor = 'c', planned_revision = 7, planned_settings = 's' "
        "WHERE directory_id = 'd2'",
        "DELETE FROM directories WHERE directory_id = 'd2'",
    ),
    "sync_runs": (
        "INSERT INTO sync_runs "
        "(org_id, run_id, directory_id, kind, dry_run, started_at, outcome, counts, detail) "
        "VALUES ('default', 1, 'd', 'sync', false, :now, 'running', '{}', '')",
        "UPDATE sync_runs SET outcome = 'ok' WHERE run_id = 1",
        "DELETE FROM sync_runs WHERE run_id = 1",
    ),
    "audit_log": (
        "INSERT INTO audit_log (org_id, audit_id, at, action, target, reason, outcome, change) "
        "VALUES ('default', 1, :now, 'link', 'x', 'r', 'applied', '{}')",
        "UPDATE audit_log SET outcome = 'failed' WHERE audit_id = 1",
        "DELETE FROM audit_log WHERE audit_id = 1",
    ),
    "idp_users": (
        "INSERT INTO idp_users "
        "(org_id, directory_id, idp_user_id, user_name, active, raw_status, other_emails, is_guest) "
        "VALUES ('default', 'd', 'u9', 'u9', true, 'ACTIVE', '[]', false)",
        "UPDATE idp_users SET active = false WHERE idp_user_id = 'u9'",
        "DELETE FROM idp_users WHERE idp_user_id = 'u9'",
    ),
    "idp_groups": (
        "INSERT INTO idp_groups (org_id, directory_id, idp_group_id, name) "
        "VALUES ('default', 'd', 'ig9', 'nine')",
        "UPDATE idp_groups SET name = 'nueve' WHERE idp_group_id = 'ig9'",
        "DELETE FROM idp_groups WHERE idp_group_id = 'ig9'",
    ),
    "idp_members": (
        "INSERT INTO idp_members (org_id, directory_id, group_id, member_id, kind) "
        "VALUES ('default', 'd', 'ig9', 'u9', 'user')",
        "UPDATE idp_members SET kind = 'group' WHERE member_id = 'u9'",
        "DELETE FROM idp_members WHERE member_id = 'u9'",
    ),
}


def revision(store: Store) -> int:
    with store.transaction(write=False) as conn:
        return read_revision(conn)


def run(store: Store, sql: str) -> int:
    """Run one statement in a transaction of its own; how many rows it touched."""
    with store.transaction() as conn:
        return conn.execute(text(sql), {"now": NOW} if ":now" in sql else {}).rowcount


@pytest.fixture
def seeded(store: Store) -> Store:
    for sql in BASE_ROWS:
        run(store, sql)
    return store


def test_a_new_store_is_at_revision_zero_with_one_row(store: Store) -> None:
    assert revision(store) == 0
    with store.transaction(write=False) as conn:
        assert conn.execute(select(t.store_revision)).all() == [("default", 0)]


def test_the_tracked_tables_are_the_ones_the_migration_triggers() -> None:
    migration = importlib.import_module("connector.store.migrations.versions.0006_revision_per_organization")
    assert migration.TRACKED == TRACKED
    assert set(TRACKED) == {
        "organizations",
        "verified_domains",
        "product_grants",
        "accounts",
        "links",
        "groups",
        "memberships",
    }


@pytest.mark.parametrize("table", sorted(WRITES))
def test_each_insert_update_and_delete_of_a_tracked_table_bumps_the_revision(
    seeded: Store, table: str
) -> None:
    before = revision(seeded)
    seen = []
    for sql in WRITES[table]:
        assert run(seeded, sql) == 1, sql
        seen.append(revision(seeded))
    assert seen == [before + 1, before + 2, before + 3]


@pytest.mark.parametrize("table", sorted(UNTRACKED_WRITES))
def test_writes_to_the_connectors_own_tables_leave_the_revision(seeded: Store, table: str) -> None:
    if table == "idp_members":
        run(seeded, UNTRACKED_WRITES["idp_groups"][0])
    before = revision(seeded)
    for sql in UNTRACKED_WRITES[table]:
        assert run(seeded, sql) == 1, sql
        assert revision(seeded) == before, sql


def test_sqlite_bumps_per_row_and_postgresql_once_per_transaction(store: Store) -> None:
    postgresql = store.engine.dialect.name == "postgresql"
    before = revision(store)
    run(
        store,
        "INSERT INTO verified_domains (domain, org_id) "
        "VALUES ('a.com', 'default'), ('b.com', 'default'), ('c.com', 'default')",
    )
    assert revision(store) == before + (1 if postgresql else 3)
    with store.transaction() as conn:  # psycopg runs an executemany as a statement per row
        conn.execute(text("DELETE FROM verified_domains WHERE domain = :d"), [{"d": "a.com"}, {"d": "b.com"}])
        conn.execute(text("UPDATE verified_domains SET domain = 'd.com' WHERE domain = 'c.com'"))
        conn.execute(
            text("INSERT INTO product_grants (org_id, product, group_name) VALUES ('default', 'wiki', 'eng')")
        )
    assert revision(store) == before + (2 if postgresql else 7)


def test_a_write_in_a_rolled_back_savepoint_is_not_counted_and_the_next_one_is(store: Store) -> None:
    with store.transaction() as conn:
        savepoint = conn.begin_nested()
        conn.execute(text("INSERT INTO verified_domains (domain, org_id) VALUES ('a.com', 'default')"))
        savepoint.rollback()
    assert revision(store) == 0
    with store.transaction() as conn:
        savepoint = conn.begin_nested()
        conn.execute(text("INSERT INTO verified_domains (domain, org_id) VALUES ('a.com', 'default')"))
        savepoint.rollback()
        conn.execute(text("INSERT INTO verified_domains (domain, org_id) VALUES ('b.com', 'default')"))
        with conn.begin_nested():
            conn.execute(text("INSERT INTO verified_domains (domain, org_id) VALUES ('c.com', 'default')"))
    assert revision(store) == (1 if store.engine.dialect.name == "postgresql" else 2)
    assert store.verified_domains() == ("b.com", "c.com")


def test_a_rolled_back_write_leaves_the_revision(store: Store) -> None:
    with pytest.raises(IntegrityError), store.transaction() as conn:
        conn.execute(text("INSERT INTO verified_domains (domain, org_id) VALUES ('a.com', 'default')"))
        conn.execute(text("INSERT INTO verified_domains (domain, org_id) VALUES ('a.com', 'default')"))
    assert revision(store) == 0


def test_the_store_api_writes_bump_the_revision(store: Store) -> None:
    store.set_verified_domains(["example.com"])
    after_domains = revision(store)
    assert after_domains > 0
    store.ensure_directory("d", "okta")  # directories: not tracked
    assert revision(store) == after_domains
    store.add_account("someone@example.com", account_id="x")
    assert revision(store) > after_domains


@pytest.mark.postgres
def test_truncate_bumps_the_revision_on_postgresql(pg_url: str) -> None:
    with Store.open(pg_url) as store:
        store.set_verified_domains(["example.com"])
        before = revision(store)
        run(store, "TRUNCATE verified_domains")
        assert revision(store) == before + 1


@pytest.mark.postgres
def test_a_locked_revision_keeps_other_writers_out_until_commit(pg_url: str) -> None:
    with Store.open(pg_url) as store, store.transaction() as holder:
        assert read_revision(holder, lock=True) == 0
        with store.engine.connect() as other:
            other.execute(text("SET lock_timeout = '300ms'"))
            with pytest.raises(DBAPIError, match="lock"):
                other.execute(
                    text("INSERT INTO verified_domains (domain, org_id) VALUES ('x.com', 'default')")
                )
            other.rollback()


@pytest.mark.postgres
def test_the_postgresql_trigger_finds_the_counter_whatever_the_search_path(pg_url: str) -> None:
    with Store.open(pg_url) as store:
        schema = make_url(pg_url).query["options"].split("=", 1)[1]  # type: ignore[union-attr]
        with store.transaction() as conn:
            conn.execute(text("SET LOCAL search_path = public"))
            conn.execute(
                text(
                    f"INSERT INTO \"{schema}\".verified_domains (domain, org_id) VALUES ('x.com', 'default')"
                )
            )
        assert revision(store) == 1


def _0001_rows(conn: Connection) -> None:
    """Rows of a store at migration 0001, before organizations were data (no ``org_id``)."""
    for sql in [
        "INSERT INTO directories (directory_id, provider, synced_before, created_at) "
        "VALUES ('d', 'okta', false, :now)",
        "INSERT INTO accounts (account_id, email, status, origin, created_at, updated_at) "
        "VALUES ('a0', 'a0@example.com', 'active', 'sync', :now, :now)",
        "INSERT INTO groups (group_id, name, adopted, created_at) VALUES ('g0', 'zero', false, :now)",
        "INSERT INTO links (directory_id, idp_user_id, account_id, missing_count, idp_active, linked_at) "
        "VALUES ('d', 'u0', 'a0', 0, true, :now)",
        "INSERT INTO memberships (group_id, account_id, source, added_at) VALUES ('g0', 'a0', 'local', :now)",
        "INSERT INTO verified_domains (domain) VALUES ('example.com')",
        "UPDATE directories SET cursor = 'c-1' WHERE directory_id = 'd'",
    ]:
        conn.execute(text(sql), {"now": NOW} if ":now" in sql else {})


def test_a_0001_store_with_data_upgrades_to_revision_zero_and_null_planned_columns(store_url: str) -> None:
    engine = engines.make_engine(store_url)
    try:
        engines.upgrade(engine, "0001")
        with engine.connect() as conn:
            conn.execution_options(**{engines.WRITE: True})
            with conn.begin():
                _0001_rows(conn)
        assert "store_revision" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()
    with Store.open(store_url) as store:  # upgrades to head
        assert store.schema_revision() == engines.head_revision()
        assert revision(store) == 0
        state = store.directory_state("d")
        assert state is not None and state.cursor == "c-1"
        assert (state.planned_revision, state.planned_settings) == (None, None)
        assert [k.account_id for k in store.links("d")] == ["a0"]
        assert [(m.group_id, m.account_id) for m in store.memberships()] == [("g0", "a0")]
        assert store.verified_domains() == ("example.com",)
        run(store, WRITES["accounts"][0])
        assert revision(store) == 1
        # and back: the triggers go with the table, so writes still work at 0001
        engines.downgrade(store.engine, "0001")
        one_org = "UPDATE accounts SET display_name = 'One' WHERE account_id = 'a1'"
        names = inspect(store.engine).get_table_names()
        assert "store_revision" not in names
        assert {c["name"] for c in inspect(store.engine).get_columns("directories")}.isdisjoint(
            {"planned_revision", "planned_settings"}
        )
        assert run(store, one_org) == 1
        store.upgrade()
        assert revision(store) == 0


def test_each_organization_has_its_own_revision(store: Store) -> None:
    acme = store.for_org("acme")
    acme.ensure_organization("acme")
    default_before, acme_before = revision(store), revision(acme)
    acme.set_verified_domains(["acme.example"])
    acme.add_account("pat@acme.example")
    assert revision(acme) > acme_before
    assert revision(store) == default_before  # a write in acme leaves the default organization's
    acme_now = revision(acme)
    store.set_verified_domains(["example.com"])
    assert revision(store) == default_before + 1
    assert revision(acme) == acme_now


def test_a_write_from_outside_the_connector_moves_what_it_may_have_touched(store: Store) -> None:
    """A writer that names no organization (the product, a DBA): SQLite bumps the rows' own
    organization; PostgreSQL, whose statement triggers see no rows, bumps every organization's."""
    acme = store.for_org("acme")
    acme.ensure_organization("acme")
    default_before, acme_before = revision(store), revision(acme)
    with store.engine.begin() as conn:
        conn.execute(text("INSERT INTO verified_domains (domain, org_id) VALUES ('x.example', 'default')"))
    assert revision(store) == default_before + 1
    moved = 1 if store.engine.dialect.name == "postgresql" else 0
    assert revision(acme) == acme_before + moved
