"""The Azure AD (Graph) adapter against the live mock IdP: complete, exact, polite, and delta."""

from __future__ import annotations

import pytest
from providers import e2e_suite as suite
from providers.mock_support import Admin

from connector.errors import CursorExpiredError
from connector.model import MemberKind

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("tls", [False, True], ids=["http", "tls"])
def test_full_read_equals_the_mock(tls):
    suite.full_read_equals_the_mock("graph", tls=tls)


def test_request_count_is_minimal():
    suite.request_count_is_minimal("graph")


def test_read_survives_429s_503s_and_drops():
    suite.read_survives_faults("graph")


def test_read_survives_a_per_minute_limit():
    count, slept = suite.read_survives_a_per_minute_limit("graph")
    assert slept > 0 and count > 21  # waited for windows; the 429s it met were retried


def test_a_user_list_cut_short_raises():
    suite.truncated_sequence_raises("graph", r"^/v1\.0/users$")


def test_a_member_list_cut_short_is_reported_and_not_trusted():
    suite.truncated_member_lists_are_reported("graph", r"^/v1\.0/groups/[^/]+/members$")


def test_delta_returns_what_the_admin_api_changed():
    with suite.live("graph") as (server, provider):
        admin = Admin(server)
        cursor = provider.changes(None).cursor
        users = list(server.directory.users.values())
        groups = list(server.directory.groups.values())
        disabled, deleted = users[0], users[1]
        member = next(u for u in users[2:] if u.object_id not in groups[1].user_ids)
        leaving = next(iter(groups[1].user_ids))
        admin.call("POST", f"/users/{disabled.object_id}/deactivate", {"status": "SUSPENDED"})
        admin.call("DELETE", f"/users/{deleted.object_id}")
        renamed = groups[2]  # group 0 is the built-in Everyone, which keeps its name
        admin.call("PATCH", f"/groups/{renamed.object_id}", {"name": "Renamed group"})
        admin.call("POST", f"/groups/{groups[1].object_id}/members/{member.object_id}")
        admin.call("DELETE", f"/groups/{groups[1].object_id}/members/{leaving}")

        change = provider.changes(cursor)

        assert [(u.idp_user_id, u.active) for u in change.users] == [(disabled.object_id, False)]
        assert change.removed_user_ids == (deleted.object_id,)
        assert [(g.idp_group_id, g.name) for g in change.groups if g.name == "Renamed group"] == [
            (renamed.object_id, "Renamed group")
        ]
        added = {(m.group_id, m.member_id, m.kind) for m in change.members_added}
        removed = {(m.group_id, m.member_id) for m in change.members_removed}
        assert (groups[1].object_id, member.object_id, MemberKind.USER) in added
        assert (groups[1].object_id, leaving) in removed
        assert provider.changes(change.cursor).is_empty  # the new delta links start after these changes


def test_an_expired_delta_link_asks_for_a_full_read():
    with suite.live("graph") as (server, provider):
        cursor = provider.changes(None).cursor
        stale = cursor.replace("$deltatoken=", "$deltatoken=x")
        with pytest.raises(CursorExpiredError):
            provider.changes(stale)


def test_no_secret_in_debug_logs(caplog):
    suite.no_secret_in_logs("graph", caplog)


def test_a_sync_with_the_apps_certificate(tmp_path):
    """Entra's certificate credentials end to end: the config's certificate and key, the mock's
    token endpoint checking x5t#S256 and the PS256 signature, then a whole sync."""
    from connector import Connector
    from mock_idp.server import MockIdpServer
    from mock_idp.state.credentials import default_credentials
    from mock_idp.state.generator import generate

    directory = generate(users=40, groups=5, seed=8, domain="example.com")
    creds = default_credentials(directory.seed)
    (tmp_path / "app.key").write_text(creds.graph_private_key_pem)
    (tmp_path / "app.crt").write_text(creds.graph_certificate_pem)
    with MockIdpServer(directory) as server:
        data = {
            "organization": {"verified_domains": ["example.com"]},
            "store": {"url": "sqlite:///certificate.sqlite"},
            "products": {"confluence": ["Everyone"]},
            "directories": [
                {
                    "id": "entra",
                    "provider": "azure_ad",
                    "base_url": f"{server.url}/v1.0",
                    "tenant": directory.tenant_id,
                    "authority": server.url,
                    "auth": {
                        "method": "private_key_jwt",
                        "client_id": creds.graph_client_id,
                        "private_key_file": "app.key",
                        "certificate_file": "app.crt",
                    },
                }
            ],
        }
        with Connector.from_dict(data, base_dir=tmp_path, env={}) as conn:
            [report] = conn.sync_all()
            assert report.counts["create_account"] > 0
            assert not report.read_problems
        issued = [t for t in server.directory.issued_tokens.values() if t.client_id == creds.graph_client_id]
        assert len(issued) == 1 and issued[0].dialect == "graph"
