"""A configured directory into the stored record and back (connector/config/records.py).

References stay references; sealed secrets open with the vault; a secret that does not open
fails that directory alone, with an error that names it and shows neither secret nor token.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.config.loader import config_from_dict
from connector.config.records import directory_entry
from connector.config.records import load_directory
from connector.config.records import organization_config
from connector.config.records import organization_entry
from connector.config.records import secret_context
from connector.errors import ConfigError
from connector.errors import SecretKeyError
from connector.errors import SecretUndecryptableError
from connector.net.settings import Secret
from connector.store.registry import DirectoryEntry
from connector.vault import Vault

PLAINTEXT = "tok-PLAINTEXT-1234"


def _config(tmp_path: Path) -> dict[str, object]:
    (tmp_path / "token.txt").write_text("from-a-file\n")
    return {
        "organization": {"id": "acme", "name": "Acme", "verified_domains": ["acme.com"]},
        "products": {"wiki": ["Everyone"]},
        "guard": {"max_deactivations": 7},
        "directories": [
            {
                "id": "scim-main",
                "provider": "scim",
                "base_url": "https://scim.acme.test/v2",
                "auth": {"method": "bearer", "token_file": "token.txt"},
            },
            {
                "id": "okta-main",
                "provider": "okta",
                "base_url": "https://acme.okta.com",
                "auth": {"method": "ssws", "token_env": "RECORDS_TEST_OKTA"},
                "domains": ["acme.com"],
            },
        ],
    }


def test_references_stay_references_and_paths_become_absolute(tmp_path: Path) -> None:
    config = config_from_dict(_config(tmp_path), base_dir=tmp_path, env={"RECORDS_TEST_OKTA": PLAINTEXT})
    scim, okta = (directory_entry("acme", d, tmp_path) for d in config.directories)
    assert okta.settings == {
        "auth": {"method": "ssws", "token_env": "RECORDS_TEST_OKTA"},
        "domains": ["acme.com"],
    }
    assert scim.settings["auth"]["token_file"] == str(tmp_path / "token.txt")  # type: ignore[index]
    assert PLAINTEXT not in repr(okta) and not okta.secrets
    assert (okta.provider, okta.base_url, okta.mode) == ("okta", "https://acme.okta.com", "pull")
    loaded = load_directory(scim, None)
    assert loaded.problem is None
    assert loaded.directory.settings.auth.token == Secret("from-a-file")


def test_the_organization_round_trips(tmp_path: Path) -> None:
    config = config_from_dict(_config(tmp_path), base_dir=tmp_path, secrets=False)
    entry = organization_entry(config)
    assert entry.settings["guard"] == {"max_deactivations": 7}
    entries = [directory_entry("acme", d, tmp_path) for d in config.directories]
    again = organization_config(entry, entries, store_url="sqlite:///:memory:")
    assert again.verified_domains == config.verified_domains
    assert dict(again.product_grants) == dict(config.product_grants)
    assert again.guard == config.guard and again.missing_threshold == config.missing_threshold
    assert [d.id for d in again.directories] == ["scim-main", "okta-main"]


def _sealed(vault: Vault) -> DirectoryEntry:
    return DirectoryEntry(
        org_id="acme",
        directory_id="okta-data",
        provider="okta",
        base_url="https://acme.okta.com",
        settings={"auth": {"method": "client_secret", "client_id": "0oa1"}},
        secrets={
            "client_secret": vault.seal(
                PLAINTEXT, context=secret_context("acme", "okta-data", "client_secret")
            )
        },
    )


def test_a_sealed_secret_opens_with_the_vault() -> None:
    vault = Vault.from_keys(Vault.generate_key())
    loaded = load_directory(_sealed(vault), vault)
    assert loaded.problem is None
    assert loaded.directory.settings.auth.client_secret == Secret(PLAINTEXT)
    assert load_directory(_sealed(vault), None, secrets=False).directory.settings.auth.client_secret is None


def test_without_the_key_the_directory_carries_an_error_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    entry = _sealed(Vault.from_keys(Vault.generate_key()))
    monkeypatch.delenv("CONNECTOR_SECRET_KEYS", raising=False)
    monkeypatch.delenv("CONNECTOR_SECRET_KEYS_FILE", raising=False)
    loaded = load_directory(entry, None)
    assert isinstance(loaded.problem, SecretKeyError)
    assert "directory 'okta-data' of organization 'acme'" in str(loaded.problem)
    other = load_directory(entry, Vault.from_keys(Vault.generate_key()))
    assert isinstance(other.problem, SecretUndecryptableError)
    for problem in (loaded.problem, other.problem):
        assert PLAINTEXT not in str(problem) and entry.secrets["client_secret"] not in str(problem)
        assert "cannot run" in str(problem)


def test_a_sealed_secret_copied_to_another_directory_does_not_open() -> None:
    vault = Vault.from_keys(Vault.generate_key())
    entry = _sealed(vault)
    copied = DirectoryEntry(**{**entry.__dict__, "directory_id": "okta-other"})
    assert "sealed for" in str(load_directory(copied, vault).problem)


def test_a_bad_stored_record_is_a_config_error_naming_the_directory() -> None:
    entry = DirectoryEntry(
        org_id="acme",
        directory_id="broken",
        provider="okta",
        base_url="https://acme.okta.com",
        settings={"auth": {"method": "nope"}},
    )
    with pytest.raises(ConfigError, match=r"directory 'broken' \(stored\)"):
        load_directory(entry, None)
