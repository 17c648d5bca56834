"""connector.config.loader: TOML and dicts into typed settings, with errors that name key and fix."""

from __future__ import annotations

import copy
from datetime import timedelta
from pathlib import Path

import pytest

from connector.config.loader import config_from_dict
from connector.config.loader import load_config
from connector.errors import ConfigError
from connector.net.settings import Secret

SECRET = "s3cr3t-value-never-shown"


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "okta-key.pem"
    path.write_text("-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n")
    return path


@pytest.fixture
def env() -> dict[str, str]:
    return {"ENTRA_SECRET": SECRET, "SCIM_TOKEN": "tok-123"}


@pytest.fixture
def data(secret_file: Path) -> dict:
    return {
        "organization": {"verified_domains": ["Example.com", "example.org"]},
        "products": {"jira-software": ["Engineering"], "confluence": ["Everyone", "Contractors"]},
        "guard": {"min_deactivations": 3, "max_deactivation_ratio": 0.2},
        "sync": {"missing_threshold": 3, "full_read_interval": "12h"},
        "directories": [
            {
                "id": "okta-main",
                "provider": "okta",
                "base_url": "https://example.okta.com/",
                "page_size": 200,
                "auth": {
                    "method": "private_key_jwt",
                    "client_id": "0oa123",
                    "private_key_file": str(secret_file),
                    "key_id": "kid-1",
                    "scopes": ["okta.users.read", "okta.groups.read"],
                },
            },
            {
                "id": "entra",
                "provider": "azure_ad",
                "base_url": "https://graph.microsoft.com/v1.0",
                "tenant": "contoso.onmicrosoft.com",
                "rate_share": 0.3,
                "tls": {"verify": False},
                "auth": {
                    "method": "client_secret",
                    "client_id": "app-1",
                    "client_secret_env": "ENTRA_SECRET",
                },
            },
            {
                "id": "scim",
                "provider": "scim",
                "base_url": "https://scim.example.net/scim/v2",
                "auth": {"method": "bearer", "token_env": "SCIM_TOKEN"},
            },
        ],
    }


def load(data: dict, env: dict[str, str], tmp_path: Path):
    return config_from_dict(data, env=env, base_dir=tmp_path)


def error_of(data: dict, env: dict[str, str], tmp_path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load(data, env, tmp_path)
    assert info.value.exit_code == 2
    return str(info.value)


def test_full_config_is_typed(data, env, tmp_path, secret_file):
    config = load(data, env, tmp_path)
    assert config.verified_domains == ("example.com", "example.org")
    assert config.store_url == f"sqlite:///{tmp_path / 'connector.sqlite'}"
    assert config.product_grants == {
        "jira-software": ("Engineering",),
        "confluence": ("Everyone", "Contractors"),
    }
    assert config.guard == {"min_deactivations": 3, "max_deactivation_ratio": 0.2}
    assert config.missing_threshold == 3
    assert config.full_read_interval == timedelta(hours=12)
    okta, entra, scim = config.directories
    assert okta.provider == "okta"
    assert okta.settings.base_url == "https://example.okta.com"
    assert okta.settings.page_size == 200
    assert okta.settings.auth.private_key == Secret(secret_file.read_text().strip())
    assert okta.settings.auth.key_id == "kid-1"
    assert okta.settings.auth.scopes == ("okta.users.read", "okta.groups.read")
    assert okta.settings.http.verify_tls is True
    assert entra.settings.options["tenant"] == "contoso.onmicrosoft.com"
    assert entra.settings.auth.client_secret == Secret(SECRET)
    assert entra.settings.http.rate_share == 0.3
    assert entra.settings.http.verify_tls is False
    assert scim.settings.auth.token == Secret("tok-123")
    assert config.directory("entra") is entra
    assert config.select(None) == config.directories


def test_secrets_never_show(data, env, tmp_path):
    config = load(data, env, tmp_path)
    assert SECRET not in repr(config)
    assert SECRET not in str(config.directories[1].settings)


def test_toml_file_and_relative_paths(tmp_path: Path, env):
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "scim.token").write_text("file-token\n")
    (tmp_path / "connector.toml").write_text(
        """
[organization]
verified_domains = ["example.com"]

[store]
url = "sqlite:///state/connector.sqlite"

[[directories]]
id = "scim"
provider = "scim"
base_url = "http://127.0.0.1:8000/scim/v2"
auth = { method = "bearer", token_file = "keys/scim.token" }
"""
    )
    config = load_config(tmp_path / "connector.toml", env={})
    assert config.store_url == f"sqlite:///{tmp_path / 'state' / 'connector.sqlite'}"
    assert config.directories[0].settings.auth.token == Secret("file-token")


def test_store_url_from_environment(data, env, tmp_path):
    config = load(data, {**env, "CONNECTOR_STORE_URL": "postgresql+psycopg://db/x"}, tmp_path)
    assert config.store_url == "postgresql+psycopg://db/x"


