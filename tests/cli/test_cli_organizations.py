"""Two organizations in one configuration and one store: ``--org``, and billing per organization.

The two declare a directory with the same id and hold a user with the same email: two accounts, one
per organization, each billed (or not) by its own organization's verified domains.
"""

from __future__ import annotations

import json
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
from builders import user
from click.testing import CliRunner
from fakes import FakeProvider

from connector.cli.main import cli
from connector.providers import registry


class SharedPeopleProvider(FakeProvider):
    """Three people whose addresses are at example.com, whichever organization reads them."""

    name = "shared-people"

    def __init__(self, directory_id: str = "main", **kwargs: object) -> None:
        super().__init__(directory_id, **kwargs)  # type: ignore[arg-type]
        for n in range(3):
            self.put_user(user(n))
        self.put_group("g-all", "Everyone")
        for n in range(3):
            self.add_member("g-all", f"u{n}")


CONFIG = """
[store]
url = "sqlite:///{store}"

[[organizations]]
id = "acme"
name = "Acme Corp"
verified_domains = ["example.com"]
products = {{ wiki = ["Everyone"] }}

[[organizations.directories]]
id = "main"
provider = "shared-people"
base_url = "https://acme.test"
auth = {{ method = "bearer", token_env = "ORGS_TEST_TOKEN" }}

[[organizations]]
id = "globex"
verified_domains = ["globex.com"]
products = {{ wiki = ["Everyone"] }}

[[organizations.directories]]
id = "main"
provider = "shared-people"
base_url = "https://globex.test"
auth = {{ method = "bearer", token_env = "ORGS_TEST_TOKEN_GLOBEX" }}
"""


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    point = EntryPoint(
        SharedPeopleProvider.name, f"{__name__}:SharedPeopleProvider", registry.ENTRY_POINT_GROUP
    )
    monkeypatch.setattr(registry, "entry_points", lambda group: [point] if group == point.group else [])
    monkeypatch.setenv("ORGS_TEST_TOKEN", "not-a-real-token")
    monkeypatch.setenv("ORGS_TEST_TOKEN_GLOBEX", "not-a-real-token-either")
    path = tmp_path / "connector.toml"
    path.write_text(CONFIG.format(store=tmp_path / "store.sqlite"))
    return path


def _invoke(config: Path, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["--config", str(config), *args])


def test_without_org_a_command_names_the_organizations_to_choose_from(config: Path) -> None:
    result = _invoke(config, "sync")
    assert result.exit_code == 2
    assert "declares 2 organizations (acme, globex); name one with --org" in result.stderr
    unknown = _invoke(config, "sync", "--org", "initech")
    assert unknown.exit_code == 2 and "no organization 'initech'" in unknown.stderr


def test_the_same_email_is_two_accounts_billed_by_each_organization_alone(config: Path) -> None:
    for org in ("acme", "globex"):
        synced = _invoke(config, "sync", "--org", org, "--json")
        assert synced.exit_code == 0, synced.output
        [report] = json.loads(synced.stdout)["directories"]
        assert report["counts"]["create_account"] == 3  # nothing of the other organization is linked
    before = json.loads(_invoke(config, "--org", "acme", "billing", "--json").stdout)["billing"]
    assert before["billable"] == 3  # example.com is acme's
    globex = json.loads(_invoke(config, "billing", "--org", "globex", "--json").stdout)["billing"]
    assert globex["billable"] == 0  # the same people are outside globex's verified domains
    every = _invoke(config, "billing", "--all-orgs", "--json")
    assert every.exit_code == 0, every.output
    summary = json.loads(every.stdout)
    assert [(o["org_id"], o["billing"]["billable"]) for o in summary["organizations"]] == [
        ("acme", 3),
        ("globex", 0),
    ]
    assert summary["total_billable"] == 3
    table = _invoke(config, "billing", "--all-orgs")
    assert "total billable across 2 organizations: 3" in table.stdout
    # an organization only the store holds is counted too, after the file's
    added = _invoke(config, "orgs", "add", "initech", "--name", "Initech", "--domain", "initech.com")
    assert added.exit_code == 0, added.output
    summary = json.loads(_invoke(config, "billing", "--all-orgs", "--json").stdout)
    assert [o["org_id"] for o in summary["organizations"]] == ["acme", "globex", "initech"]
    assert summary["total_billable"] == 3


def test_a_run_of_one_organization_leaves_the_other_as_it_was(config: Path) -> None:
    assert _invoke(config, "sync", "--org", "acme").exit_code == 0
    runs = json.loads(_invoke(config, "runs", "--org", "globex", "--json").stdout)["runs"]
    assert runs == []
    assert (
        json.loads(_invoke(config, "runs", "--org", "acme", "--json").stdout)["runs"][0]["outcome"]
        == "applied"
    )


def test_a_command_for_one_organization_reads_only_its_secrets(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ORGS_TEST_TOKEN_GLOBEX")
    assert _invoke(config, "sync", "--org", "acme").exit_code == 0
    missing = _invoke(config, "sync", "--org", "globex")
    assert missing.exit_code == 2 and "ORGS_TEST_TOKEN_GLOBEX" in missing.stderr


def test_the_hint_after_plan_out_names_the_organization(config: Path, tmp_path: Path) -> None:
    import shlex

    out = tmp_path / "plan.json"
    planned = _invoke(config, "plan", "--org", "globex", "--out", str(out))
    assert planned.exit_code == 0, planned.output
    command = shlex.split(planned.stdout.strip().splitlines()[-1].split("apply it with: ", 1)[1])
    assert command[3:5] == ["--org", "globex"]
    applied = CliRunner().invoke(cli, command[1:])
    assert applied.exit_code == 0, applied.output
    assert json.loads(_invoke(config, "runs", "--org", "acme", "--json").stdout)["runs"] == []


def test_db_upgrade_gives_a_store_from_before_organizations_to_the_configured_one(tmp_path: Path) -> None:
    import shutil
    import sqlite3

    store = tmp_path / "old.sqlite"
    shutil.copy(Path(__file__).parents[1] / "store" / "fixtures" / "store_0004.sqlite", store)
    config = tmp_path / "connector.toml"
    config.write_text(
        f'[organization]\nid = "acme"\nverified_domains = ["example.com"]\n[store]\nurl = "sqlite:///{store}"\n'
        '[[directories]]\nid = "scim"\nprovider = "scim"\nbase_url = "https://scim.example.com"\n'
        'auth = { method = "bearer", token_env = "UNSET_IN_THIS_TEST" }\n'
    )
    done = _invoke(config, "db", "upgrade")
    assert done.exit_code == 0, done.output
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT org_id FROM organizations").fetchall() == [("acme",)]
        assert {row[0] for row in db.execute("SELECT DISTINCT org_id FROM accounts")} == {"acme"}
