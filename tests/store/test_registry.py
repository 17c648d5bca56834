"""Organizations and directories as data in the store (connector/store/registry.py), on each backend.

The store keeps what it is given: sealed tokens, never a secret in the clear.  Ids are slugs, a
directory keeps its provider and its organization, a domain is verified by one organization, and
what holds accounts or links is removed only when forced.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from connector.errors import ConfigError
from connector.errors import StoreError
from connector.rules.plan import CreateAccount
from connector.rules.plan import Plan
from connector.store import Store
from connector.store import tables as t
from connector.store.registry import DirectoryEntry
from connector.store.registry import OrganizationEntry
from connector.vault import Vault

ACME = OrganizationEntry(
    "acme", "Acme Corp", ("acme.com",), {"wiki": ("Everyone",)}, {"guard": {"max_deactivations": 5}}
)


def _okta(org: str = "acme", directory_id: str = "okta-main", **changes: object) -> DirectoryEntry:
    values: dict[str, object] = {
        "org_id": org,
        "directory_id": directory_id,
        "provider": "okta",
        "base_url": "https://acme.okta.com",
        "settings": {"auth": {"method": "client_secret", "client_id": "0oa1"}},
    }
    values.update(changes)
    return DirectoryEntry(**values)  # type: ignore[arg-type]


def test_an_organization_round_trips(store: Store) -> None:
    store.save_organization(ACME)
    got = store.organization_entry("acme")
    assert got == ACME
    store.save_organization(OrganizationEntry("acme", "Acme", ("acme.com", "acme.org")))
    got = store.organization_entry("acme")
    assert got is not None
    assert (got.name, got.verified_domains, dict(got.product_grants)) == (
        "Acme",
        ("acme.com", "acme.org"),
        {},
    )
    assert [o.org_id for o in store.organization_entries()] == ["acme", "default"]


@pytest.mark.parametrize("bad", ["Acme", "acme_corp", "-acme", "", "a" * 65])
def test_an_organization_id_is_a_slug(store: Store, bad: str) -> None:
    with pytest.raises(ConfigError, match="is not an organization id"):
        store.save_organization(OrganizationEntry(bad, "x"))


@pytest.mark.parametrize("bad", ["okta main", "-okta", "ok/ta", ""])
def test_a_directory_id_is_checked(store: Store, bad: str) -> None:
    store.save_organization(ACME)
    with pytest.raises(ConfigError, match="is not a directory id"):
        store.save_directory(_okta(directory_id=bad))


def test_a_domain_verified_by_another_organization_is_refused_naming_both(store: Store) -> None:
    store.save_organization(ACME)
    with pytest.raises(StoreError, match=r"'acme\.com' is verified by organization 'acme'.*'globex'"):
        store.save_organization(OrganizationEntry("globex", "Globex", ("acme.com",)))
    assert store.organization_entry("globex") is not None  # registered, without the domain
    assert store.organization_entry("globex").verified_domains == ()  # type: ignore[union-attr]


def test_a_directory_round_trips_and_keeps_only_sealed_secrets(store: Store) -> None:
    vault = Vault.from_keys(Vault.generate_key())
    store.save_organization(ACME)
    token = vault.seal("s3cret-value", context="org/acme/directory/okta-main/client_secret")
    entry = _okta(secrets={"client_secret": token}, schedule="*/15 * * * *")
    store.save_directory(entry)
    assert store.directory_entry("acme", "okta-main") == entry
    assert store.directory_entries("acme") == [entry]
    with store.transaction(write=False) as conn:
        raw = conn.execute(select(t.directories.c.secrets).where(t.directories.c.org_id == "acme")).scalar()
    assert "s3cret-value" not in raw and token in raw
    with pytest.raises(StoreError, match="is not sealed"):
        store.save_directory(_okta(secrets={"client_secret": "s3cret-value"}))


def test_a_directory_never_changes_its_provider(store: Store) -> None:
    store.save_organization(ACME)
    store.save_directory(_okta())
    with pytest.raises(StoreError, match="registered with provider 'okta', not 'scim'"):
        store.save_directory(_okta(provider="scim"))


def test_a_directory_needs_its_organization(store: Store) -> None:
    with pytest.raises(StoreError, match="no organization 'globex'"):
        store.save_directory(_okta(org="globex"))


def test_the_same_id_in_two_organizations_is_two_directories(store: Store) -> None:
    store.save_organization(ACME)
    store.save_organization(OrganizationEntry("globex", "Globex", ("globex.com",)))
    store.save_directory(_okta())
    store.save_directory(_okta(org="globex", base_url="https://globex.okta.com"))
    assert [(d.org_id, d.base_url) for d in store.directory_entries() if d.directory_id == "okta-main"] == [
        ("acme", "https://acme.okta.com"),
        ("globex", "https://globex.okta.com"),
    ]


def _link_one(store: Store, org: str, directory_id: str) -> None:
    """One account, created linked to one identity of the directory."""
    from connector.apply.applier import apply_plan

    change = CreateAccount(
        reason="test", account_id="a1", directory_id=directory_id, idp_user_id="u1", email="u1@example.com"
    )
    apply_plan(store.for_org(org), Plan(directory_id, (change,)))


def test_removing_a_directory_with_links_is_refused_unless_forced(store: Store) -> None:
    store.save_organization(ACME)
    store.save_directory(_okta())
    _link_one(store, "acme", "okta-main")
    with pytest.raises(StoreError, match=r"'okta-main' of organization 'acme' holds 1 links"):
        store.remove_directory("acme", "okta-main")
    gone = store.remove_directory("acme", "okta-main", force=True)
    assert gone.counts["links"] == 1
    assert store.directory_entry("acme", "okta-main") is None
    assert len(store.for_org("acme").accounts()) == 1  # the accounts stay


def test_removing_an_empty_directory_needs_no_force(store: Store) -> None:
    store.save_organization(ACME)
    store.save_directory(_okta())
    assert store.remove_directory("acme", "okta-main").empty
    with pytest.raises(StoreError, match="has no directory 'okta-main'"):
        store.remove_directory("acme", "okta-main")


def test_removing_an_organization_with_accounts_is_refused_unless_forced(store: Store) -> None:
    store.save_organization(ACME)
    store.save_directory(_okta())
    _link_one(store, "acme", "okta-main")
    with pytest.raises(StoreError, match=r"organization 'acme' holds 1 directories, 1 accounts, 1 links"):
        store.remove_organization("acme")
    store.remove_organization("acme", force=True)
    assert store.organization_entry("acme") is None
    assert store.directory_entries("acme") == []
    # the domain is free again
    store.save_organization(OrganizationEntry("globex", "Globex", ("acme.com",)))


def test_disable_and_replace_secrets(store: Store) -> None:
    store.save_organization(ACME)
    store.save_directory(_okta(secrets={"client_secret": "v1:00000000:a"}))
    store.set_directory_disabled("acme", "okta-main", True)
    assert store.directory_entry("acme", "okta-main").disabled  # type: ignore[union-attr]
    assert not store.replace_directory_secrets("acme", "okta-main", {"client_secret": "v1:00000000:x"}, {})
    assert store.replace_directory_secrets(
        "acme", "okta-main", {"client_secret": "v1:00000000:a"}, {"client_secret": "v1:00000000:b"}
    )
    assert store.directory_entry("acme", "okta-main").secrets == {"client_secret": "v1:00000000:b"}  # type: ignore[union-attr]
