"""Links made and unmade by hand (docs/contract.md, "3. Link"): audited, closing the identity's
conflict, and never undone by a sync."""

from __future__ import annotations

import pytest
from builders import user
from fakes import seeded

from connector.errors import ConfigError
from connector.rules.settings import SyncSettings
from connector.run.sync import sync_directory
from connector.store import Store

SETTINGS = SyncSettings(verified_domains=("example.com",), product_grants={"jira-software": ("Group 0",)})


def _links(store: Store, directory_id: str) -> dict[str, str]:
    return {k.idp_user_id: k.account_id for k in store.links(directory_id)}


def test_a_conflict_resolved_by_a_hand_made_link_stays_resolved(store: Store) -> None:
    provider = seeded()
    d = provider.directory_id
    provider.put_user(user(10, email="shared@example.com"))
    provider.put_user(user(11, email="shared@example.com"))
    sync_directory(provider, store, SETTINGS)
    assert {c.idp_user_id for c in store.open_conflicts(d)} == {"u10", "u11"}
    chosen = store.add_account("shared@example.com")
    store.link_by_hand(d, "u10", chosen.account_id)
    assert {c.idp_user_id for c in store.open_conflicts(d)} == {"u11"}
    for _ in range(2):  # and every sync after keeps it
        sync_directory(provider, store, SETTINGS, full=True, whole=True)
        assert _links(store, d)["u10"] == chosen.account_id and "u11" not in _links(store, d)
    assert [a.action for a in store.audit() if a.run_id is None] == ["link_by_hand"]


def test_an_identity_unlinked_by_hand_is_not_linked_again_by_email(store: Store) -> None:
    provider = seeded()
    d = provider.directory_id
    sync_directory(provider, store, SETTINGS)
    account_id = _links(store, d)["u1"]
    store.unlink_by_hand(d, "u1")
    for whole in (False, True):
        report = sync_directory(provider, store, SETTINGS, full=True, whole=whole)
        assert "u1" not in _links(store, d)
        assert not report.counts["create_account"] and not report.counts["link"]
    [conflict] = store.open_conflicts(d)
    assert conflict.idp_user_id == "u1" and "unlinked by hand" in conflict.reason
    store.link_by_hand(d, "u1", account_id)  # only a hand-made link joins them again
    assert sync_directory(provider, store, SETTINGS).conflicts == ()
    assert _links(store, d)["u1"] == account_id and store.open_conflicts(d) == []


@pytest.mark.parametrize(
    ("identity", "account", "says"),
    [
        ("u1", "nope", "no account 'nope'"),
        ("u1", None, "is linked to account"),  # linked already: unlink it first
        ("u99", "taken", "is linked to identity 'u2'"),  # one identity per account and directory
    ],
)
def test_hand_links_that_break_a_rule_are_refused(store: Store, identity, account, says) -> None:
    provider = seeded()
    d = provider.directory_id
    sync_directory(provider, store, SETTINGS)
    links = _links(store, d)
    account_id = {"taken": links["u2"], None: links["u2"]}.get(account, account)
    with pytest.raises(ConfigError, match=says):
        store.link_by_hand(d, identity, account_id)
    with pytest.raises(ConfigError, match="linked to no account"):
        store.unlink_by_hand(d, "u99")
