"""The address keys kept beside the mirror and the accounts (connector.store.address_keys)."""

from __future__ import annotations

from pathlib import Path

from builders import user
from fakes import FakeProvider
from sqlalchemy import select
from sqlalchemy import update

from connector.emails import address_keys
from connector.rules.settings import SyncSettings
from connector.run.sync import sync_directory
from connector.store import Store
from connector.store import engine as engines
from connector.store import tables as t
from connector.store.address_keys import accounts_with_keys
from connector.store.address_keys import fill_mirror_keys
from connector.store.address_keys import identities_with_keys
from connector.store.address_keys import refresh_account_keys
from connector.store.revision import read_revision

SETTINGS = SyncSettings(verified_domains=("example.com",))
LOOKALIKE = "usеr1@example.com"  # a Cyrillic "е": its own matching key, user1's look-alike key


def _keys(store: Store) -> dict[str, tuple[str, str, str | None]]:
    k = t.account_keys.c
    with store.transaction(write=False) as conn:
        rows = conn.execute(select(k.account_id, k.email, k.match_key, k.loose_key)).all()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def test_sync_keys_the_accounts_it_creates_and_a_refresh_keys_the_others(store: Store) -> None:
    provider = FakeProvider()
    provider.put_user(user(2, email="User2@Example.com"))
    early = store.add_account("early@example.com")
    sync_directory(provider, store, SETTINGS)  # a whole run keys every account first
    made = {k.account_id for k in store.links(provider.directory_id)}
    assert set(_keys(store)) == made | {early.account_id}
    invited = store.add_account(LOOKALIKE)
    keys = _keys(store)
    assert set(keys) == made | {early.account_id}  # the invited account is not keyed yet: the product made it
    with store.transaction() as conn:
        before = read_revision(conn)
        assert refresh_account_keys(conn) == 1
        assert refresh_account_keys(conn) == 0
        assert read_revision(conn) == before  # a cache of the connector's: the revision stays
    match, loose = address_keys(LOOKALIKE)
    assert match != loose and loose == "user1@example.com"
    assert _keys(store)[invited.account_id] == (LOOKALIKE, match, loose)
    (linked,) = made
    assert _keys(store)[linked] == ("User2@example.com", "user2@example.com", None)  # ASCII: no loose key
    with store.transaction(write=False) as conn:
        assert set(accounts_with_keys(conn, {"user2@example.com"})) == {linked}
        assert set(accounts_with_keys(conn, {"user1@example.com"})) == {
            invited.account_id
        }  # by its loose key
        assert set(accounts_with_keys(conn, {match})) == {invited.account_id}
        assert accounts_with_keys(conn, {"nobody@example.com", ""}) == {}


def test_an_account_readdressed_by_the_product_is_keyed_again(store: Store) -> None:
    account = store.add_account("old@example.com")
    with store.transaction() as conn:
        refresh_account_keys(conn)
        conn.execute(
            update(t.accounts)
            .where(t.accounts.c.account_id == account.account_id)
            .values(email="new@example.com")
        )
        # a stale row is never an answer: its email is not the account's any more
        assert accounts_with_keys(conn, {"old@example.com"}) == {}
        assert refresh_account_keys(conn) == 1
        assert set(accounts_with_keys(conn, {"new@example.com"})) == {account.account_id}


def test_the_mirror_keys_its_users_and_finds_them_by_either_key(store: Store) -> None:
    provider = FakeProvider()
    provider.put_user(user(1))
    provider.put_user(user(2, email=LOOKALIKE))
    provider.put_user(user(3, email="not an address"))
    sync_directory(provider, store, SETTINGS)
    d = provider.directory_id
    with store.transaction() as conn:
        assert fill_mirror_keys(conn, d) == 0  # written with the users
        found = identities_with_keys(conn, d, {"user1@example.com"})
        assert found == {"u1": ("user1@example.com", "user1@example.com"), "u2": address_keys(LOOKALIKE)}
        assert set(identities_with_keys(conn, d, {address_keys(LOOKALIKE)[0]})) == {"u2"}
        u = t.idp_users.c
        assert conn.execute(select(u.match_key).where(u.idp_user_id == "u3")).scalar_one() == ""


def test_a_store_from_before_the_keys_is_keyed_by_its_upgrade(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/old.sqlite"
    provider = FakeProvider()
    for n in range(4):
        provider.put_user(user(n))
    with Store.open(url) as store:
        store.set_verified_domains(SETTINGS.verified_domains)
        store.add_account("waiting@example.com")
        sync_directory(provider, store, SETTINGS)
        engines.downgrade(store.engine, "0002")  # as a store made before the keys were kept
        store.upgrade()
        assert len(_keys(store)) == 5  # the 4 synced accounts and the waiting one
        provider.put_user(user(9, email="waiting@example.com"))
        report = sync_directory(provider, store, SETTINGS)
        assert "planned only" in report.read_reason
        assert report.counts["link"] == 1 and report.counts["create_account"] == 0
        assert len(_keys(store)) == 5
