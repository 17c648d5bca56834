"""The SCIM adapter against the live mock IdP: complete, exact, polite, and filtered changes."""

from __future__ import annotations

import pytest
from providers import e2e_suite as suite
from providers.mock_support import Admin
from providers.mock_support import expected
from providers.mock_support import read

from connector.model import MemberKind

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("oauth", [False, True], ids=["bearer", "oauth"])
def test_full_read_equals_the_mock(oauth):
    suite.full_read_equals_the_mock("scim", oauth=oauth)


@pytest.mark.parametrize("oauth", [False, True], ids=["bearer", "oauth"])
def test_request_count_is_minimal(oauth):
    suite.request_count_is_minimal("scim", oauth=oauth)


def test_read_survives_429s_503s_and_drops():
    suite.read_survives_faults("scim")


def test_read_survives_a_per_minute_limit():
    count, slept = suite.read_survives_a_per_minute_limit("scim")
    assert slept > 0 and count > 15  # waited for windows; the 429s it met were retried


def test_short_pages_are_resumed_not_lost():
    """The mock's truncate fault halves a page; index paging carries on from where it stopped."""
    faults = [{"kind": "truncate", "dialect": "scim", "path": "^/scim/v2/Users$"}]
    with suite.live("scim", config={"FAULTS": faults}) as (server, provider):
        assert read(provider) == expected(server.directory, "scim")


def test_changes_return_what_the_admin_api_changed():
    with suite.live("scim") as (server, provider):
        admin = Admin(server)
        cursor = provider.changes(None).cursor
        users = list(server.directory.users.values())
        groups = list(server.directory.groups.values())
        disabled = users[0]
        member = next(u for u in users[2:] if u.object_id not in groups[1].user_ids)
        admin.call("POST", f"/users/{disabled.object_id}/deactivate", {"status": "SUSPENDED"})
        admin.call("POST", f"/groups/{groups[1].object_id}/members/{member.object_id}")

        change = provider.changes(cursor)

        assert [(u.idp_user_id, u.active) for u in change.users] == [(disabled.object_id, False)]
        assert [g.idp_group_id for g in change.groups] == [groups[1].object_id]
        assert change.groups_with_full_members == (groups[1].object_id,)
        listed = {(m.member_id, m.kind) for m in change.members_added}
        assert listed == set(expected(server.directory, "scim")["members"][groups[1].object_id])
        assert (member.object_id, MemberKind.USER) in listed


def test_no_secret_in_debug_logs(caplog):
    suite.no_secret_in_logs("scim", caplog)
