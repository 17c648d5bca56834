"""``staged list|approve|reject``: the receiving guard's held deactivations, decided from the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from click.testing import Result

from connector.cli.main import cli
from connector.model import AccountStatus
from connector.push import create_app
from connector.store import Store

CONFIG = """
[store]
url = "{url}"

[[organizations]]
id = "acme"
verified_domains = ["example.com"]

[organizations.guard]
min_deactivations = 1
max_deactivations = 1
max_deactivation_ratio = 1.0

[[organizations.directories]]
id = "main"
provider = "scim"
base_url = "https://acme.test/scim/v2"
auth = {{ method = "bearer", token_env = "STAGED_TEST_TOKEN" }}
"""
BASE = "/scim/v2/acme/hook"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def run(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args])


@pytest.fixture
def pushed(tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, list[str]]:
    """acme's push directory ``hook`` after three users were pushed and deactivated: the first
    applied, the other two held."""
    monkeypatch.delenv("CONNECTOR_ORG", raising=False)
    monkeypatch.setenv("STAGED_TEST_TOKEN", "pull-token")
    path = tmp_path / "connector.toml"
    path.write_text(CONFIG.format(url=sqlite_url))
    assert run(path, "config", "apply", "--yes").exit_code == 0
    added = run(
        path, "directories", "add", "hook", "--provider", "scim", "--mode", "push", "--domain", "example.com"
    )
    assert added.exit_code == 0, added.output
    token = run(path, "directories", "token", "hook").stdout.strip()
    with Store.open(sqlite_url, org="acme") as store:
        client = create_app(store).test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        ids = []
        for i in range(3):
            name = f"c{i}@example.com"
            body = {"schemas": [USER_SCHEMA], "userName": name, "emails": [{"value": name, "primary": True}]}
            ids.append(client.post(f"{BASE}/Users", json=body).get_json()["id"])
        for user_id in ids:
            off = {
                "schemas": [PATCH_SCHEMA],
                "Operations": [{"op": "replace", "path": "active", "value": False}],
            }
            assert client.patch(f"{BASE}/Users/{user_id}", json=off).status_code == 200
    return path, ids


def _statuses(sqlite_url: str) -> dict[str, AccountStatus]:
    with Store.open(sqlite_url, org="acme") as store:
        links = {x.account_id: x.idp_user_id for x in store.links("hook")}
        return {links[a.account_id]: a.status for a in store.accounts() if a.account_id in links}


def test_list_approve_and_reject(pushed: tuple[Path, list[str]], sqlite_url: str) -> None:
    config, ids = pushed
    listed = run(config, "staged", "list", "--json")
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)["staged"]
    assert [(r["idp_user_id"], r["state"]) for r in rows] == [(ids[1], "staged"), (ids[2], "staged")]
    table = run(config, "staged", "list")
    assert ids[1][:8] in table.stdout and "staged" in table.stdout  # folded to the terminal
    assert _statuses(sqlite_url) == {
        ids[0]: AccountStatus.DEACTIVATED,
        ids[1]: AccountStatus.ACTIVE,
        ids[2]: AccountStatus.ACTIVE,
    }
    approved = run(config, "staged", "approve", "hook", ids[1])
    assert approved.exit_code == 0, approved.output
    assert "approved 1 held deactivation(s) of acme/hook; 1 account(s) deactivated" in approved.stdout
    rejected = run(config, "staged", "reject", "hook", "--all")
    assert rejected.exit_code == 0 and "rejected 1" in rejected.stdout
    assert _statuses(sqlite_url)[ids[1]] is AccountStatus.DEACTIVATED
    assert _statuses(sqlite_url)[ids[2]] is AccountStatus.ACTIVE
    assert json.loads(run(config, "staged", "list", "--json").stdout)["staged"] == []
    kept = json.loads(run(config, "staged", "list", "--all", "--json").stdout)["staged"]
    assert [(r["idp_user_id"], r["state"]) for r in kept] == [(ids[2], "rejected")]


def test_misuse_is_refused_clearly(pushed: tuple[Path, list[str]]) -> None:
    config, ids = pushed
    neither = run(config, "staged", "approve", "hook")
    assert neither.exit_code == 2 and "--all" in neither.output
    both = run(config, "staged", "reject", "hook", ids[1], "--all")
    assert both.exit_code == 2 and "not both" in both.output
    unknown = run(config, "staged", "approve", "nope", "--all")
    assert unknown.exit_code == 2 and "no push directory 'nope'" in unknown.output
