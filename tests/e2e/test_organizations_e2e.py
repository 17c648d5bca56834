"""Two organizations in one store, each against its own ``mock-idp serve`` process, through the CLI.

``acme`` reads one mock as Okta; ``globex`` reads another as Entra ID and SCIM.  Both mocks generate
people at example.com, which acme verifies and globex does not: acme bills its staff, globex bills
nobody, and neither organization's accounts, runs or billing hold anything of the other.  On SQLite
and on the real PostgreSQL.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mock_idp.connector_config import ServedOrganization
from mock_idp.connector_config import write_organizations_config
from mock_idp.state.credentials import default_credentials
from mock_idp.state.generator import generate

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SEEDS = {"acme": 11, "globex": 12}
USERS = 40


def _serve(seed: int, work: Path) -> Iterator[str]:
    command = [sys.executable, "-m", "mock_idp", "serve", "--port", "0", "--seed", str(seed),
               "--users", str(USERS), "--groups", "6", "--state-dir", str(work / f"mock-{seed}")]  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        assert process.stdout is not None
        match = re.match(r"mock-idp listening on (\S+)", process.stdout.readline())
        assert match, "mock-idp did not start"
        yield match.group(1)
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


@pytest.fixture(scope="module")
def mocks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    work = tmp_path_factory.mktemp("mocks")
    acme, globex = _serve(SEEDS["acme"], work), _serve(SEEDS["globex"], work)
    try:
        yield {"acme": next(acme), "globex": next(globex)}
    finally:
        for served in (acme, globex):
            served.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def config(request: pytest.FixtureRequest, mocks: dict[str, str], tmp_path: Path) -> Path:
    def served(org: str, domain: str, dialects: tuple[str, ...]) -> ServedOrganization:
        seed = SEEDS[org]
        tenant = generate(0, 0, seed=seed).tenant_id
        credentials = default_credentials(seed)
        return ServedOrganization(org, domain, mocks[org], tenant, credentials, dialects=dialects, prefix=org)

    organizations = [
        served("acme", "example.com", ("okta",)),
        served("globex", "example.org", ("entra", "scim")),
    ]
    path = write_organizations_config(tmp_path / "connector.toml", organizations)
    if request.param == "postgresql":
        text = path.read_text().replace(
            'url = "sqlite:///connector.sqlite"', f'url = "{request.getfixturevalue("pg_url")}"'
        )
        path.write_text(text)
    return path


def cli(config: Path, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "connector", "--config", str(config), *args, "--json"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


def test_two_organizations_two_mocks_one_store(config: Path) -> None:
    acme = cli(config, "sync", "--org", "acme")["directories"]
    assert [d["directory_id"] for d in acme] == ["acme-okta"]
    assert acme[0]["counts"]["create_account"] > 0
    globex = cli(config, "sync", "--org", "globex")["directories"]
    assert [d["directory_id"] for d in globex] == ["globex-entra", "globex-scim"]
    assert globex[0]["counts"]["create_account"] > 0
    assert globex[0]["counts"]["link"] == 0  # nothing of acme's is linked

    accounts = {
        org: {a["email"].lower(): a for a in cli(config, "--org", org, "accounts", "export")["accounts"]}
        for org in ("acme", "globex")
    }
    acme_people = {
        u.email.lower() for u in generate(USERS, 6, seed=SEEDS["acme"]).users_snapshot() if u.email
    }
    globex_people = {
        u.email.lower() for u in generate(USERS, 6, seed=SEEDS["globex"]).users_snapshot() if u.email
    }
    assert set(accounts["acme"]) <= acme_people
    assert set(accounts["globex"]) <= globex_people
    for email in set(accounts["acme"]) & set(accounts["globex"]):  # one person, two accounts
        assert accounts["acme"][email]["account_id"] != accounts["globex"][email]["account_id"]

    summary = cli(config, "billing", "--all-orgs")
    per_org = {o["org_id"]: o["billing"]["billable"] for o in summary["organizations"]}
    assert per_org["acme"] > 0  # its staff at example.com
    assert per_org["globex"] == 0  # example.com is not globex's: everyone there is external
    assert summary["total_billable"] == per_org["acme"]
    assert cli(config, "runs", "--org", "acme")["runs"][0]["directory_id"] == "acme-okta"
    assert {r["directory_id"] for r in cli(config, "runs", "--org", "globex")["runs"]} == {
        "globex-entra",
        "globex-scim",
    }

    again = cli(config, "sync", "--org", "acme")["directories"][0]
    assert not any(again["counts"].values())  # the other organization's writes changed nothing here
