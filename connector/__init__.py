"""Keeps a SaaS product's users and groups in step with an identity provider.

The embedding API (see README.md and :mod:`connector.api.connector`)::

    from connector import Connector

    with Connector.from_file("connector.toml") as conn:
        report = conn.sync("okta-main")

Names are loaded on first use, so importing a submodule stays cheap.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "Connector": "connector.api.connector",
    "CheckReport": "connector.api.reports",
    "PlanReport": "connector.api.reports",
    "ReviewReport": "connector.api.reports",
    "Config": "connector.config.loader",
    "load_config": "connector.config.loader",
    "config_from_dict": "connector.config.loader",
    "ConnectorError": "connector.errors",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'connector' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