def test_sync_settings_follow_the_config(data, env, tmp_path):
    settings = load(data, env, tmp_path).sync_settings()
    assert settings.verified_domains == ("example.com", "example.org")
    assert settings.guard.min_deactivations == 3
    assert settings.guard.max_deactivation_ratio == 0.2
    assert settings.missing_threshold == 3


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="configuration file not found; pass --config"):
        load_config(tmp_path / "nope.toml")


def test_bad_toml(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[organization\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda d: d["organization"].update(verified_domain=[]),
            "organization.verified_domain: unknown key; did you mean 'verified_domains'?",
        ),
        (lambda d: d.update(prodcts={}), "prodcts: unknown key; did you mean 'products'?"),
        (
            lambda d: d["directories"][0].update(base_ur="x"),
            "directories[0].base_ur: unknown key; did you mean 'base_url'?",
        ),
        (
            lambda d: d["directories"][2]["auth"].update(scope=["a"]),
            "directories[2].auth.scope: unknown key; did you mean 'scopes'?",
        ),
        (
            lambda d: d["guard"].update(max_deactivation=3),
            "guard.max_deactivation: unknown key; did you mean 'max_deactivations'?",
        ),
        (
            lambda d: d["directories"][1]["auth"].update(client_secret="x"),
            "directories[1].auth.client_secret: secrets are never written in the configuration; "
            "use client_secret_env or client_secret_file",
        ),
        (
            lambda d: d["directories"][0].update(provider="octa"),
            "directories[0].provider: 'octa' is not known; did you mean 'okta'?",
        ),
        (
            lambda d: d["directories"][0]["auth"].update(method="jwt"),
            "directories[0].auth.method: 'jwt' is not known",
        ),
        (
            lambda d: d["directories"][1].pop("tenant"),
            "directories[1].tenant: is required for provider azure_ad",
        ),
        (
            lambda d: d["directories"][2].update(id="okta-main"),
            "directories[2].id: 'okta-main' is used twice",
        ),
        (
            lambda d: d["directories"][2].update(base_url="ftp://x"),
            "directories[2].base_url: 'ftp://x' is not an http(s) URL",
        ),
        (
            lambda d: d["directories"][0].update(page_size=0),
            "directories[0].page_size: must be a whole number >= 1, not 0",
        ),
        (
            lambda d: d["directories"][1].update(rate_share=1.5),
            "directories[1].rate_share: must be a share from above 0 to 1",
        ),
        (
            lambda d: d["guard"].update(max_shrink_ratio="10%"),
            "guard.max_shrink_ratio: must be a share from 0 to 1, not '10%'",
        ),
        (
            lambda d: d["sync"].update(full_read_interval="daily"),
            "sync.full_read_interval: 'daily' is not a duration",
        ),
        (lambda d: d["organization"].update(verified_domains=[]), "organization.verified_domains: is empty"),
        (
            lambda d: d["organization"].update(verified_domains=["not a domain"]),
            "organization.verified_domains[0]: 'not a domain' is not a domain name",
        ),
        (lambda d: d.pop("organization"), "organization: is missing"),
        (lambda d: d.update(directories=[]), "directories: no directory is configured"),
        (
            lambda d: d["directories"][2]["auth"].update(token_env="NOPE"),
            "directories[2].auth.token_env: the environment variable NOPE is not set or empty; "
            "export NOPE, or use token_file",
        ),
        (
            lambda d: d["directories"][0]["auth"].update(private_key_file="missing.pem"),
            "directories[0].auth.private_key_file: ",
        ),
        (
            lambda d: d["directories"][2]["auth"].update(client_secret_env="X"),
            "directories[2].auth.client_secret_env: is not used by method bearer",
        ),
        (
            lambda d: d["directories"][2]["auth"].update(client_id="c"),
            "directories[2].auth.client_id: is not used by method bearer",
        ),
        (
            lambda d: d["directories"][1]["auth"].pop("client_id"),
            "directories[1].auth.client_id: is required for method client_secret",
        ),
        (
            lambda d: d["directories"][2]["auth"].pop("token_env"),
            "directories[2].auth: has no token reference; set token_env",
        ),
        (
            lambda d: d["directories"][1]["auth"].update(client_secret_file="x"),
            "and client_secret_file are both set",
        ),
        (lambda d: d["directories"][2].pop("auth"), "directories[2].auth: is missing"),
        (
            lambda d: d["directories"][2].update(tls={"ca_bundle": "nope.pem"}),
            "directories[2].tls.ca_bundle: ",
        ),
    ],
)
def test_errors_name_key_problem_and_fix(data, env, tmp_path, edit, expected):
    data = copy.deepcopy(data)
    edit(data)
    message = error_of(data, env, tmp_path)
    assert message.startswith("<dict>: ")
    assert expected in message
    assert SECRET not in message


def test_missing_secret_file_says_where(data, env, tmp_path):
    data["directories"][0]["auth"]["private_key_file"] = "missing.pem"
    message = error_of(data, env, tmp_path)
    assert str(tmp_path / "missing.pem") in message
    assert "does not exist or is not a file; fix the path" in message


def test_unknown_directory_lists_ids(data, env, tmp_path):
    config = load(data, env, tmp_path)
    with pytest.raises(ConfigError, match="configured ids are: okta-main, entra, scim"):
        config.directory("nope")
