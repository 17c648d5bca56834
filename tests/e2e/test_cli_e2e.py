"""End to end through the ``idp-connector`` CLI against ``mock-idp serve`` in its own process.

One mock serves all three dialects; each test reloads the same fixture through
the admin API, writes a config for one provider and a fresh SQLite store, and
drives the CLI.  Every provider must give the same answers (PRODUCT.md).
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from connector.cli.main import cli
from mock_idp.state.credentials import default_credentials

pytestmark = pytest.mark.e2e

SEED = 41
TENANT = "2f0b7e3c-0a6d-4c55-9d1e-7b0c8f3a9e10"
ADMIN = "e2e-admin-token-0123456789"
PROVIDERS = ("okta", "azure_ad", "scim")
INTERNAL = [f"eng{i:02d}" for i in range(1, 13)]
SYNC_KEYS = {
    "directory_id", "run_id", "full_read", "read_reason", "dry_run", "outcome", "counts", "bookkeeping",
    "conflicts", "skipped", "notes", "guard", "users_read", "billing_before", "billing_after", "requests",
    "seconds", "applied", "failed", "read_problems",
}  # fmt: skip
REVIEW_COLUMNS = ["email", "unique_identifier", "active", "groups", "action", "account_id", "note"]


def oid(ref: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"e2e:{ref}"))


def _user(ref: str, email: str, status: str = "ACTIVE", **extra: Any) -> dict[str, Any]:
    user_name = extra.pop("user_name", email)
    names = {"given_name": ref.title(), "family_name": "Tester"}
    return {
        "ref": ref,
        "id": oid(ref),
        "user_name": user_name,
        "email": email,
        "status": status,
        **names,
        **extra,
    }


FIXTURE: dict[str, Any] = {
    "tenant": {"id": TENANT, "domain": "e2e.onmicrosoft.com", "seed": SEED},
    "users": [
        *(_user(r, f"{r}@example.com") for r in INTERNAL),
        _user("ravi", "ravi.patel@acme-consulting.com"),
        _user(
            "kim",
            "kim.lee@gmail.com",
            user_type="Guest",
            creation_type="Invitation",
            external_user_state="Accepted",
        ),
        _user("zoe", "zoe.inactive@example.com", status="SUSPENDED"),
        _user("dup1", "shared@example.com", user_name="shared.one@example.com"),
        _user("dup2", "Shared@Example.com", user_name="shared.two@example.com"),
    ],  # fmt: skip
    "groups": [
        {"ref": "platform", "id": oid("platform"), "name": "Platform", "members": INTERNAL[:3]},
        {
            "ref": "eng",
            "id": oid("eng"),
            "name": "Engineering",
            "members": [*INTERNAL[3:10], "ravi"],
            "groups": ["platform"],
        },
        {
            "ref": "all",
            "id": oid("all"),
            "name": "Everyone",
            "members": [*INTERNAL, "ravi", "kim", "zoe", "dup1", "dup2"],
        },
        {"ref": "support", "id": oid("support"), "name": "Support", "members": INTERNAL[10:]},
    ],  # fmt: skip
}


@pytest.fixture(scope="module")
def mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``mock-idp serve`` on a free port, as a separate process; yields its URL."""
    work = tmp_path_factory.mktemp("mock")
    fixture = work / "fixture.json"
    fixture.write_text(json.dumps(FIXTURE))
    command = [sys.executable, "-m", "mock_idp", "serve", "--port", "0", "--fixture", str(fixture),
               "--admin-token", ADMIN, "--state-dir", str(work / "state")]  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        match = re.match(r"mock-idp listening on (\S+)", first)
        assert match, f"unexpected banner: {first!r}"
        yield match.group(1)
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


