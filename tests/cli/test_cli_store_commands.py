"""The store-only commands over a real SQLite store: accounts, groups, runs, db upgrade."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from datetime import timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import insert

from connector.cli.main import cli
from connector.errors import StoreError
from connector.rules.plan import Conflict
from connector.store import Store
from connector.store import tables as t


@pytest.fixture
def invoke(config_file: Path):
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(
            cli, ["--config", str(config_file), *args], env={"CLI_TEST_SCIM_TOKEN": "scim-test-token"}
        )

    return run


@pytest.fixture
def accounts_csv(tmp_path: Path) -> Path:
    path = tmp_path / "accounts.csv"
    path.write_text(
        "email,display_name,groups\n"
        "Alice.Smith@Example.com,Alice Smith,Everyone;Design\n"
        "vendor@partner.io,Val Vendor,Everyone\n"
        "bob@example.com,,\n"
    )
    return path


def test_db_upgrade_creates_the_store(invoke, tmp_path):
    result = invoke("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert "up to date" in result.stdout
    assert (tmp_path / "connector.sqlite").is_file()


def test_import_then_export(invoke, accounts_csv):
    result = invoke("accounts", "import", str(accounts_csv), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["read"] == 3
    assert sorted(a["email"] for a in data["added"]) == [
        "Alice.Smith@example.com",
        "bob@example.com",
        "vendor@partner.io",
    ]
    assert all(a["origin"] == "imported" for a in data["added"])

    again = invoke("accounts", "import", str(accounts_csv))
    assert again.exit_code == 0
    assert "0 of 3 accounts added" in again.stdout

    exported = json.loads(invoke("accounts", "export", "--json").stdout)["accounts"]
    by_email = {a["email"]: a for a in exported}
    assert by_email["Alice.Smith@example.com"]["groups"] == ["Design", "Everyone"]
    assert by_email["bob@example.com"]["display_name"] is None
    assert by_email["vendor@partner.io"]["status"] == "active"

    as_csv = list(csv.DictReader(io.StringIO(invoke("accounts", "export").stdout)))
    assert [r["email"] for r in as_csv] == [a["email"] for a in exported]
    assert as_csv[0]["groups"] == "Design;Everyone"


def test_import_refuses_a_bad_row_before_writing(invoke, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("email,display_name,groups\ngood@example.com,Good,\nnot-an-email,Bad,\n")
    result = invoke("accounts", "import", str(bad))
    assert result.exit_code == 2
    assert "line 3: email 'not-an-email' is not valid" in result.stderr
    assert json.loads(invoke("accounts", "export", "--json").stdout)["accounts"] == []


def test_import_refuses_unknown_columns(invoke, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("email,name\nx@example.com,X\n")
    result = invoke("accounts", "import", str(bad))
    assert result.exit_code == 2
    assert "unknown columns name; use email, display_name and groups only" in result.stderr


def test_groups_lists_local_groups_with_members(invoke, accounts_csv):
    invoke("accounts", "import", str(accounts_csv))
    groups = json.loads(invoke("groups", "--json").stdout)["groups"]
    assert [(g["name"], g["members"], g["managed"]) for g in groups] == [
        ("Design", 1, False),
        ("Everyone", 2, False),
    ]
    table = invoke("groups").stdout
    assert "Everyone" in table and "local" in table


def test_runs_is_empty_before_any_sync(invoke):
    result = invoke("runs", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"runs": [], "version": 1}


def test_runs_rejects_an_unknown_directory(invoke):
    result = invoke("runs", "--directory", "okta")
    assert result.exit_code == 2
    assert "no directory with id 'okta'" in result.stderr


def test_import_refuses_an_email_twice_before_writing(invoke, tmp_path):
    twice = tmp_path / "twice.csv"
    twice.write_text(
        "email,display_name,groups\na.b@example.com,A,\nother@example.com,O,\nA.B@Example.COM,B,\n"
    )
    result = invoke("accounts", "import", str(twice))
    assert result.exit_code == 2
    assert "line 4: email 'A.B@example.com' is already on line 2" in result.stderr
    assert json.loads(invoke("accounts", "export", "--json").stdout)["accounts"] == []


def test_import_refuses_a_file_that_is_not_utf8(invoke, tmp_path):
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("email,display_name,groups\njose@example.com,José,\n".encode("latin-1"))
    result = invoke("accounts", "import", str(latin1))
    assert result.exit_code == 2
    assert "latin1.csv: not UTF-8 text" in result.stderr
    assert "Traceback" not in result.output


def test_an_import_the_store_fails_halfway_adds_nothing(invoke, accounts_csv, monkeypatch):
    insert = Store._insert_account
    calls = []

    def fail_on_the_second(self, conn, account, groups, now):
        calls.append(account.email)
        if len(calls) == 2:
            raise StoreError("the database refused the row")
        insert(self, conn, account, groups, now)

    monkeypatch.setattr(Store, "_insert_account", fail_on_the_second)
    result = invoke("accounts", "import", str(accounts_csv))
    assert result.exit_code == 6
    assert "the database refused the row" in result.stderr
    monkeypatch.undo()
    assert json.loads(invoke("accounts", "export", "--json").stdout)["accounts"] == []
    assert json.loads(invoke("groups", "--json").stdout)["groups"] == []


@pytest.mark.parametrize(
    "command", [("billing",), ("groups",), ("runs",), ("accounts", "export"), ("db", "upgrade")]
)
def test_store_commands_run_without_the_idp_secret(config_file, command):
    result = CliRunner().invoke(
        cli, ["--config", str(config_file), *command], env={"CLI_TEST_SCIM_TOKEN": ""}
    )
    assert result.exit_code == 0, result.output


def test_store_commands_still_check_the_secret_references(config_file):
    config_file.write_text(config_file.read_text().replace(', token_env = "CLI_TEST_SCIM_TOKEN"', ""))
    result = CliRunner().invoke(
        cli, ["--config", str(config_file), "billing"], env={"CLI_TEST_SCIM_TOKEN": ""}
    )
    assert result.exit_code == 2
    assert "directories[0].auth: has no token reference" in result.stderr


def test_idp_commands_still_need_the_secret(config_file):
    result = CliRunner().invoke(cli, ["--config", str(config_file), "check"], env={"CLI_TEST_SCIM_TOKEN": ""})
    assert result.exit_code == 2
    assert "the environment variable CLI_TEST_SCIM_TOKEN is not set" in result.stderr


FORMULAS = [
    ('=HYPERLINK("https://evil.test","click")', '\'=HYPERLINK("https://evil.test","click")'),
    ("@SUM(1+1)", "'@SUM(1+1)"),
    ("+1 555 0100", "'+1 555 0100"),
    ("-2+3", "'-2+3"),
    ("\t=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),  # the import trims the tab; the cell still starts =
    ("Plain Name", "Plain Name"),
]


def test_accounts_export_neutralises_formula_cells(invoke, tmp_path):
    """docs/contract.md, "CSV neutralisation": the export is a CSV the product writes."""
    rows = ["email,display_name,groups"]
    for n, (name, _) in enumerate(FORMULAS):
        quoted = name.replace('"', '""')
        rows.append(f'person{n}@example.com,"{quoted}","{quoted}"')
    path = tmp_path / "formulas.csv"
    path.write_text("\n".join(rows) + "\n", newline="")
    assert invoke("accounts", "import", str(path)).exit_code == 0
    exported = list(csv.DictReader(io.StringIO(invoke("accounts", "export").stdout, newline="")))
    by_email = {r["email"]: r for r in exported}
    for n, (_, safe) in enumerate(FORMULAS):
        row = by_email[f"person{n}@example.com"]
        assert row["display_name"] == safe
        assert row["groups"] == safe


def test_conflicts_lists_the_open_ones(invoke, tmp_path):
    assert invoke("conflicts").stdout.strip() == "no open conflicts"
    with Store.open(f"sqlite:///{tmp_path / 'connector.sqlite'}") as store:
        store.ensure_directory("scim", "scim")
        store.record_conflicts(
            "scim", [Conflict("scim", "u1", "=evil@example.com", "2 IdP users share the email", ("a1",))]
        )
    listed = json.loads(invoke("conflicts", "--json").stdout)["conflicts"]
    assert [(c["idp_user_id"], c["kind"], c["account_ids"]) for c in listed] == [("u1", "link", ["a1"])]
    assert "u1" in invoke("conflicts", "-d", "scim").stdout  # a table, its cells wrapped to the terminal
    unknown = invoke("conflicts", "-d", "nope")
    assert unknown.exit_code == 2 and "configured ids are: scim" in unknown.stderr


def test_accounts_link_and_unlink_by_hand(invoke, tmp_path):
    with Store.open(f"sqlite:///{tmp_path / 'connector.sqlite'}") as store:
        store.ensure_directory("scim", "scim")
        account = store.add_account("pat@example.com")
    linked = invoke(
        "accounts", "link", "-d", "scim", "--identity", "s1", "--account", account.account_id, "--json"
    )
    assert linked.exit_code == 0, linked.output
    assert json.loads(linked.stdout)["linked"]["account_id"] == account.account_id
    again = invoke("accounts", "link", "-d", "scim", "--identity", "s1", "--account", account.account_id)
    assert again.exit_code == 2 and "unlink it first" in again.stderr
    unlinked = invoke("accounts", "unlink", "-d", "scim", "--identity", "s1")
    assert unlinked.exit_code == 0 and f"from account {account.account_id}" in unlinked.stdout
    assert invoke("accounts", "unlink", "-d", "scim", "--identity", "s1").exit_code == 2


def test_importing_into_a_group_a_directory_manages_is_refused(invoke, tmp_path):
    with Store.open(f"sqlite:///{tmp_path / 'connector.sqlite'}") as store:
        store.ensure_directory("scim", "scim")
        with store.transaction() as conn:
            conn.execute(
                insert(t.groups).values(
                    group_id="g-all", name="Everyone", directory_id="scim", idp_group_id="idp-all",
                    adopted=False, created_at=datetime.now(timezone.utc),
                )
            )  # fmt: skip
    path = tmp_path / "local.csv"
    path.write_text(
        "email,display_name,groups\nkim@example.com,Kim,Local Team\nlee@example.com,Lee,Local Team;Everyone\n"
    )
    refused = invoke("accounts", "import", str(path))
    assert refused.exit_code == 2
    assert "line 3: group 'Everyone' is managed by directory 'scim'" in refused.stderr
    assert json.loads(invoke("accounts", "export", "--json").stdout)["accounts"] == []  # all or nothing
    allowed = invoke("accounts", "import", str(path), "--allow-managed")
    assert allowed.exit_code == 0 and "2 of 2 accounts added" in allowed.stdout


def test_accounts_show_tells_links_memberships_products_and_billing(invoke, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text(
        "email,display_name,groups\nkate@example.com,Kate,Everyone;Design\nval@partner.io,Val,Everyone\n"
    )
    assert invoke("accounts", "import", str(path)).exit_code == 0
    accounts = {a["email"]: a for a in json.loads(invoke("accounts", "export", "--json").stdout)["accounts"]}
    kate = json.loads(invoke("accounts", "show", accounts["kate@example.com"]["account_id"], "--json").stdout)
    kate = kate["account"]
    assert (kate["internal"], kate["billable"], kate["products"]) == (True, True, ["confluence"])
    assert [(m["group"], m["source"]) for m in kate["memberships"]] == [
        ("Design", "local"),
        ("Everyone", "local"),
    ]
    assert kate["links"] == [] and kate["conflicts"] == []
    val = json.loads(invoke("accounts", "show", accounts["val@partner.io"]["account_id"], "--json").stdout)[
        "account"
    ]
    assert (val["internal"], val["billable"], val["products"]) == (False, False, ["confluence"])
    shown = invoke("accounts", "show", accounts["kate@example.com"]["account_id"])
    assert "internal, billed" in shown.stdout and "products: confluence" in shown.stdout
    unknown = invoke("accounts", "show", "nope")
    assert unknown.exit_code == 2 and "no account 'nope'" in unknown.stderr
