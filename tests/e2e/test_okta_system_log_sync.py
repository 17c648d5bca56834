"""An Okta incremental sync against the live mock reads membership moves from the System Log.

A full sync, then membership changes through the admin API (adds, removals, an
add undone, a nested group's member, a deleted user), then an incremental sync:
the store's mirror must equal the mock's directory, a full read afterwards must
find nothing to change, and the incremental read must cost a few requests, none
of them a group's member list.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from providers import e2e_suite as suite
from providers.mock_support import Admin
from providers.mock_support import expected

from connector.model import MemberKind
from connector.providers.okta import OktaProvider
from connector.rules.settings import SyncSettings
from connector.run.sync import sync_directory
from connector.store import Store
from connector.store.mirror import load_mirror
from mock_idp.server import MockIdpServer

pytestmark = pytest.mark.e2e

SETTINGS = SyncSettings(verified_domains=("example.com",))


@contextmanager
def recording(provider: OktaProvider) -> Iterator[list[str]]:
    """The paths of the GETs the provider sends while inside."""
    paths: list[str] = []
    original = provider.http.get_json

    def get_json(url: str, params: Any = None, *args: Any, **kwargs: Any) -> Any:
        paths.append(url.split("?", 1)[0].replace(provider.base_url, ""))
        return original(url, params, *args, **kwargs)

    provider.http.get_json = get_json  # type: ignore[method-assign]
    try:
        yield paths
    finally:
        provider.http.get_json = original  # type: ignore[method-assign]


def mirrored_members(store: Store, directory_id: str) -> dict[str, frozenset]:
    with store.transaction(write=False) as conn:
        view = load_mirror(conn, directory_id)
    return {g: frozenset((m.member_id, MemberKind(m.kind)) for m in ms) for g, ms in view.members.items()}


def mock_members(server: MockIdpServer) -> dict[str, frozenset]:
    return {g: ms for g, ms in expected(server.directory, "okta")["members"].items() if ms}


def change_memberships(server: MockIdpServer, *, nested: bool = True) -> int:
    """Membership edits through the admin API; returns how many groups they touch.  ``nested`` adds
    a member to a nested group, which the mock shows in the parent's flattened list too."""
    admin = Admin(server)
    directory = server.directory
    editable = (g for g in directory.groups.values() if not g.built_in)  # Everyone refuses edits by hand
    groups = sorted(editable, key=lambda g: g.okta_id)
    users = sorted(directory.users.values(), key=lambda u: u.okta_id)
    touched = set()
    for group in groups[:4]:
        outsider = next(u for u in users if u.object_id not in group.user_ids)
        admin.call("POST", f"/groups/{group.okta_id}/members/{outsider.okta_id}")
        member = next(iter(group.user_ids))
        admin.call("DELETE", f"/groups/{group.okta_id}/members/{directory.users[member].okta_id}")
        touched.add(group.okta_id)
    undone_group, undone_user = groups[5], next(u for u in users if u.object_id not in groups[5].user_ids)
    admin.call("POST", f"/groups/{undone_group.okta_id}/members/{undone_user.okta_id}")
    admin.call("DELETE", f"/groups/{undone_group.okta_id}/members/{undone_user.okta_id}")
    parent = next((g for g in groups if g.group_ids), None)
    if nested and parent is not None:  # a nested group's new member joins its parent too
        child = directory.groups[next(iter(parent.group_ids))]
        newcomer = next(
            u for u in users if u.object_id not in directory.transitive_user_ids(parent.object_id)
        )
        admin.call("POST", f"/groups/{child.okta_id}/members/{newcomer.okta_id}")
        touched.update({child.okta_id, parent.okta_id})
    return len(touched)


def test_an_incremental_sync_applies_the_logged_moves_in_a_few_requests():
    with suite.live("okta") as (server, provider):
        store = Store.open("sqlite://")
        store.set_verified_domains(SETTINGS.verified_domains)
        first = sync_directory(provider, store, SETTINGS)
        assert first.full_read and mirrored_members(store, provider.directory_id) == mock_members(server)

        touched = change_memberships(server)
        assert touched >= 4 and len(server.directory.system_log) >= 10

        with recording(provider) as paths:
            delta = sync_directory(provider, store, SETTINGS)
        assert not delta.full_read and delta.outcome == first.outcome
        assert mirrored_members(store, provider.directory_id) == mock_members(server)
        assert paths.count("/api/v1/logs") == 1
        assert not [p for p in paths if p.endswith("/users") and p.startswith("/api/v1/groups/")]
        user_pages = -(-len(server.directory.users) // suite.PAGE) + 1  # the overlap may re-read them all
        assert delta.requests <= user_pages + 3 < touched + user_pages + 3 + first.requests // 2

        again = sync_directory(provider, store, SETTINGS, full=True)
        assert again.full_read and sum(again.counts.values()) == 0  # nothing left to fix


def test_without_the_log_scope_an_incremental_sync_still_ends_right(caplog):
    with suite.live("okta") as (server, provider):
        provider.close()
        creds_scopes = ("okta.users.read", "okta.groups.read")
        provider = oauth_provider(server, creds_scopes)
        store = Store.open("sqlite://")
        store.set_verified_domains(SETTINGS.verified_domains)
        try:
            sync_directory(provider, store, SETTINGS)
            # a nested edit moves the parents' lastMembershipUpdated too: Okta lists their users
            change_memberships(server)
            with recording(provider) as paths:
                delta = sync_directory(provider, store, SETTINGS)
        finally:
            provider.close()
        assert not delta.full_read and paths.count("/api/v1/logs") == 1
        assert [p for p in paths if p.startswith("/api/v1/groups/")]  # the fallback re-lists moved groups
        assert mirrored_members(store, "okta-e2e") == mock_members(server)
        assert any("okta.logs.read" in r.getMessage() for r in caplog.records)


def oauth_provider(server: MockIdpServer, scopes: tuple[str, ...]) -> OktaProvider:
    from connector.net.settings import AuthSettings
    from connector.net.settings import Secret
    from connector.providers.base import ProviderSettings
    from mock_idp.state.credentials import default_credentials

    creds = default_credentials(server.directory.seed)
    auth = AuthSettings(
        "private_key_jwt",
        client_id=creds.okta_client_id,
        private_key=Secret(creds.okta_private_key_pem),
        key_id=creds.okta_key_id,
        scopes=scopes,
    )
    return OktaProvider(ProviderSettings("okta-e2e", server.url, auth, page_size=suite.PAGE, http=suite.FAST))