class Admin:
    """The mock's /_admin control plane."""

    def __init__(self, url: str) -> None:
        self.url = f"{url}/_admin"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {ADMIN}"

    def call(self, method: str, path: str, body: Any = None) -> Any:
        response = self.session.request(method, self.url + path, json=body, timeout=10)
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    def deactivate(self, ref: str) -> None:
        self.call("POST", f"/users/{oid(ref)}/deactivate", {"status": "SUSPENDED"})


@pytest.fixture
def admin(mock: str) -> Admin:
    admin = Admin(mock)
    admin.call("POST", "/fixture?mode=replace", FIXTURE)
    return admin


def write_config(folder: Path, url: str, provider: str) -> Path:
    creds = default_credentials(SEED)
    secrets = folder / "secrets"
    secrets.mkdir()
    (secrets / "okta.pem").write_text(creds.okta_private_key_pem)
    (secrets / "scim.token").write_text(creds.scim_token + "\n")
    keys = {
        "okta": [f'base_url = "{url}"', "[directories.auth]", 'method = "private_key_jwt"',
                 f'client_id = "{creds.okta_client_id}"', f'key_id = "{creds.okta_key_id}"',
                 'private_key_file = "secrets/okta.pem"'],
        "azure_ad": [f'base_url = "{url}/v1.0"', f'tenant = "{TENANT}"', f'authority = "{url}"',
                     "[directories.auth]", 'method = "client_secret"',
                     f'client_id = "{creds.graph_client_id}"', 'client_secret_env = "E2E_GRAPH_SECRET"'],
        "scim": [f'base_url = "{url}/scim/v2"', "[directories.auth]", 'method = "bearer"',
                 'token_file = "secrets/scim.token"'],
    }[provider]  # fmt: skip
    header = [
        "[organization]",
        'verified_domains = ["example.com"]',
        "[products]",
        'jira-software = ["Engineering"]',
        'confluence = ["Everyone"]',
        "[[directories]]",
        'id = "e2e"',
        f'provider = "{provider}"',
    ]
    path = folder / "connector.toml"
    path.write_text("\n".join(header + keys) + "\n")
    return path


