"""``mock-idp``: generate through CliRunner; serve as a real subprocess on a free port."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from mock_idp.cli import main
from mock_idp.state.credentials import default_credentials
from mock_idp.state.fixtures import SAMPLE_FIXTURE
from mock_idp.state.fixtures import load_fixture


def test_generate_writes_a_loadable_fixture(tmp_path: Path) -> None:
    out = tmp_path / "fixture.json"
    result = CliRunner().invoke(
        main, ["generate", "--users", "30", "--groups", "4", "--seed", "2", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    directory = load_fixture(out)
    assert (len(directory.users), len(directory.groups), directory.seed) == (30, 4, 2)
    assert {c.dialect for c in directory.clients.values()} == {"okta", "graph", "scim"}


def test_generate_to_stdout_without_credentials() -> None:
    result = CliRunner().invoke(
        main, ["generate", "--users", "5", "--groups", "3", "--no-credentials", "--cycle"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert len(data["users"]) == 5 and data["clients"] == [] and data["api_tokens"] == []


def test_generate_to_a_missing_folder_names_the_file(tmp_path: Path) -> None:
    out = tmp_path / "no-such-folder" / "fixture.json"
    result = CliRunner().invoke(main, ["generate", "--users", "3", "--out", str(out)])
    assert result.exit_code == 1
    assert f"cannot write {out}: No such file or directory" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_generate_refuses_an_impossible_cycle() -> None:
    result = CliRunner().invoke(main, ["generate", "--groups", "2", "--cycle"])
    assert result.exit_code == 1 and "at least three groups" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fixture", str(SAMPLE_FIXTURE), "--users", "3"], "either --fixture or --users/--groups"),
        (["--fault", "{nope"], "not JSON"),
        (["--fault", '{"kind": "explode"}'], "unknown fault kind 'explode'"),
        (["--rate-limit", "okta"], "expected DIALECT=PER_MINUTE"),
        (["--rate-limit", "ldap=5"], "unknown dialect 'ldap'"),
    ],
)
def test_serve_refuses_bad_options(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["serve", "--port", "0", *args])
    assert result.exit_code != 0 and message in result.output


def test_serve_refuses_a_bad_fixture(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"users": [{"user_name": "a@b.c", "status": "ACTIV"}]}', encoding="utf-8")
    result = CliRunner().invoke(main, ["serve", "--port", "0", "--fixture", str(bad)])
    assert result.exit_code == 1 and "users[0].status: unknown status 'ACTIV'" in result.output


class Served:
    """A ``python -m mock_idp serve`` child and the banner it printed."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mock_idp", "serve", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        watchdog = threading.Timer(60, self.proc.kill)  # a child that never prints must not hang the run
        watchdog.start()
        lines = []
        for line in self.proc.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("  token URL:") and "/scim/" in line:
                break
        watchdog.cancel()
        self.banner = "\n".join(lines)
        found = re.match(r"mock-idp listening on (\S+)", self.banner)
        assert found, self.banner + (self.proc.stderr.read() if self.proc.stderr else "")
        self.url = found.group(1)

    def value(self, label: str) -> str:
        found = re.search(rf"^\s+{re.escape(label)}:\s+(\S+)", self.banner, re.M)
        assert found, f"{label} not in banner:\n{self.banner}"
        return found.group(1)

    def stop(self, sig: int = signal.SIGINT) -> tuple[int, str]:
        self.proc.send_signal(sig)
        _, err = self.proc.communicate(timeout=20)
        return self.proc.returncode, err


@pytest.fixture
def serve() -> Iterator[list[Served]]:
    started: list[Served] = []
    yield started
    for served in started:
        if served.proc.poll() is None:
            served.proc.kill()
            served.proc.communicate()


@pytest.mark.e2e
def test_serve_prints_working_credentials_and_stops_on_ctrl_c(serve: list[Served]) -> None:
    served = Served(
        "--users", "12", "--groups", "3", "--seed", "3", "--rate-limit", "okta=40", "--admin-token", "t0k"
    )
    serve.append(served)
    creds = default_credentials(3)
    assert served.value("SSWS token") == creds.okta_api_token
    assert served.value("bearer token") == creds.scim_token
    assert served.value("base URL") == f"{served.url}/v1.0"
    key_file = Path(served.value("key file"))
    assert key_file.read_text() == creds.okta_private_key_pem
    cert_file, cert_key = Path(served.value("cert file")), Path(served.value("cert key"))
    assert cert_file.read_text() == creds.graph_certificate_pem  # the Entra app's certificate credential
    assert cert_key.read_text() == creds.graph_private_key_pem and cert_key.stat().st_mode & 0o077 == 0
    users = requests.get(
        f"{served.url}/api/v1/users", headers={"Authorization": f"SSWS{creds.okta_api_token}"}, timeout=10
    )
    assert users.status_code == 200 and users.headers["X-Rate-Limit-Limit"] == "40"
    state = requests.get(
        f"{served.url}/_admin/state", headers={"Authorization": "Bearer t0k"}, timeout=10
    ).json()
    assert state["users"] == 12 and state["tenant"]["seed"] == 3
    code, err = served.stop()
    assert code == 0 and "stopped" in err
    assert not key_file.exists()  # the temporary state directory is removed on exit


