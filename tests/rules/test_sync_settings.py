"""SyncSettings and GuardSettings check themselves and name the bad key."""

from __future__ import annotations

from datetime import timedelta

import pytest

from connector.errors import ConfigError
from connector.rules.settings import GuardSettings
from connector.rules.settings import SyncSettings


def test_domains_are_normalised_and_deduplicated() -> None:
    s = SyncSettings(verified_domains=("Example.COM", "example.com", "BÜCHER.de"))
    assert s.verified_domains == ("example.com", "xn--bcher-kva.de")
    assert s.guard == GuardSettings() and s.missing_threshold == 2
    assert s.full_read_interval == timedelta(days=1)


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"verified_domains": "example.com"}, "verified_domains"),
        ({"verified_domains": ("not a domain",)}, "verified_domains"),
        ({"product_grants": {"jira": "jira-users"}}, "product_grants.jira"),
        ({"product_grants": {"": ("g",)}}, "product_grants"),
        ({"missing_threshold": 0}, "missing_threshold"),
        ({"full_read_interval": timedelta(0)}, "full_read_interval"),
    ],
)
def test_bad_sync_settings(kwargs, key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        SyncSettings(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"min_deactivations": -1}, "guard.min_deactivations"),
        ({"max_deactivations": 1.5}, "guard.max_deactivations"),
        ({"max_deactivation_ratio": 1.5}, "guard.max_deactivation_ratio"),
        ({"group_max_removal_ratio": -0.1}, "guard.group_max_removal_ratio"),
        ({"max_shrink_ratio": "10%"}, "guard.max_shrink_ratio"),
    ],
)
def test_bad_guard_settings(kwargs, key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        GuardSettings(**kwargs)
