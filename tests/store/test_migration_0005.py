"""Migration 0005 (organizations as data) on a store made by the release before it.

``fixtures/store_0004.sqlite`` was made by that release's code with real syncs
(``fixtures/make_store_0004.py`` says how and from which commit), and
``fixtures/store_0004.expected.json`` holds what that code's store reported.  On PostgreSQL the
same content is loaded into a schema at 0004 (made by the migrations) row by row, so the
PostgreSQL path of the migration runs too.

The upgraded store must hold every row it held, with its values and the organization it was
opened for; report through the store what the old code reported; sync on; keep the store
revision's triggers; and go down to 0004 and up again without loss while it holds one
organization (and refuse to with two).
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from collections.abc import Iterator
from datetime import timezone
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy import Engine

from connector.run.sync import sync_directory
from connector.store import Store
from connector.store import engine as engines
from connector.store.revision import TRACKED

FIXTURES = Path(__file__).with_name("fixtures")
ORG = "acme"
OLD_TRACKED = ("organization", *TRACKED[1:])
"""The tracked tables before 0005, as migration 0002 made their triggers."""
SQLITE_EVENTS = ("insert", "update", "delete")


def _load_generator() -> ModuleType:
    """The fixture's generator, for its scenario (settings, directories) and its report."""
    path = FIXTURES / "make_store_0004.py"
    spec = importlib.util.spec_from_file_location("make_store_0004", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


made = _load_generator()
EXPECTED: dict[str, Any] = json.loads((FIXTURES / made.EXPECTED).read_text())


# ---------------------------------------------------------------------- reading with plain SQL


Rows = dict[str, list[dict[str, Any]]]


def read_rows(engine: Engine) -> Rows:
    """Every row of every table but Alembic's, with plain SQL, in a stable order."""
    with engine.connect() as conn:
        names = sorted(n for n in sa.inspect(conn).get_table_names() if n != "alembic_version")
        return {name: _rows_of(conn, name) for name in names}


def _rows_of(conn: Connection, table: str) -> list[dict[str, Any]]:
    rows = [dict(r._mapping) for r in conn.execute(sa.text(f"SELECT * FROM {table}"))]
    return sorted(rows, key=_canonical)


def _canonical(row: dict[str, Any]) -> str:
    return json.dumps(row, sort_keys=True, default=str)


def scoped(before: Rows, after: Rows) -> None:
    """Each table's rows ``after`` are its rows ``before`` with ``org_id`` the organization's."""
    for table, rows in before.items():
        if table == "organization":
            continue
        if table == "store_revision":  # one counter, then one per organization (0006) at its value
            assert after[table] == [{"org_id": ORG, "revision": r["revision"]} for r in rows], (
                "the migration moved the store revision"
            )
            continue
        old_columns = set(rows[0]) if rows else set()
        projected = [{c: r[c] for c in (*old_columns, "org_id") if c in r} for r in after[table]]
        wanted = [{**r, "org_id": ORG} for r in rows]
        assert len(after[table]) == len(rows), table
        assert sorted(map(_canonical, projected)) == sorted(map(_canonical, wanted)), table


# ---------------------------------------------------------------------- the store at 0004


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def old_store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a database at 0004 holding the fixture's content."""
    source = FIXTURES / made.DATABASE
    if request.param == "sqlite":
        copy = tmp_path / "store.sqlite"
        shutil.copyfile(source, copy)
        return f"sqlite:///{copy}"
    url: str = request.getfixturevalue("pg_url")
    load_into_postgresql(source, url)
    return url


def load_into_postgresql(source: Path, url: str) -> None:
    """Make the schema of 0004 at ``url`` and copy every row of ``source`` into it.

    Times the old code wrote to SQLite are UTC without a zone; they go over as UTC.
    """
    target = engines.make_engine(url)
    lite = sa.create_engine(f"sqlite:///file:{source}?mode=ro&uri=true")
    try:
        engines.upgrade(target, "0004")
        assert engines.current_revision(target) == "0004"
        with target.begin() as pg, lite.connect() as old:
            shape = sa.MetaData()
            shape.reflect(pg)
            for table in shape.sorted_tables:
                if table.name in ("alembic_version", "store_revision"):
                    continue
                rows = [_utc(dict(r._mapping)) for r in old.execute(sa.select(table))]
                if rows:
                    pg.execute(table.insert(), rows)
            revision = old.execute(sa.text("SELECT revision FROM store_revision")).scalar_one()
            pg.execute(sa.text("UPDATE store_revision SET revision = :r WHERE id = 1"), {"r": revision})
    finally:
        target.dispose()
        lite.dispose()


def _utc(row: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v.replace(tzinfo=timezone.utc) if hasattr(v, "tzinfo") and v.tzinfo is None else v
        for k, v in row.items()
    }


@pytest.fixture
def engine(old_store: str) -> Iterator[Engine]:
    made_engine = engines.make_engine(old_store)
    yield made_engine
    made_engine.dispose()


# ---------------------------------------------------------------------- the tests


def test_the_fixture_is_a_store_of_the_release_before(engine: Engine) -> None:
    assert engines.current_revision(engine) == "0004"
    rows = read_rows(engine)
    assert rows["organization"] == [{"org_id": 1, "name": made.ORG_NAME}]
    empty = [table for table, content in rows.items() if not content]
    assert empty == [], "the fixture should have content in every table"
    sources = {r["source"] for r in rows["memberships"]}
    assert sources == {"local", made.OKTA, made.ENTRA}
    assert {r["origin"] for r in rows["accounts"]} == {"sync", "invited", "imported"}
    assert {r["outcome"] for r in rows["sync_runs"]} >= {"applied", "dry_run", "failed"}


def test_upgrade_keeps_every_row_and_gives_it_the_organization(old_store: str, engine: Engine) -> None:
    before = read_rows(engine)
    with Store.open(old_store, org=ORG) as store:
        assert store.schema_revision() == engines.HEAD_REVISION
        after = read_rows(engine)
        scoped(before, after)
        [organization] = after["organizations"]
        assert (organization["org_id"], organization["name"]) == (ORG, made.ORG_NAME)
        assert [(o.org_id, o.name, o.settings) for o in store.organization_entries()] == [
            (ORG, made.ORG_NAME, {})
        ]
        for directory in after["directories"]:
            assert (directory["mode"], bool(directory["disabled"])) == ("pull", False)
            assert [directory[c] for c in ("base_url", "settings", "secrets", "schedule")] == [None] * 4


LATER_FIELDS = {"external_id", "enterprise"}
"""Mirror fields later releases added (migration 0009), empty on every row the fixture holds."""


def _without_later_fields(value: Any) -> Any:
    """A report with the fields added after the fixture's release left out where they are empty."""
    if isinstance(value, dict):
        return {
            k: _without_later_fields(v) for k, v in value.items() if not (k in LATER_FIELDS and v is None)
        }
    if isinstance(value, list):
        return [_without_later_fields(v) for v in value]
    return value


def test_the_upgraded_store_reports_what_the_old_code_reported(old_store: str) -> None:
    with Store.open(old_store, org=ORG) as store:
        reported = _without_later_fields(made.report(store))
    assert reported.keys() == EXPECTED.keys()
    for key, expected in EXPECTED.items():
        assert reported[key] == expected, key


def test_a_store_never_named_becomes_an_organization_named_by_its_id(old_store: str, engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM organization"))
    with Store.open(old_store, org=ORG) as store:
        assert store.organization_name() == ORG
        reported = _without_later_fields(made.report(store))
    assert {k: v for k, v in reported.items() if k != "organization_name"} == {
        k: v for k, v in EXPECTED.items() if k != "organization_name"
    }


def test_another_organization_of_the_upgraded_store_sees_none_of_it(old_store: str) -> None:
    with Store.open(old_store, org=ORG) as store:
        other = store.for_org("globex")
        other.ensure_organization("globex")
        assert other.accounts() == [] and other.groups() == [] and other.runs() == []
        assert other.verified_domains() == () and other.product_grants() == {}
        assert store.organization_name() == made.ORG_NAME


def test_syncs_after_the_upgrade_go_on_where_the_old_runs_left(old_store: str, engine: Engine) -> None:
    before = read_rows(engine)
    last_run = max(r["run_id"] for r in before["sync_runs"])
    last_audit = max(r["audit_id"] for r in before["audit_log"])
    providers = made.providers()
    with Store.open(old_store, org=ORG) as store:
        for directory_id, provider in providers.items():
            for whole in (False, True):  # what changed since the cursor, then everything again
                quiet = sync_directory(provider, store, made.SETTINGS, full=whole, whole=whole)
                assert quiet.applied, quiet
                assert {k: v for k, v in quiet.counts.items() if v} == {}, (directory_id, whole)
        assert made.report(store)["accounts"] == EXPECTED["accounts"]
        assert len(store.open_conflicts()) == len(EXPECTED["open_conflicts"])

        okta = providers[made.OKTA]
        okta.update_user("u0", display_name="User Zero Renamed")
        changed = sync_directory(okta, store, made.SETTINGS)
        assert {k: v for k, v in changed.counts.items() if v} == {"update_account": 1}
        assert "User Zero Renamed" in {a.display_name for a in store.accounts()}

        runs = store.runs(limit=1000)
        assert [r.run_id for r in runs[:5]] == list(range(last_run + 5, last_run, -1))
        audit = store.audit(run_id=runs[0].run_id)
        assert audit and min(a.audit_id for a in audit) > last_audit
        new_run = store.start_run(made.ENTRA, kind="sync", dry_run=True)
        assert new_run == last_run + 6


def test_writes_after_the_upgrade_still_move_the_store_revision(old_store: str, engine: Engine) -> None:
    with Store.open(old_store, org=ORG):
        pass
    assert _triggered_tables(engine) == set(TRACKED)
    for table, statement in (
        ("accounts", "UPDATE accounts SET display_name = 'Someone' WHERE email = 'user2@example.com'"),
        ("memberships", "DELETE FROM memberships WHERE source = 'local'"),
        ("organizations", "UPDATE organizations SET name = 'Acme Inc.'"),
    ):
        revision = _revision(engine)
        with engine.begin() as conn:
            assert conn.execute(sa.text(statement)).rowcount > 0, table
        assert _revision(engine) > revision, table


def test_downgrade_and_upgrade_again_round_trip_the_data(old_store: str, engine: Engine) -> None:
    before = read_rows(engine)
    with Store.open(old_store, org=ORG):
        pass
    upgraded = read_rows(engine)

    engines.downgrade(engine, "0004")
    assert engines.current_revision(engine) == "0004"
    assert read_rows(engine) == before
    assert _triggered_tables(engine) == set(OLD_TRACKED)

    engines.upgrade(engine, organization_id=ORG)
    again = read_rows(engine)
    for rows in (upgraded, again):  # made anew: its time is the upgrade's
        for organization in rows["organizations"]:
            organization.pop("created_at")
    assert again == upgraded
    assert _triggered_tables(engine) == set(TRACKED)
    with Store.open(old_store, org=ORG) as store:
        assert _without_later_fields(made.report(store)) == EXPECTED
        new_run = store.start_run(made.OKTA, kind="sync", dry_run=True)
    assert new_run == max(r["run_id"] for r in before["sync_runs"]) + 1


def test_a_store_of_two_organizations_refuses_to_go_down(old_store: str, engine: Engine) -> None:
    with Store.open(old_store, org=ORG) as store:
        store.for_org("globex").ensure_organization("globex", "Globex")
    held = read_rows(engine)
    with pytest.raises(RuntimeError, match="holds 2 organizations; the schema before 0005 holds one"):
        engines.downgrade(engine, "0004")
    assert engines.current_revision(engine) == engines.HEAD_REVISION
    assert read_rows(engine) == held


# ---------------------------------------------------------------------- helpers


def _revision(engine: Engine) -> int:
    with engine.connect() as conn:
        query = sa.text("SELECT revision FROM store_revision WHERE org_id = :o")
        return int(conn.execute(query, {"o": ORG}).scalar_one())


def _triggered_tables(engine: Engine) -> set[str]:
    """The tables the store revision's triggers are on (every event of each, on SQLite)."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            rows = conn.execute(
                sa.text(
                    "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                    "WHERE NOT t.tgisinternal AND c.relnamespace = current_schema()::regnamespace"
                )
            ).all()
            assert all(name == f"store_revision_{table}" for table, name in rows)
            return {table for table, _ in rows}
        rows = conn.execute(sa.text("SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'")).all()
    tables = {table for table, _ in rows}
    assert {name for _, name in rows} == {f"store_revision_{t}_{e}" for t in tables for e in SQLITE_EVENTS}
    return tables
