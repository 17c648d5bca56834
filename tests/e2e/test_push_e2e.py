"""Push end to end: ``mock-idp push --as entra|okta`` into ``idp-connector serve``, both real processes.

The mock serves the pull end-to-end fixture (tests/e2e/test_cli_e2e.py); the connector serves a
push directory of organization ``acme`` (``directories add --mode push``, a token of
``directories token``).  The store is then read through the CLI, as an operator would: the same
contract outcomes as a pull (links, the conflict, external users, billing), a deactivation in
the mock reaches the account on the next push, and deactivations beyond the guard are staged
until approved with ``idp-connector staged approve``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from connector.cli.main import cli
from tests.e2e.test_cli_e2e import ADMIN
from tests.e2e.test_cli_e2e import FIXTURE
from tests.e2e.test_cli_e2e import Admin

pytestmark = pytest.mark.e2e

CONFIG = """
[store]
url = "sqlite:///{store}"

[[organizations]]
id = "acme"
verified_domains = ["example.com"]
[organizations.products]
jira-software = ["Engineering"]
confluence = ["Support"]
[organizations.guard]  # a push's deactivations beyond 2 within 10 minutes are staged
min_deactivations = 1
max_deactivations = 2
max_deactivation_ratio = 1.0
window_seconds = 600

[[organizations.directories]]  # a pull directory the file needs; never synced here
id = "pulled"
provider = "scim"
base_url = "https://acme.test/scim/v2"
auth = {{ method = "bearer", token_env = "PUSH_E2E_UNUSED" }}
"""


def _started(command: list[str], banner: str) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert process.stdout is not None
    first = process.stdout.readline()
    found = re.match(rf"{banner} (\S+)", first)
    if not found:
        process.kill()
        raise AssertionError(f"unexpected banner {first!r}: {process.communicate()[1]}")
    return process, found.group(1)


def _stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=30)
    return err


@pytest.fixture
def mock(tmp_path: Path) -> Iterator[str]:
    fixture = tmp_path / "fixture.json"
    fixture.write_text(json.dumps(FIXTURE))
    process, url = _started(
        [
            sys.executable,
            "-m",
            "mock_idp",
            "serve",
            "--port",
            "0",
            "--fixture",
            str(fixture),
            "--admin-token",
            ADMIN,
            "--state-dir",
            str(tmp_path / "mock-state"),
        ],  # fmt: skip
        "mock-idp listening on",
    )
    yield url
    _stop(process)


class Connector:
    """``idp-connector serve`` over a store with push directory ``hook`` of ``acme``."""

    def __init__(self, folder: Path) -> None:
        self.config = folder / "connector.toml"
        self.config.write_text(CONFIG.format(store=folder / "store.db"))
        self.run("config", "apply", "--yes")
        self.run(
            "directories", "add", "hook", "--provider", "scim", "--mode", "push", "--domain", "example.com"
        )
        self.token = self.run("directories", "token", "hook").stdout.strip()
        self.process, self.url = _started(
            [sys.executable, "-m", "connector", "--config", str(self.config), "serve", "--port", "0"],
            "idp-connector serving on",
        )

    def run(self, *args: str) -> Any:
        result = CliRunner().invoke(cli, ["--config", str(self.config), *args], env={"PUSH_E2E_UNUSED": "x"})
        assert result.exit_code == 0, f"{args}: {result.output}"
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "--json").stdout)

    def accounts(self) -> dict[str, dict[str, Any]]:
        return {a["email"].lower(): a for a in self.json("accounts", "export")["accounts"]}

    def stop(self) -> str:
        return _stop(self.process)


@pytest.fixture
def connector(tmp_path: Path) -> Iterator[Connector]:
    served = Connector(tmp_path)
    yield served
    if served.process.poll() is None:
        served.stop()


def push(vendor: str, mock: str, connector: Connector, state: Path) -> dict[str, Any]:
    command = [sys.executable, "-m", "mock_idp", "push", "--as", vendor, "--from", mock,
               "--admin-token", ADMIN, "--to", f"{connector.url}/scim/v2/acme/hook",
               "--state", str(state), "--json"]  # fmt: skip
    env = {**os.environ, "MOCK_IDP_PUSH_TOKEN": connector.token}
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert connector.token not in done.stdout + done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    report["exit"] = done.returncode
    return report


ACTIVE_INTERNAL = {f"eng{i:02d}@example.com" for i in range(1, 13)}


@pytest.mark.parametrize("vendor", ["entra", "okta"])
def test_a_push_gives_the_pull_contract(vendor: str, mock: str, connector: Connector, tmp_path: Path) -> None:
    state = tmp_path / f"push-{vendor}.json"
    first = push(vendor, mock, connector, state)
    user_failures = [f for f in first["failures"] if "/Groups" not in str(f)]
    assert user_failures == [], first["failures"]

    accounts = connector.accounts()
    active = ACTIVE_INTERNAL | {"ravi.patel@acme-consulting.com", "kim.lee@gmail.com"}
    assert active <= set(accounts), sorted(accounts)
    assert all(accounts[e]["status"] == "active" for e in active)
    # suspended in the mock: Entra sends it inactive (no account); Okta creates it active, then
    # deactivates it, so its account exists, inactive
    assert accounts.get("zoe.inactive@example.com", {}).get("status", "absent") != "active"
    # Two users with one email: a pull sees both at once (a conflict, no account); a push brings
    # them one request apart, so the first is linked and the second is the conflict.
    conflicts = connector.json("conflicts")["conflicts"]
    assert [c["email"].lower() for c in conflicts] == ["shared@example.com"]
    assert conflicts[0]["account_ids"] == [accounts["shared@example.com"]["account_id"]]

    if vendor == "okta" and first["failures"]:
        pytest.xfail(
            f"the mock's SCIM server refuses Okta's group PATCH, being fixed: {first['failures'][:1]}"
        )
    billing = connector.json("billing")["billing"]
    assert billing["per_product"] == {
        "jira-software": 7,
        "confluence": 2,
    }  # Engineering's eng04..eng10: nested groups are not pushed
    assert billing["billable"] == 9  # eng04..eng12; ravi (Engineering) is external, never billed
    assert billing["external_with_access"] == 1

    Admin(mock).deactivate("eng12")
    second = push(vendor, mock, connector, state)
    assert second["exit"] == 0 and second["failures"] == [], second
    assert connector.accounts()["eng12@example.com"]["status"] != "active"
    assert connector.json("billing")["billing"]["billable"] == 8

    # beyond the guard: Okta's first push deactivated zoe, so eng10 is staged there too; eng11 is
    # the third (Entra) or fourth (Okta) deactivation within the window on either
    for user in ("eng10", "eng11"):
        Admin(mock).deactivate(user)
    third = push(vendor, mock, connector, state)
    assert third["exit"] == 0 and third["failures"] == [], third
    accounts = connector.accounts()
    held = {s["account_id"]: s for s in connector.json("staged", "list")["staged"]}
    assert accounts["eng11@example.com"]["account_id"] in held
    assert all(accounts[e]["status"] == "active" for e in accounts if accounts[e]["account_id"] in held)
    assert connector.json("billing")["billing"]["billable"] == 8 - (2 - len(held))
    approved = connector.run("staged", "approve", "hook", "--all")
    assert f"approved {len(held)} held deactivation(s)" in approved.stdout
    accounts = connector.accounts()
    assert accounts["eng10@example.com"]["status"] != "active"
    assert accounts["eng11@example.com"]["status"] != "active"
    assert connector.json("billing")["billing"]["billable"] == 6
    assert connector.json("staged", "list")["staged"] == []
    assert connector.token not in connector.stop()
