"""Find an adapter by name: the built-ins, then the ``connector.providers`` entry points.

A third-party package registers its adapter class in its own metadata::

    [options.entry_points]
    connector.providers =
        acme = acme_connector.provider:AcmeProvider

and ``create("acme", settings)`` builds it.  An unknown name is a
:class:`~connector.errors.ConfigError` that lists the known ones.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from connector.errors import ConfigError
from connector.providers.base import Provider
from connector.providers.base import ProviderSettings

ENTRY_POINT_GROUP = "connector.providers"

BUILTINS: dict[str, str] = {
    "okta": "connector.providers.okta:OktaProvider",
    "azure_ad": "connector.providers.azure_ad:AzureADProvider",
    "scim": "connector.providers.scim:ScimProvider",
}

REQUIRED = (
    "name",
    "supports_changes",
    "from_settings",
    "check",
    "iter_users",
    "iter_groups",
    "iter_members",
    "changes",
)


def _targets() -> dict[str, str]:
    found = dict(BUILTINS)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(ep.name, ep.value)
    return found


def available() -> list[str]:
    """Every provider name, sorted: the built-ins and installed third-party adapters."""
    return sorted(_targets())


def load(name: str) -> type[Provider]:
    """The adapter class registered under ``name``."""
    targets = _targets()
    if name not in targets:
        raise ConfigError(f"unknown provider {name!r}; known providers: {', '.join(sorted(targets))}")
    module_name, _, attr = targets[name].partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(
            f"provider {name!r} is registered as {targets[name]!r} but cannot be loaded: {exc}"
        ) from exc
    lacking = [a for a in REQUIRED if not hasattr(cls, a)]
    if lacking:
        raise ConfigError(f"provider {name!r} ({targets[name]}) lacks {', '.join(lacking)}")
    return cls


def create(name: str, settings: ProviderSettings) -> Provider:
    """Build the adapter ``name`` from ``settings`` (no network traffic yet).

    The adapter must say which directory it reads (``Provider.directory_id``), and it must be
    the one its settings name: every run, lock and record of the store is keyed by it."""
    provider = load(name).from_settings(settings)
    directory_id = getattr(provider, "directory_id", None)
    if directory_id != settings.directory_id:
        provider.close()
        raise ConfigError(
            f"provider {name!r} reads directory {directory_id!r}, but its settings name "
            f"{settings.directory_id!r}; set directory_id from ProviderSettings.directory_id"
        )
    return provider