class Cli:
    """Runs ``idp-connector --config <file> ...`` and decodes ``--json`` output."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.runner = CliRunner()
        self.env = {"E2E_GRAPH_SECRET": default_credentials(SEED).graph_client_secret}

    def run(self, *args: str, code: int = 0) -> Any:
        result = self.runner.invoke(cli, ["--config", str(self.config), *args], env=self.env)
        assert result.exit_code == code, f"{args}: exit {result.exit_code}\n{result.stdout}\n{result.stderr}"
        return result

    def json(self, *args: str, code: int = 0) -> Any:
        return json.loads(self.run(*args, "--json", code=code).stdout)

    def sync(self, *args: str, code: int = 0) -> dict[str, Any]:
        return self.json("sync", *args, code=code)["directories"][0]

    def accounts(self) -> dict[str, dict[str, Any]]:
        return {a["email"].lower(): a for a in self.json("accounts", "export")["accounts"]}


@pytest.fixture(params=PROVIDERS)
def run(request: pytest.FixtureRequest, admin: Admin, mock: str, tmp_path: Path) -> Cli:
    runner = Cli(write_config(tmp_path, mock, request.param))
    (tmp_path / "before.csv").write_text(
        "email,display_name,groups\n"
        "eng05@example.com,Eng Five (invited),\n"
        "ravi.patel@acme-consulting.com,Ravi,\n"
    )
    runner.run("accounts", "import", str(tmp_path / "before.csv"))
    return runner


def changed(report: dict[str, Any]) -> dict[str, int]:
    return {action: n for action, n in report["counts"].items() if n}


def test_check_reaches_the_directory(run: Cli):
    data = run.json("check")["directories"][0]
    assert data["ok"] is True, data
    assert data["error"] is None


def test_first_sync_creates_and_links_then_plans_nothing(run: Cli):
    first = run.sync()
    assert set(first) == SYNC_KEYS  # docs/cli.md
    assert first["applied"] and first["full_read"]
    assert first["counts"]["create_account"] == 12  # 11 internal (eng05 existed) + the guest
    assert first["counts"]["link"] == 2  # eng05 and ravi, invited before provisioning
    assert first["guard"]["tripped"] is False
    assert len(first["skipped"]) == 1  # zoe: suspended and never linked
    assert {c["email"].lower() for c in first["conflicts"]} == {"shared@example.com"}

    accounts = run.accounts()
    assert "shared@example.com" not in accounts  # a conflict links and creates nothing
    assert "zoe.inactive@example.com" not in accounts
    assert accounts["eng05@example.com"]["origin"] == "imported"
    assert "Engineering" in accounts["eng01@example.com"]["groups"]  # through nested Platform

    second = run.sync()
    assert changed(second) == {}, second["counts"]
    assert second["applied"]
    plan = run.json("plan")["directories"][0]
    assert plan["empty"] is True
    assert plan["changes"] == []
    assert plan["guard"]["tripped"] is False


def test_billing_counts_distinct_internal_accounts(run: Cli):
    run.sync()
    billing = run.json("billing")["billing"]
    assert billing["billable"] == 12  # eng01..eng12: all in Everyone; externals never billed
    assert billing["per_product"] == {"confluence": 12, "jira-software": 10}
    assert billing["external_with_access"] == 2  # ravi and the guest


def test_changes_in_the_idp_flow_through(run: Cli, admin: Admin):
    run.sync()
    before = run.accounts()
    admin.deactivate("eng12")
    admin.call("PATCH", f"/users/{oid('eng11')}", {"email": "eng11.renamed@example.com"})
    admin.call("DELETE", f"/groups/{oid('eng')}/members/{oid('eng10')}")

    report = run.sync()
    assert report["counts"]["deactivate"] == 1
    assert report["counts"]["update_account"] == 1
    after = run.accounts()
    assert after["eng12@example.com"]["status"] == "deactivated"
    assert after["eng11.renamed@example.com"]["account_id"] == before["eng11@example.com"]["account_id"]
    assert "eng11@example.com" not in after
    assert "Engineering" not in after["eng10@example.com"]["groups"]
    billing = run.json("billing")["billing"]
    assert billing["per_product"]["jira-software"] == 9
    assert billing["billable"] == 11
    assert changed(run.sync()) == {}


def test_a_full_read_plans_what_differs_and_whole_plans_everyone(run: Cli, admin: Admin):
    run.sync()
    admin.call("PATCH", f"/users/{oid('eng11')}", {"display_name": "Eleven Renamed"})
    full = run.sync("--full")
    assert full["full_read"] is True and full["counts"]["update_account"] == 1
    assert "planned only the 1 identities that differ from the last read" in full["read_reason"]
    whole = run.sync("--full", "--whole")
    assert whole["read_reason"].endswith("planned whole: a whole plan was asked for")
    assert changed(whole) == {}


def test_guard_stops_a_mass_deactivation_and_force_passes_it(run: Cli, admin: Admin):
    run.sync()
    for ref in INTERNAL[:5]:  # 5 of 14 linked accounts: 36%
        admin.deactivate(ref)
    stopped = run.sync(code=5)
    assert stopped["guard"]["tripped"] is True
    assert stopped["applied"] is False
    assert run.accounts()["eng01@example.com"]["status"] == "active"

    forced = run.sync("--force")
    assert forced["applied"] is True
    assert forced["counts"]["deactivate"] == 5
    assert run.accounts()["eng01@example.com"]["status"] == "deactivated"


def test_strict_turns_conflicts_into_exit_8(run: Cli):
    report = run.sync("--strict", code=8)
    assert report["conflicts"]
    assert report["applied"] is True


def test_review_csv_has_the_exact_columns(run: Cli, tmp_path: Path):
    out = tmp_path / "review.csv"
    summary = run.json("review", "--out", str(out))["directories"][0]
    with out.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == REVIEW_COLUMNS
    by_email = {r[0].lower(): dict(zip(REVIEW_COLUMNS, r, strict=True)) for r in rows[1:]}
    assert summary["rows"] == len(rows) - 1
    assert set(by_email) == {"ravi.patel@acme-consulting.com", "kim.lee@gmail.com"}
    assert by_email["ravi.patel@acme-consulting.com"]["action"] == "link"
    assert by_email["ravi.patel@acme-consulting.com"]["account_id"]
    assert by_email["kim.lee@gmail.com"]["action"] == "create"
    assert by_email["kim.lee@gmail.com"]["active"] == "yes"
    assert "Everyone" in by_email["kim.lee@gmail.com"]["groups"].split(";")

    everyone = tmp_path / "all.csv"
    run.run("review", "--all", "--out", str(everyone))
    with everyone.open(newline="") as handle:
        emails = {r["email"].lower() for r in csv.DictReader(handle)}
    assert {"eng01@example.com", "shared@example.com", "zoe.inactive@example.com"} <= emails


def test_saved_plan_applies_once_and_then_is_stale(run: Cli, tmp_path: Path):
    plan_file = tmp_path / "plan.json"
    run.run("plan", "--out", str(plan_file))
    applied = run.json("apply", str(plan_file))
    assert applied["result"]["applied"]["create_account"] == 12
    run.run("apply", str(plan_file), code=9)


def test_bad_key_and_missing_secret_fail_with_exit_2(mock: str, tmp_path: Path):
    config = write_config(tmp_path, mock, "azure_ad")
    runner = CliRunner()
    missing = runner.invoke(cli, ["--config", str(config), "sync"], env={"E2E_GRAPH_SECRET": ""})
    assert missing.exit_code == 2
    assert "directories[0].auth.client_secret_env: the environment variable E2E_GRAPH_SECRET is not set" in (
        missing.stderr
    )
    config.write_text(config.read_text().replace("[products]", "[product]"))
    bad = runner.invoke(cli, ["--config", str(config), "sync"], env={"E2E_GRAPH_SECRET": "x"})
    assert bad.exit_code == 2
    assert "product: unknown key; did you mean 'products'?" in bad.stderr


def test_wrong_secret_is_an_auth_failure_exit_3(mock: str, tmp_path: Path, admin: Admin):
    config = write_config(tmp_path, mock, "azure_ad")
    result = CliRunner().invoke(
        cli, ["--config", str(config), "sync"], env={"E2E_GRAPH_SECRET": "wrong-secret"}
    )
    assert result.exit_code == 3, result.stderr
    assert "wrong-secret" not in result.stderr + result.stdout


def test_python_m_connector_runs_the_same_cli(mock: str, tmp_path: Path, admin: Admin):
    config = write_config(tmp_path, mock, "scim")
    done = subprocess.run(
        [sys.executable, "-m", "connector", "--config", str(config), "sync", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (
        json.loads(done.stdout)["directories"][0]["counts"]["create_account"] == 14
    )  # 12 internal, the contractor, the guest


def test_readme_embedding_example_runs(mock: str, tmp_path: Path, admin: Admin, monkeypatch, capsys):
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    code = re.search(r"## Embedding it\n\n```python\n(.*?)```", readme, re.S)
    assert code is not None
    write_config(tmp_path, mock, "scim")
    monkeypatch.chdir(tmp_path)
    exec(compile(code.group(1), "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert "'create_account': 14" in printed
    assert (tmp_path / "review-e2e.csv").is_file()


def test_a_second_run_of_a_directory_exits_7(run: Cli):
    from connector.config.loader import load_config
    from connector.store import Store

    with Store.open(load_config(run.config, env=run.env).store_url) as store, store.run_lock("e2e"):
        result = run.run("sync", code=7)
    assert "another run is in progress for directory 'e2e'" in result.stderr
    assert run.sync()["applied"] is True


def test_debug_logs_never_show_a_secret(run: Cli):
    result = run.runner.invoke(cli, ["-v", "--config", str(run.config), "sync"], env=run.env)
    assert result.exit_code == 0, result.stderr
    assert "DEBUG" in result.stderr
    creds = default_credentials(SEED)
    key_body = creds.okta_private_key_pem.splitlines()[1]
    for secret in (creds.graph_client_secret, creds.scim_token, key_body):
        assert secret not in result.stderr
        assert secret not in result.stdout


def test_embedding_from_a_dict_with_secrets_in_memory(mock: str, tmp_path: Path, admin: Admin):
    from connector import Connector

    creds = default_credentials(SEED)
    data = {
        "organization": {"verified_domains": ["example.com"]},
        "store": {"url": "sqlite:///embedded.sqlite"},
        "products": {"confluence": ["Everyone"]},
        "directories": [
            {"id": "graph", "provider": "azure_ad", "base_url": f"{mock}/v1.0", "tenant": TENANT,
             "domains": ["example.com"],
             "authority": mock, "auth": {"method": "client_secret", "client_id": creds.graph_client_id,
                                         "client_secret_env": "GRAPH_SECRET"}},
            {"id": "scim", "provider": "scim", "base_url": f"{mock}/scim/v2",
             "auth": {"method": "bearer", "token_env": "SCIM_TOKEN"}},
        ],
    }  # fmt: skip
    env = {"GRAPH_SECRET": creds.graph_client_secret, "SCIM_TOKEN": creds.scim_token}
    with Connector.from_dict(data, base_dir=tmp_path, env=env) as conn:
        reports = conn.sync_all()
        assert [r.directory_id for r in reports] == ["graph", "scim"]
        assert reports[0].counts["create_account"] == 14
        # the same people through a second directory that manages no domain: nobody is taken over
        # (docs/contract.md, "Managed domains"): internal addresses are not its to link, and the
        # external accounts are already another directory's
        assert reports[1].counts["link"] == reports[1].counts["create_account"] == 0
        reasons = {c.idp_user_id: c.reason for c in reports[1].conflicts}
        assert len(reasons) == 16, (
            reasons
        )  # every active identity: 12 staff, 2 externals, 2 sharing one address
        assert all("does not manage" in r or "already linked" in r or "share" in r for r in reasons.values())
        assert conn.billing().per_product == {"confluence": 12}
    assert (tmp_path / "embedded.sqlite").is_file()


# ---------------------------------------------------------------------- contract v2, end to end

MALFORMED_STATUS = {
    "okta": (r"^/api/v1/users", {"status": "ACTIVE_V2"}),
    "azure_ad": (r"^/v1\.0/users", {"accountEnabled": "yes"}),
    "scim": (r"^/scim/v2/Users", {"active": "yes"}),
}


def shown_id(admin: Admin, provider: str, ref: str) -> str:
    """The id the provider's dialect shows for a fixture user (Okta has ids of its own)."""
    return admin.call("GET", f"/users/{oid(ref)}")["okta_id"] if provider == "okta" else oid(ref)