@pytest.mark.e2e
def test_serve_with_tls_and_a_fixture(serve: list[Served], tmp_path: Path) -> None:
    served = Served("--fixture", str(SAMPLE_FIXTURE), "--tls", "--state-dir", str(tmp_path))
    serve.append(served)
    assert served.url.startswith("https://")
    ca_file = served.value("CA file")
    assert Path(ca_file).parent == tmp_path
    assert (tmp_path / "okta-0oasample0kta0client.pem").exists()  # the sample's key is the seed's
    token = "00sampleOktaApiToken0123456789abcdefghij"
    response = requests.get(
        f"{served.url}/api/v1/groups", headers={"Authorization": f"SSWS {token}"}, verify=ca_file, timeout=10
    )
    assert response.status_code == 200 and len(response.json()) == 5
    assert served.stop()[0] == 0
    assert Path(ca_file).exists()  # --state-dir is kept


@pytest.mark.e2e
def test_sigterm_stops_serve_and_removes_its_key_files(serve: list[Served]) -> None:
    served = Served("--users", "3", "--groups", "1")
    serve.append(served)
    key_file = Path(served.value("key file"))
    assert key_file.is_file()
    code, err = served.stop(signal.SIGTERM)
    assert code == 0 and "mock-idp: stopped" in err
    assert not key_file.exists() and not key_file.parent.exists()


@pytest.mark.e2e
def test_the_sample_fixture_is_named_from_anywhere(serve: list[Served], tmp_path: Path, monkeypatch) -> None:
    """After pip install there is no mock_idp/fixtures folder beside the user: --fixture sample."""
    monkeypatch.chdir(tmp_path)
    served = Served("--fixture", "sample")
    serve.append(served)
    assert "directory: " in served.banner and "(seed " in served.banner
    code, _ = served.stop()
    assert code == 0


def test_an_unknown_fixture_is_a_usage_error() -> None:
    from click.testing import CliRunner

    from mock_idp.cli import main as mock_cli

    result = CliRunner().invoke(mock_cli, ["serve", "--fixture", "no-such.json"])
    assert result.exit_code == 2 and "no such file (or name 'sample')" in result.output


@pytest.mark.e2e
def test_serve_writes_a_connector_config_that_works_as_the_readme_says(
    serve: list[Served], tmp_path: Path
) -> None:
    """README, "QA against the mock IdP": serve --write-config, then check and sync with that file."""
    from click.testing import CliRunner

    from connector.cli.main import cli as connector_cli

    config = tmp_path / "mock" / "connector.toml"
    served = Served("--seed", "1", "--users", "30", "--groups", "4", "--write-config", str(config))
    serve.append(served)
    assert config.is_file() and (config.parent / "secrets" / "scim-token").stat().st_mode & 0o077 == 0
    assert 'certificate_file = "secrets/entra-app-certificate.pem"' in config.read_text()  # Entra's cert
    checked = CliRunner().invoke(connector_cli, ["--config", str(config), "check"])
    assert checked.exit_code == 0, checked.output
    synced = CliRunner().invoke(connector_cli, ["--config", str(config), "-q", "sync", "--json"])
    assert synced.exit_code == 0, synced.output
    assert [d["directory_id"] for d in json.loads(synced.stdout)["directories"]] == [
        "mock-okta", "mock-entra", "mock-scim"
    ]  # fmt: skip
    assert served.stop()[0] == 0


@pytest.mark.e2e
def test_the_mock_example_syncs_and_bills_as_its_comments_say(serve: list[Served], tmp_path: Path) -> None:
    """examples/mock.toml against `mock-idp serve` (seed 0), its credentials exported from the banner."""
    from click.testing import CliRunner

    from connector.cli.main import cli as connector_cli

    served = Served()
    serve.append(served)
    example = (Path(__file__).resolve().parents[2] / "examples" / "mock.toml").read_text()
    config = tmp_path / "mock.toml"
    config.write_text(example.replace("http://127.0.0.1:8000", served.url))
    env = {
        "MOCK_OKTA_TOKEN": served.value("SSWS token"),
        "MOCK_GRAPH_SECRET": served.value("secret"),
        "MOCK_SCIM_TOKEN": served.value("bearer token"),
    }
    synced = CliRunner(env=env).invoke(connector_cli, ["--config", str(config), "-q", "sync", "--json"])
    assert synced.exit_code == 0, synced.output
    okta, entra, scim = json.loads(synced.stdout)["directories"]
    assert okta["directory_id"] == "mock-okta" and okta["counts"]["create_account"] > 20  # example.com staff
    assert okta["billing_after"]["billable"] > 0
    assert served.stop()[0] == 0
