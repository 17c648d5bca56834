"""``certificate_file`` / ``certificate_env``: an Entra app's certificate, checked against its key."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta
from datetime import timezone
from pathlib import Path

import pytest
from joserfc.jwk import RSAKey

from connector.config.loader import config_from_dict
from connector.errors import ConfigError
from mock_idp.state.certificates import self_signed_certificate

NOW = datetime.now(timezone.utc)
WHERE = "directories[0].auth"


@pytest.fixture(scope="module")
def key_pem() -> str:
    return RSAKey.generate_key(2048).as_pem(private=True).decode("ascii")


def cert_of(key_pem: str, start: int = -1, end: int = 365) -> str:
    return self_signed_certificate(key_pem, "app", NOW + timedelta(days=start), NOW + timedelta(days=end))


def entra(tmp_path: Path, key_pem: str, cert_pem: str, **auth: str) -> dict:
    (tmp_path / "app.key").write_text(key_pem)
    (tmp_path / "app.crt").write_text(cert_pem)
    settings = {
        "method": "private_key_jwt",
        "client_id": "app-1",
        "private_key_file": "app.key",
        "certificate_file": "app.crt",
        **auth,
    }
    return {
        "organization": {"verified_domains": ["example.com"]},
        "directories": [
            {
                "id": "entra",
                "provider": "azure_ad",
                "base_url": "https://graph.microsoft.com/v1.0",
                "tenant": "contoso.onmicrosoft.com",
                "auth": {k: v for k, v in settings.items() if v},
            }
        ],
    }


def error_of(data: dict, tmp_path: Path, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        config_from_dict(data, env=env or {}, base_dir=tmp_path)
    return str(info.value)


def test_the_certificate_file_is_read_beside_the_key(tmp_path, key_pem):
    cert = cert_of(key_pem)
    config = config_from_dict(entra(tmp_path, key_pem, cert), env={}, base_dir=tmp_path)
    auth = config.directory("entra").settings.auth
    assert auth.certificate is not None and auth.certificate.strip() == cert.strip()
    assert auth.private_key is not None and auth.private_key.reveal() == key_pem.strip()
    assert "BEGIN" not in repr(auth)


def test_the_certificate_from_the_environment_keeps_the_certificate_alone(tmp_path, key_pem):
    data = entra(tmp_path, key_pem, "", certificate_file="", certificate_env="APP_CERT")
    env = {"APP_CERT": key_pem + cert_of(key_pem)}  # a combined PEM: its key block is dropped
    auth = config_from_dict(data, env=env, base_dir=tmp_path).directory("entra").settings.auth
    assert auth.certificate is not None and "PRIVATE KEY" not in auth.certificate


def test_a_certificate_of_another_key_names_the_field(tmp_path, key_pem):
    other = RSAKey.generate_key(2048).as_pem(private=True).decode("ascii")
    text = error_of(entra(tmp_path, key_pem, cert_of(other)), tmp_path)
    assert f"{WHERE}.certificate_file: the certificate does not match the private key" in text
    assert key_pem.splitlines()[1] not in text


@pytest.mark.parametrize(
    ("start", "end", "problem"),
    [(-400, -1, "the certificate expired on"), (3, 30, "the certificate is not valid before")],
    ids=["expired", "not-yet-valid"],
)
def test_a_certificate_out_of_its_dates_names_the_field(tmp_path, key_pem, start, end, problem):
    text = error_of(entra(tmp_path, key_pem, cert_of(key_pem, start, end)), tmp_path)
    assert f"{WHERE}.certificate_file: {problem}" in text


def test_a_file_without_a_certificate_names_the_field(tmp_path, key_pem):
    text = error_of(entra(tmp_path, key_pem, "just text\n"), tmp_path)
    assert f"{WHERE}.certificate_file: is not a PEM certificate" in text


def test_an_unreadable_key_beside_a_certificate_names_the_key_field(tmp_path, key_pem):
    data = entra(tmp_path, key_pem, cert_of(key_pem))
    (tmp_path / "app.key").write_text("-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n")
    assert f"{WHERE}.private_key_file: is neither a PEM nor a JWK private key" in error_of(data, tmp_path)


def test_the_certificate_is_only_for_entra_and_private_key_jwt(tmp_path, key_pem):
    data = entra(tmp_path, key_pem, cert_of(key_pem))
    data["directories"][0].update(provider="okta", base_url="https://example.okta.com")
    assert "certificate_file: is only used by provider azure_ad" in error_of(data, tmp_path)

    data = entra(tmp_path, key_pem, cert_of(key_pem), method="client_secret", private_key_file="")
    data["directories"][0]["auth"]["client_secret_env"] = "SECRET"
    text = error_of(data, tmp_path, {"SECRET": "x"})
    assert "certificate_file: is only used by method private_key_jwt, not client_secret" in text


def test_both_references_are_refused(tmp_path, key_pem):
    data = entra(tmp_path, key_pem, cert_of(key_pem), certificate_env="APP_CERT")
    assert "certificate_env: and certificate_file are both set" in error_of(data, tmp_path)


def test_without_secrets_the_certificate_is_not_read(tmp_path, key_pem):
    data = entra(tmp_path, key_pem, cert_of(key_pem, -400, -1))  # expired, but never read
    config = config_from_dict(data, env={}, base_dir=tmp_path, secrets=False)
    assert config.directory("entra").settings.auth.certificate is None