def _fault(admin: Admin, rule: dict[str, Any]) -> None:
    admin.call("POST", "/faults", rule)


def test_a_status_the_idp_does_not_document_deactivates_nobody(run: Cli, admin: Admin, request):
    """Found by a hostile test: users with status ACTIVE_V2 were deactivated at once.  Now each is
    malformed: here 1 of 20 objects, over 1%, so the run stops (exit 4) and nothing changes."""
    provider = request.node.callspec.params["run"]
    path, values = MALFORMED_STATUS[provider]
    run.sync()
    before = run.accounts()
    _fault(
        admin,
        {"kind": "rewrite", "path": path, "where": {"id": shown_id(admin, provider, "eng03")}, "set": values},
    )
    try:
        result = run.run("sync", "--full", code=4)
        assert "malformed" in result.stderr and "over 1%" in result.stderr
        assert run.accounts() == before
    finally:
        admin.call("DELETE", "/faults")
    assert changed(run.sync("--full")) == {}


def test_a_scim_group_answered_without_its_members_keeps_them(mock: str, admin: Admin, tmp_path: Path):
    """Found by a hostile test: a SCIM group answered without ``members`` lost its memberships."""
    run = Cli(write_config(tmp_path, mock, "scim"))
    run.sync()
    assert "Engineering" in run.accounts()["eng10@example.com"]["groups"]
    admin.call("DELETE", f"/groups/{oid('eng')}/members/{oid('eng10')}")
    _fault(admin, {"kind": "rewrite", "path": r"^/scim/v2/Groups", "where": {"id": oid("eng")},
                   "unset": ["members"]})  # fmt: skip
    try:
        for args in ((), ("--full",)):  # changes since the cursor, then a full read
            report = run.sync(*args)
            assert [(p["kind"], p["id"]) for p in report["read_problems"]] == [("members", oid("eng"))]
            assert report["counts"]["remove_membership"] == 0
            assert "Engineering" in run.accounts()["eng10@example.com"]["groups"]
    finally:
        admin.call("DELETE", "/faults")
    final = run.sync("--full")
    assert final["counts"]["remove_membership"] == 1 and final["read_problems"] == []  # known again
    assert "Engineering" not in run.accounts()["eng10@example.com"]["groups"]


