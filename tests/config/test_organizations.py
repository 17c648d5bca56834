"""A configuration of several organizations: ``[[organizations]]``, and its mistakes named."""

from __future__ import annotations

from typing import Any

import pytest

from connector.config.loader import config_from_dict
from connector.config.loader import file_from_dict
from connector.errors import ConfigError

ENV = {"TOKEN_A": "a", "TOKEN_B": "b"}


def _directory(token_env: str, directory_id: str = "main") -> dict[str, Any]:
    return {
        "id": directory_id,
        "provider": "scim",
        "base_url": "https://idp.example.com/scim/v2",
        "auth": {"method": "bearer", "token_env": token_env},
    }


def _two(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "organizations": [
            {
                "id": "acme",
                "name": "Acme Corp",
                "verified_domains": ["acme.com"],
                "products": {"wiki": ["Everyone"]},
                "directories": [_directory("TOKEN_A")],
            },
            {
                "id": "globex",
                "verified_domains": ["globex.com"],
                "guard": {"max_deactivation_ratio": 0.5},
                "directories": [_directory("TOKEN_B")],
            },
        ],
        "guard": {"max_deactivation_ratio": 0.2},
    }
    data.update(changes)
    return data


def test_each_organization_has_its_directories_grants_and_overrides() -> None:
    whole = file_from_dict(_two(), env=ENV)
    assert whole.org_ids == ("acme", "globex")
    acme, globex = whole.organizations
    assert (acme.org_name, acme.verified_domains, dict(acme.product_grants)) == (
        "Acme Corp",
        ("acme.com",),
        {"wiki": ("Everyone",)},
    )
    assert [d.id for d in acme.directories] == [d.id for d in globex.directories] == ["main"]
    assert acme.guard == {"max_deactivation_ratio": 0.2}  # the file's default
    assert globex.guard == {"max_deactivation_ratio": 0.5}  # its own
    assert config_from_dict(_two(), env=ENV, org="globex").org_id == "globex"


def test_the_one_organization_form_keeps_working_with_an_optional_id() -> None:
    data = {"organization": {"verified_domains": ["acme.com"]}, "directories": [_directory("TOKEN_A")]}
    assert config_from_dict(data, env=ENV).org_id == "default"
    data["organization"]["id"] = "acme"
    assert config_from_dict(data, env=ENV).org_id == "acme"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["organizations"][1].update(id="Globex Inc"),
            r"organizations\[1\]\.id: 'Globex Inc' is not an organization id",
        ),
        (lambda d: d["organizations"][1].update(id="acme"), r"organizations\[1\]\.id: 'acme' is used twice"),
        (
            lambda d: d["organizations"][1].update(verified_domains=["globex.com", "acme.com"]),
            r"'acme.com' is verified by both 'acme' and 'globex'.*a domain is verified by one organization",
        ),
        (
            lambda d: d["organizations"][0]["directories"].append(_directory("TOKEN_A")),
            r"organizations\[0\]\.directories\[1\]\.id: 'main' is used twice",
        ),
        (
            lambda d: d.update(organization={"verified_domains": ["x.com"]}),
            r"organization: is not used beside \[\[organizations\]\]",
        ),
        (
            lambda d: d["organizations"][0].update(directories=[]),
            r"organizations\[0\]\.directories: no directory is configured",
        ),
        (lambda d: d.update(organizations=[]), r"organizations: must be a list of tables"),
    ],
)
def test_mistakes_are_named(change: Any, message: str) -> None:
    data = _two()
    change(data)
    with pytest.raises(ConfigError, match=message):
        file_from_dict(data, env=ENV)


def test_an_organization_is_chosen_by_id_or_named_among_the_choices() -> None:
    with pytest.raises(ConfigError, match=r"declares 2 organizations \(acme, globex\); name one with --org"):
        config_from_dict(_two(), env=ENV)
    with pytest.raises(ConfigError, match="no organization 'initech'; the file declares: acme, globex"):
        config_from_dict(_two(), env=ENV, org="initech")


def test_only_the_chosen_organizations_secrets_are_read() -> None:
    acme = config_from_dict(_two(), env={"TOKEN_A": "a"}, org="acme")  # TOKEN_B is not set: not read
    assert acme.directories[0].settings.auth.token is not None
    with pytest.raises(ConfigError, match="TOKEN_B"):
        config_from_dict(_two(), env={"TOKEN_A": "a"}, org="globex")
