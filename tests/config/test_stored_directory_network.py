"""A directory the store holds runs with the file's top-level ``[http]`` and ``[tls]``, as the
file's own directories do."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.api.opening import open_connector
from connector.api.registry import Registry
from connector.api.registry_records import DirectorySpec

CONFIG = """
[store]
url = "sqlite:///{store}"

[http]
read_timeout = 7
max_retries = 1

[tls]
ca_bundle = "{bundle}"

[[organizations]]
id = "acme"
verified_domains = ["example.com"]

[[organizations.directories]]
id = "main"
provider = "scim"
base_url = "https://acme.example.com/scim/v2"
auth = {{ method = "bearer", token_env = "NETWORK_TEST_TOKEN" }}
"""


def test_a_stored_directory_takes_the_file_network_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NETWORK_TEST_TOKEN", "file-token")
    monkeypatch.setenv("STORED_TEST_TOKEN", "stored-token")
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    path = tmp_path / "connector.toml"
    path.write_text(CONFIG.format(store=tmp_path / "store.sqlite", bundle=bundle))
    with Registry.from_file(path) as registry:
        registry.apply(registry.plan_apply())
        spec = DirectorySpec(
            "stored",
            "scim",
            "https://other.example.com/scim/v2",
            method="bearer",
            secret_env="STORED_TEST_TOKEN",
        )
        registry.add_directory("acme", spec)
    with open_connector(path, org="acme") as connector:
        file_http = connector.config.directory("main").settings.http
        stored_http = connector.config.directory("stored").settings.http
    assert (stored_http.read_timeout, stored_http.max_retries) == (7, 1)
    assert stored_http.ca_bundle == str(bundle)
    assert stored_http == file_http