def test_a_rename_onto_a_look_alike_of_another_address_is_a_conflict(run: Cli, admin: Admin):
    run.sync()
    before = run.accounts()
    admin.call("PATCH", f"/users/{oid('eng11')}", {"email": "\u0435ng10@example.com"})  # Cyrillic е
    report = run.sync()
    assert report["counts"]["update_account"] == 0
    conflict = next(c for c in report["conflicts"] if c["email"] == "\u0435ng10@example.com")
    assert conflict["kind"] == "email_update" and "look-alike" in conflict["reason"]
    assert run.accounts()["eng11@example.com"]["account_id"] == before["eng11@example.com"]["account_id"]
    open_ = run.json("conflicts")["conflicts"]
    assert [c["idp_user_id"] for c in open_ if c["kind"] == "email_update"] == [conflict["idp_user_id"]]
    run.run("sync", "--strict", "--json", code=8)  # the conflict stays open: --strict fails


def test_a_partner_directory_cannot_take_over_an_internal_account(mock: str, admin: Admin, tmp_path: Path):
    """Found by a hostile test: a partner SCIM identity with an executive's internal address linked
    to the executive's account, and kept it active after the primary directory deactivated them."""
    creds = default_credentials(SEED)
    (tmp_path / "okta.pem").write_text(creds.okta_private_key_pem)
    (tmp_path / "scim.token").write_text(creds.scim_token)
    config = tmp_path / "connector.toml"
    config.write_text(f"""
[organization]
verified_domains = ["example.com"]
[products]
confluence = ["Everyone"]
[[directories]]
id = "primary"
provider = "okta"
base_url = "{mock}"
domains = ["example.com"]
[directories.auth]
method = "private_key_jwt"
client_id = "{creds.okta_client_id}"
key_id = "{creds.okta_key_id}"
private_key_file = "okta.pem"
[[directories]]
id = "partner"
provider = "scim"
base_url = "{mock}/scim/v2"
auth = {{ method = "bearer", token_file = "scim.token" }}
""")  # fmt: skip
    run = Cli(config)
    reports = run.json("sync")["directories"]
    assert [r["directory_id"] for r in reports] == ["primary", "partner"]
    assert reports[1]["counts"]["link"] == reports[1]["counts"]["create_account"] == 0
    partner = {c["email"]: c["reason"] for c in run.json("conflicts", "-d", "partner")["conflicts"]}
    assert "a domain this directory does not manage" in partner["eng01@example.com"]
    admin.deactivate("eng01")
    run.json("sync")
    assert run.accounts()["eng01@example.com"]["status"] == "deactivated"
