"""What ``config apply`` would change: an organization or a directory of the file against the
store's, as a :class:`~connector.api.registry_records.RegistryChange`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connector.api.registry_records import RegistryChange
from connector.store.registry import DirectoryEntry
from connector.store.registry import OrganizationEntry


def organization_change(want: OrganizationEntry, have: OrganizationEntry | None) -> RegistryChange:
    if have is None:
        return RegistryChange("create", want.org_id)
    changes = []
    if want.name != have.name:
        changes.append(f"name: {have.name!r} -> {want.name!r}")
    if set(want.verified_domains) != set(have.verified_domains):
        changes.append(
            f"verified_domains: {sorted(have.verified_domains)} -> {sorted(want.verified_domains)}"
        )
    want_grants = {p: sorted(g) for p, g in want.product_grants.items()}
    have_grants = {p: sorted(g) for p, g in have.product_grants.items()}
    if want_grants != have_grants:
        changes.append(f"products: {have_grants} -> {want_grants}")
    for key in ("guard", "sync"):
        if dict(want.settings.get(key) or {}) != dict(have.settings.get(key) or {}):
            changes.append(
                f"{key}: {dict(have.settings.get(key) or {})} -> {dict(want.settings.get(key) or {})}"
            )
    return RegistryChange("update" if changes else "unchanged", want.org_id, changes=tuple(changes))


def directory_change(want: DirectoryEntry, have: DirectoryEntry | None) -> RegistryChange:
    if have is None:
        return RegistryChange("create", want.org_id, want.directory_id)
    changes = []
    if not have.as_data:
        changes.append("stored as data (the file's runs registered it)")
    else:
        if want.base_url != have.base_url:
            changes.append(f"base_url: {have.base_url} -> {want.base_url}")
        if want.mode != have.mode:
            changes.append(f"mode: {have.mode} -> {want.mode}")
        changes += settings_changes(dict(have.settings or {}), dict(want.settings or {}))
        if have.secrets:
            changes.append(
                f"sealed secrets dropped ({', '.join(sorted(have.secrets))}): "
                "the file's references replace them"
            )
    return RegistryChange(
        "update" if changes else "unchanged", want.org_id, want.directory_id, tuple(changes)
    )


def settings_changes(have: Mapping[str, Any], want: Mapping[str, Any], prefix: str = "") -> list[str]:
    """The keys whose values differ (``auth.client_id``), each with its old and new value."""
    changes = []
    for key in sorted(set(have) | set(want)):
        old, new = have.get(key), want.get(key)
        if old == new:
            continue
        if isinstance(old, Mapping) and isinstance(new, Mapping):
            changes += settings_changes(old, new, f"{prefix}{key}.")
        elif key not in have:
            changes.append(f"{prefix}{key}: added")
        elif key not in want:
            changes.append(f"{prefix}{key}: removed")
        else:
            changes.append(f"{prefix}{key}: {old!r} -> {new!r}")
    return changes
