"""``domains`` on a directory: the verified domains it manages (docs/contract.md, "Managed domains")."""

from __future__ import annotations

from typing import Any

import pytest

from connector.config.loader import config_from_dict
from connector.errors import ConfigError


def _config(*directories: dict[str, Any]) -> dict[str, Any]:
    return {
        "organization": {"verified_domains": ["example.com", "Example.DE"]},
        "directories": [
            {"id": d["id"], "provider": "scim", "base_url": "https://scim.test/v2",
             "auth": {"method": "bearer", "token_env": "T"}, **{k: v for k, v in d.items() if k != "id"}}
            for d in directories
        ],
    }  # fmt: skip


def _load(data: dict[str, Any]):  # type: ignore[no-untyped-def]
    return config_from_dict(data, env={"T": "token-value"})


def test_the_only_directory_manages_every_verified_domain() -> None:
    config = _load(_config({"id": "one"}))
    assert config.managed_domains("one") is None
    assert config.sync_settings("one").managed == {"example.com", "example.de"}


def test_named_domains_are_managed_and_the_others_are_not() -> None:
    config = _load(_config({"id": "okta", "domains": ["EXAMPLE.com"]}, {"id": "partner"}))
    assert config.sync_settings("okta").managed == {"example.com"}
    assert config.sync_settings("partner").managed == frozenset()


@pytest.mark.parametrize(
    ("directories", "says"),
    [
        (({"id": "a", "domains": ["example.com"]}, {"id": "b", "domains": ["example.com"]}),
         "'example.com' is managed by both 'a' and 'b'"),
        (({"id": "a", "domains": ["partner.org"]},), "'partner.org' is not a verified domain"),
        (({"id": "a", "domains": "example.com"},), "directories[0].domains"),
    ],
)  # fmt: skip
def test_bad_managed_domains_are_configuration_errors(directories: tuple, says: str) -> None:
    with pytest.raises(ConfigError, match=says.replace("[", r"\[").replace("]", r"\]")):
        _load(_config(*directories))
