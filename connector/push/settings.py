"""The rules' settings for a push directory, from what the store holds of its organization."""

from __future__ import annotations

from datetime import timedelta

from connector.rules.settings import GuardSettings
from connector.rules.settings import SyncSettings
from connector.store import Store
from connector.store.registry import DirectoryEntry

NEVER = timedelta(days=365 * 100)
"""A push directory is read whole once, on its first request (its mirror is the directory)."""


def push_settings(store: Store, entry: DirectoryEntry) -> SyncSettings:
    """Verified domains, grants and guard of the organization; the domains the directory manages
    (those it names; every one when it is the organization's only directory and names none)."""
    organization = store.organization_entry(entry.org_id)
    assert organization is not None
    settings = dict(organization.settings)
    named = (entry.settings or {}).get("domains")
    if named is not None:
        managed: tuple[str, ...] | None = tuple(named)
    else:
        managed = None if len(store.directory_entries(entry.org_id)) == 1 else ()
    sync = dict(settings.get("sync") or {})
    return SyncSettings(
        verified_domains=organization.verified_domains,
        product_grants=dict(organization.product_grants),
        guard=GuardSettings(**dict(settings.get("guard") or {})),
        missing_threshold=int(sync.get("missing_threshold", 2)),
        full_read_interval=NEVER,
        managed_domains=managed,
    )
