"""Shared by the CLI tests: a one-directory configuration whose store is a SQLite file in tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

TOKEN_ENV = "CLI_TEST_SCIM_TOKEN"


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    """A SCIM directory nobody answers for (port 9); its token comes from ``CLI_TEST_SCIM_TOKEN``."""
    path = tmp_path / "connector.toml"
    path.write_text(
        f"""
[organization]
verified_domains = ["example.com"]

[products]
confluence = ["Everyone"]

[[directories]]
id = "scim"
provider = "scim"
base_url = "http://127.0.0.1:9/scim/v2"
auth = {{ method = "bearer", token_env = "{TOKEN_ENV}" }}
"""
    )
    return path
