"""Entra's soft delete, restore and permanent delete, synced through Graph delta against the live mock.

A full sync, then for one user in groups: a delete (to the deleted items, delta says
``@removed`` ``changed``), a delta sync; a restore, a delta sync; a delete and a
permanent delete (``@removed`` ``deleted``), a delta sync.  After each the store is
checked: the account is deactivated while the user is deleted, comes back active with
the same account, link and memberships when restored, and nothing is ever deleted
or created twice.
"""

from __future__ import annotations

import pytest
from providers import e2e_suite as suite
from providers.mock_support import Admin
from providers.mock_support import make_provider

from connector.model import AccountStatus
from connector.rules.settings import SyncSettings
from connector.run.sync import sync_directory
from connector.store import Store
from mock_idp.server import MockIdpServer
from mock_idp.state.generator import generate

pytestmark = pytest.mark.e2e

SETTINGS = SyncSettings(verified_domains=("example.com",))


def state_of(store: Store, directory_id: str, idp_user_id: str) -> tuple[str, AccountStatus, int, frozenset]:
    """The linked account of ``idp_user_id``: its id, status, the link's missing count and the
    groups this directory put it in."""
    (link,) = [link for link in store.links(directory_id) if link.idp_user_id == idp_user_id]
    account = store.account(link.account_id)
    assert account is not None
    groups = frozenset(
        m.group_id
        for m in store.memberships()
        if m.account_id == link.account_id and m.source == directory_id
    )
    return link.account_id, account.status, link.missing_count, groups


def test_a_deleted_user_is_deactivated_then_restored_to_the_same_account_then_deleted_for_good():
    with MockIdpServer(generate(users=40, groups=5, seed=5)) as server:
        provider = make_provider(server, "graph", page_size=suite.PAGE, http=suite.FAST)
        store = Store.open("sqlite://")
        store.set_verified_domains(SETTINGS.verified_domains)
        admin = Admin(server)
        directory_id = provider.directory_id
        try:
            assert sync_directory(provider, store, SETTINGS).full_read
            user = next(
                u
                for u in server.directory.users.values()
                if u.active and server.directory.groups_of_user(u.object_id)
            )
            uid = user.object_id
            account_id, status, missing, groups = state_of(store, directory_id, uid)
            assert status is AccountStatus.ACTIVE and missing == 0 and groups
            accounts = len(store.accounts())

            admin.call("DELETE", f"/users/{uid}")  # to the deleted items
            assert [d["id"] for d in admin.call("GET", "/deleted-users")["deleted_users"]] == [uid]
            soft = sync_directory(provider, store, SETTINGS)
            assert not soft.full_read and soft.applied
            assert state_of(store, directory_id, uid) == (
                account_id,
                AccountStatus.DEACTIVATED,
                SETTINGS.missing_threshold,
                frozenset(),
            )

            admin.call("POST", f"/deleted-users/{uid}/restore")
            restored = sync_directory(provider, store, SETTINGS)
            assert not restored.full_read and restored.counts["create_account"] == 0
            assert state_of(store, directory_id, uid) == (account_id, AccountStatus.ACTIVE, 0, groups)
            assert len(store.accounts()) == accounts

            admin.call("DELETE", f"/users/{uid}")
            admin.call("DELETE", f"/deleted-users/{uid}")  # for good
            assert admin.call("GET", "/deleted-users") == {"deleted_users": []}
            hard = sync_directory(provider, store, SETTINGS)
            assert not hard.full_read and hard.applied
            assert state_of(store, directory_id, uid) == (
                account_id,
                AccountStatus.DEACTIVATED,
                SETTINGS.missing_threshold,
                frozenset(),
            )
            assert len(store.accounts()) == accounts  # nothing deleted

            again = sync_directory(provider, store, SETTINGS, full=True)
            assert again.full_read and sum(again.counts.values()) == 0  # the deltas left nothing to fix
        finally:
            provider.close()
