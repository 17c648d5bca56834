"""``check`` against the mock served over https: without the CA it names the key that fixes it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from connector.cli.main import cli
from mock_idp.server import MockIdpServer
from mock_idp.state.credentials import default_credentials
from mock_idp.state.generator import generate

pytestmark = pytest.mark.e2e

SEED = 3


@pytest.fixture(scope="module")
def https_mock() -> Iterator[MockIdpServer]:
    with MockIdpServer(generate(users=5, groups=2, seed=SEED), tls=True) as server:
        yield server


def _config(tmp_path: Path, server: MockIdpServer, tls: str) -> Path:
    path = tmp_path / "connector.toml"
    path.write_text(
        f"""
[organization]
verified_domains = ["example.com"]
{tls}
[http]
max_retries = 0

[[directories]]
id = "scim"
provider = "scim"
base_url = "{server.url}/scim/v2"
auth = {{ method = "bearer", token_env = "TLS_TEST_SCIM_TOKEN" }}
"""
    )
    return path


def _check(config: Path) -> tuple[int, dict]:
    token = default_credentials(SEED).scim_token
    result = CliRunner().invoke(
        cli, ["--config", str(config), "check", "--json"], env={"TLS_TEST_SCIM_TOKEN": token}
    )
    return result.exit_code, json.loads(result.stdout)["directories"][0]


def test_an_unknown_ca_names_the_tls_key(tmp_path, https_mock):
    code, report = _check(_config(tmp_path, https_mock, ""))
    assert code == 4
    assert "TLS verification failed" in report["detail"]
    assert "ca_bundle in [tls]" in report["detail"]


def test_the_named_key_fixes_it(tmp_path, https_mock):
    code, report = _check(_config(tmp_path, https_mock, f'[tls]\nca_bundle = "{https_mock.ca_file}"\n'))
    assert code == 0, report
    assert report["ok"] is True


def test_the_table_shows_the_key_names_as_written(tmp_path, https_mock):
    """Square brackets in a message are text, not terminal markup: [tls] stays on the screen."""
    token = default_credentials(SEED).scim_token
    result = CliRunner().invoke(
        cli, ["--config", str(_config(tmp_path, https_mock, "")), "check"], env={"TLS_TEST_SCIM_TOKEN": token}
    )
    assert result.exit_code == 4
    shown = " ".join(result.stdout.split())
    assert "[tls]" in shown and "[directories.tls]" in shown


def test_https_to_a_server_without_tls_says_so(tmp_path):
    with MockIdpServer(generate(users=5, groups=2, seed=SEED)) as plain:
        config = _config(tmp_path, plain, "")
        config.write_text(config.read_text().replace("http://", "https://"))
        code, report = _check(config)
    assert code == 4
    assert "does not answer TLS" in report["detail"] and "http://" in report["detail"]
    assert "ca_bundle" not in report["detail"]
