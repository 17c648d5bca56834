"""The schema: migrations bring an empty database to head, and match the tables."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from connector.errors import StoreError
from connector.store import Store
from connector.store import engine as engines
from connector.store import tables


def test_open_brings_an_empty_database_to_head(store: Store) -> None:
    assert store.schema_revision() == engines.head_revision()
    names = set(inspect(store.engine).get_table_names())
    assert set(tables.metadata.tables) <= names


def test_migrations_describe_the_same_schema_as_the_tables(store: Store) -> None:
    with store.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), tables.metadata)
    assert diffs == []


def test_open_without_upgrade_refuses_an_empty_database(store_url: str) -> None:
    with pytest.raises(StoreError, match="db upgrade"):
        Store.open(store_url, upgrade=False)


def test_upgrade_is_idempotent_and_open_without_upgrade_accepts_head(store_url: str) -> None:
    Store.open(store_url).close()
    with Store.open(store_url, upgrade=False) as again:
        again.upgrade()
        assert again.schema_revision() == engines.head_revision()


def test_downgrade_to_base_and_back(store: Store) -> None:
    engines.downgrade(store.engine, "base")
    assert store.schema_revision() is None
    assert "accounts" not in inspect(store.engine).get_table_names()
    store.upgrade()
    assert store.schema_revision() == engines.head_revision()


@pytest.mark.parametrize("url", ["mysql://nobody@localhost/x", "not a url"])
def test_unsupported_urls_are_refused_by_name(url: str) -> None:
    with pytest.raises(StoreError):
        Store.open(url)


def test_in_memory_sqlite_works() -> None:
    with Store.open("sqlite://") as store:
        store.ensure_directory("d", "scim")
        assert store.directory_state("d") is not None


def test_an_unreachable_database_is_a_store_error_without_the_password() -> None:
    url = "postgresql+psycopg://someone:hunter2@127.0.0.1:1/nothing?connect_timeout=2"
    with pytest.raises(StoreError, match="database") as caught:
        Store.open(url)
    assert "hunter2" not in str(caught.value)
    with pytest.raises(StoreError) as again:
        Store.open(url, upgrade=False)
    assert "hunter2" not in str(again.value)


def test_two_processes_opening_an_empty_database_at_once_take_turns(store_url: str) -> None:
    code = "import sys; from connector.store import Store; Store.open(sys.argv[1]).close()"
    children = [
        subprocess.Popen([sys.executable, "-c", code, store_url], stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outcomes = [(child.communicate(timeout=120)[1], child.returncode) for child in children]
    assert [err for err, code in outcomes if code != 0] == []
    with Store.open(store_url, upgrade=False) as store:
        assert store.schema_revision() == engines.head_revision()


def test_a_postgresql_url_without_its_driver_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as on an install without the postgres extra
    with pytest.raises(StoreError, match=r"needs the psycopg driver.*idp-connector\[postgres\]"):
        Store.open("postgresql+psycopg://postgres@127.0.0.1:5432/test")


def test_a_sqlite_file_in_a_missing_folder_names_the_folder(tmp_path) -> None:
    missing = tmp_path / "no-such-folder"
    with pytest.raises(StoreError, match=re.escape(f"the SQLite store's folder {missing} does not exist")):
        Store.open(f"sqlite:///{missing}/connector.sqlite")
    assert not missing.exists()


def test_the_head_known_without_alembic_is_alembics_head() -> None:
    assert engines.HEAD_REVISION == engines.head_revision()


def test_a_store_at_head_opens_without_loading_alembic(sqlite_url: str) -> None:
    Store.open(sqlite_url).close()  # made and migrated here
    code = (
        "import sys\n"
        "from connector.store import Store\n"
        f"Store.open({sqlite_url!r}).close()\n"
        "print('alembic' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
