"""Every example configuration, and the one in docs/configuration.md, loads cleanly."""

from __future__ import annotations

import re
import shutil
import sys
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from pathlib import Path

import pytest

from connector.config.loader import config_from_dict
from connector.config.loader import load_config
from connector.config.loader import load_config_file

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.toml"))
ENV = {
    "ENTRA_CLIENT_SECRET": "secret-from-env",
    "MOCK_OKTA_TOKEN": "okta-token",
    "MOCK_GRAPH_SECRET": "graph-secret",
    "MOCK_SCIM_TOKEN": "scim-token",
}


def _fill_referenced_files(data: object, folder: Path) -> None:
    """Point every ``*_file`` / ``ca_bundle`` at a real file in ``folder`` (the docs use absolute paths)."""
    if isinstance(data, dict):
        for key, value in data.items():
            if (key.endswith("_file") or key == "ca_bundle") and isinstance(value, str):
                target = folder / Path(value).name
                target.write_text("not-a-real-secret\n")
                data[key] = str(target)
            else:
                _fill_referenced_files(value, folder)
    elif isinstance(data, list):
        for item in data:
            _fill_referenced_files(item, folder)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_example_loads(example: Path, tmp_path: Path):
    copy = tmp_path / example.name
    shutil.copy(example, copy)
    data = tomllib.loads(example.read_text())
    for directory in _directories(data):
        assert not {"client_secret", "token", "private_key"} & set(directory["auth"]), (
            "secrets only by reference"
        )
    for name in re.findall(r'_file = "([^"]+)"', example.read_text()):
        (tmp_path / name).write_text("not-a-real-secret\n")
    _a_real_key_pair(data, tmp_path)
    whole = load_config_file(copy, env=ENV)
    for config in whole.organizations:
        assert config.directories
        assert all(d.settings.http.verify_tls for d in config.directories)


def _directories(data: dict) -> list[dict]:
    """Every directory table of a file: [[directories]], or each [[organizations]]'s."""
    return data.get("directories") or [d for org in data.get("organizations", []) for d in org["directories"]]


def test_the_organizations_example_declares_two_with_their_own_settings(tmp_path: Path):
    example = ROOT / "examples" / "organizations.toml"
    for name in re.findall(r'_file = "([^"]+)"', example.read_text()):
        (tmp_path / name).write_text("not-a-real-secret\n")
    copy = tmp_path / example.name
    shutil.copy(example, copy)
    whole = load_config_file(copy, env=ENV)
    acme, globex = whole.organizations
    assert (acme.org_id, acme.org_name, [d.id for d in acme.directories]) == ("acme", "Acme Corp", ["okta"])
    assert [d.id for d in globex.directories] == ["okta", "entra"]
    assert acme.guard == {"max_deactivations": 200}
    assert globex.guard == {"max_deactivation_ratio": 0.05}
    assert globex.managed_domains("okta") == ("globex.example",)


def _a_real_key_pair(data: dict, folder: Path) -> None:
    """A certificate is checked against its key as it is read: give each such directory a real pair."""
    from joserfc.jwk import RSAKey

    from mock_idp.state.certificates import self_signed_certificate

    for directory in _directories(data):
        auth = directory["auth"]
        if "certificate_file" in auth:
            key = RSAKey.generate_key(2048).as_pem(private=True).decode("ascii")
            now = datetime.now(timezone.utc)
            cert = self_signed_certificate(key, "example", now - timedelta(days=1), now + timedelta(days=90))
            (folder / Path(auth["private_key_file"]).name).write_text(key)
            (folder / Path(auth["certificate_file"]).name).write_text(cert)
            auth["private_key_file"] = str(folder / Path(auth["private_key_file"]).name)
            auth["certificate_file"] = str(folder / Path(auth["certificate_file"]).name)


def test_examples_cover_every_provider():
    providers = {d["provider"] for e in EXAMPLES for d in _directories(tomllib.loads(e.read_text()))}
    assert {"okta", "azure_ad", "scim"} <= providers


def test_configuration_doc_example_loads(tmp_path: Path):
    text = (ROOT / "docs" / "configuration.md").read_text()
    block = re.search(r"```toml\n(.*?)```", text, re.S)
    assert block is not None
    data = tomllib.loads(block.group(1))
    _fill_referenced_files(data, tmp_path)
    config = config_from_dict(data, env=ENV, base_dir=tmp_path)
    assert [d.id for d in config.directories] == ["okta-main", "entra", "partner-scim"]
    assert config.directory("okta-main").settings.http.rate_share == 0.3
    assert config.directory("entra").settings.http.rate_share == 0.5
    assert config.guard["max_deactivations"] == 500


def test_configuration_doc_certificate_example_loads(tmp_path: Path):
    """docs/configuration.md, "Entra ID with a certificate": its TOML, with a real key pair."""
    text = (ROOT / "docs" / "configuration.md").read_text()
    section = text[text.index("### Entra ID with a certificate") :]
    block = re.search(r"```toml\n(.*?)```", section, re.S)
    assert block is not None
    data = {"organization": {"verified_domains": ["contoso.com"]}, **tomllib.loads(block.group(1))}
    _a_real_key_pair(data, tmp_path)
    auth = config_from_dict(data, env=ENV, base_dir=tmp_path).directory("entra").settings.auth
    assert auth.method == "private_key_jwt" and auth.certificate is not None


def test_mock_example_matches_the_mock_defaults(tmp_path: Path):
    """examples/mock.toml names the client and tenant that `mock-idp serve` (seed 0) really has."""
    from mock_idp.state.credentials import default_credentials
    from mock_idp.state.generator import generate

    config = load_config(ROOT / "examples" / "mock.toml", env=ENV)
    entra = config.directory("mock-entra").settings
    assert entra.auth.client_id == default_credentials(0).graph_client_id
    assert entra.options["tenant"] == generate(0, 0, seed=0).tenant_id
