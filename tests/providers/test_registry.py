"""The registry: built-ins, third-party entry points, unknown names."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest

from connector.errors import ConfigError
from connector.net.settings import AuthSettings
from connector.net.settings import Secret
from connector.providers import registry
from connector.providers.base import ProviderSettings
from connector.providers.okta import OktaProvider


class AcmeProvider(OktaProvider):
    """A third-party adapter, as a package would register it."""

    name = "acme"


def _with_entry_points(monkeypatch, *points: EntryPoint) -> None:
    monkeypatch.setattr(registry, "entry_points", lambda group: [p for p in points if p.group == group])


def test_builtins_are_known_and_load():
    assert {"okta", "azure_ad", "scim"} <= set(registry.available())
    assert registry.load("okta") is OktaProvider


def test_an_unknown_name_lists_the_known_ones():
    with pytest.raises(ConfigError, match="unknown provider 'oktta'; known providers: azure_ad, okta, scim"):
        registry.load("oktta")


def test_a_third_party_adapter_comes_through_its_entry_point(monkeypatch):
    _with_entry_points(
        monkeypatch,
        EntryPoint("acme", f"{AcmeProvider.__module__}:AcmeProvider", registry.ENTRY_POINT_GROUP),
    )
    assert "acme" in registry.available()
    settings = ProviderSettings("d1", "https://acme.test", AuthSettings("ssws", token=Secret("t0k3n")))
    provider = registry.create("acme", settings)
    assert type(provider).__name__ == "AcmeProvider" and provider.name == "acme"
    assert provider.directory_id == "d1"


def test_a_broken_entry_point_is_a_config_error(monkeypatch):
    _with_entry_points(monkeypatch, EntryPoint("ghost", "no_such_module:Ghost", registry.ENTRY_POINT_GROUP))
    with pytest.raises(
        ConfigError, match="'ghost' is registered as 'no_such_module:Ghost' but cannot be loaded"
    ):
        registry.load("ghost")


def test_an_entry_point_that_is_not_an_adapter_is_refused(monkeypatch):
    _with_entry_points(
        monkeypatch, EntryPoint("bad", "connector.errors:ConfigError", registry.ENTRY_POINT_GROUP)
    )
    with pytest.raises(ConfigError, match="lacks"):
        registry.load("bad")


def test_the_installed_package_declares_the_builtins():
    from importlib.metadata import entry_points

    names = {ep.name for ep in entry_points(group=registry.ENTRY_POINT_GROUP)}
    assert {"okta", "azure_ad", "scim"} <= names


class Elsewhere(OktaProvider):
    """An adapter that forgets which directory its settings name."""

    name = "elsewhere"

    def __init__(self, settings: ProviderSettings) -> None:
        super().__init__(settings)
        self.directory_id = "some-other-directory"


def test_an_adapter_must_read_the_directory_its_settings_name(monkeypatch):
    _with_entry_points(
        monkeypatch,
        EntryPoint("elsewhere", f"{Elsewhere.__module__}:Elsewhere", registry.ENTRY_POINT_GROUP),
    )
    settings = ProviderSettings("d1", "https://acme.test", AuthSettings("ssws", token=Secret("t0k3n")))
    with pytest.raises(
        ConfigError, match="reads directory 'some-other-directory', but its settings name 'd1'"
    ):
        registry.create("elsewhere", settings)
