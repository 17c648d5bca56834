"""``directories add --certificate-file``: an Entra directory signing in with a certificate, its key
and certificate sealed in the store and checked against each other."""

from __future__ import annotations

import json
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from click.testing import Result
from joserfc.jwk import RSAKey

from connector.api.opening import open_connector
from connector.cli.main import cli
from mock_idp.state.certificates import self_signed_certificate

FIXTURES = Path(__file__).parents[2] / "mock_idp" / "fixtures"
CONFIG = """
[store]
url = "sqlite:///{store}"

[[organizations]]
id = "acme"
verified_domains = ["example.com"]

[[organizations.directories]]
id = "main"
provider = "scim"
base_url = "https://acme.example.com/scim/v2"
auth = {{ method = "bearer", token_env = "CERT_TEST_TOKEN" }}
"""


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CERT_TEST_TOKEN", "x")
    monkeypatch.delenv("CONNECTOR_SECRET_KEYS", raising=False)
    monkeypatch.delenv("CONNECTOR_ORG", raising=False)
    path = tmp_path / "connector.toml"
    path.write_text(CONFIG.format(store=tmp_path / "store.sqlite"))
    key = _invoke(path, "secrets", "new-key").stdout.strip()
    monkeypatch.setenv("CONNECTOR_SECRET_KEYS", key)
    assert _invoke(path, "config", "apply", "--yes").exit_code == 0
    return path


def _invoke(config: Path, *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args], input=stdin)


def _add(config: Path, certificate: Path) -> Result:
    return _invoke(
        config,
        "directories", "add", "entra", "--provider", "azure_ad",
        "--base-url", "https://graph.microsoft.com/v1.0", "--tenant", "contoso.onmicrosoft.com",
        "--auth-method", "private_key_jwt", "--client-id", "app-1",
        "--secret-stdin", "--certificate-file", str(certificate), "--json",
        stdin=(FIXTURES / "entra-app-key.pem").read_text(),
    )  # fmt: skip


def test_the_certificate_is_stored_sealed_and_used(config: Path) -> None:
    added = _add(config, FIXTURES / "entra-app-certificate.pem")
    assert added.exit_code == 0, added.output
    names = {s["name"] for s in json.loads(added.stdout)["directory"]["secrets"]}
    assert names == {"private_key", "certificate"}
    assert "BEGIN CERTIFICATE" not in added.stdout and "PRIVATE KEY" not in added.stdout
    with open_connector(config, org="acme") as connector:
        assert connector.directory_problems.get("entra") is None
        assert "entra" in connector.directory_ids()


def test_a_certificate_of_another_key_is_refused(config: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.pem"
    now = datetime.now(timezone.utc)
    key = RSAKey.generate_key(2048).as_pem(private=True).decode()
    other.write_text(self_signed_certificate(key, "other", now - timedelta(days=1), now + timedelta(days=30)))
    added = _add(config, other)
    assert added.exit_code == 2
    assert "certificate" in added.output.lower()


def test_the_certificate_goes_with_private_key_jwt(config: Path) -> None:
    refused = _invoke(
        config,
        "directories", "add", "okta", "--provider", "okta", "--base-url", "https://acme.okta.com",
        "--auth-method", "ssws", "--secret-env-ref", "OKTA_TOKEN",
        "--certificate-file", str(FIXTURES / "entra-app-certificate.pem"),
    )  # fmt: skip
    assert refused.exit_code == 2 and "private_key_jwt" in refused.output
