"""Okta adapter: the filter that keeps DEPROVISIONED users, status mapping, Link paging, changes()."""

from __future__ import annotations

from datetime import datetime
from datetime import timezone
from unittest import mock

import pytest
import responses

from connector.errors import CursorExpiredError
from connector.errors import IncompleteReadError
from connector.errors import MalformedObjectError
from connector.model import MemberKind

BASE = "https://okta.test"
USERS = f"{BASE}/api/v1/users"
GROUPS = f"{BASE}/api/v1/groups"
LOGS = f"{BASE}/api/v1/logs"
FORBIDDEN = {"errorCode": "E0000006", "errorSummary": "You do not have permission"}


def _user(uid: str, status: str = "ACTIVE", **profile) -> dict:
    return {
        "id": uid,
        "status": status,
        "lastUpdated": "2024-05-05T18:15:44.000Z",
        "profile": {"login": f"{uid}@example.com", "email": f"{uid}@example.com", **profile},
    }


def _group(gid: str, name: str, membership: str = "2024-01-01T00:00:00.000Z") -> dict:
    return {
        "id": gid,
        "lastUpdated": "2024-01-01T00:00:00.000Z",
        "lastMembershipUpdated": membership,
        "profile": {"name": name, "description": None},
    }


@pytest.mark.parametrize(
    ("status", "active"),
    [
        ("ACTIVE", True),
        ("PASSWORD_EXPIRED", True),
        ("LOCKED_OUT", True),
        ("RECOVERY", True),
        ("STAGED", False),
        ("PROVISIONED", False),
        ("SUSPENDED", False),
        ("DEPROVISIONED", False),
    ],
)
def test_status_maps_to_active_per_product_rules(okta, status, active):
    user = okta.to_user(_user("00u1", status))
    assert user.active is active and user.raw_status == status


@pytest.mark.parametrize("status", ["SOMETHING_NEW", "ACTIVE_V2", "active", "", None, 1, ["ACTIVE"]])
def test_a_status_okta_does_not_document_makes_the_user_malformed(okta, status):
    """docs/contract.md, "2. Map": never read as inactive, which would deactivate at once."""
    with pytest.raises(MalformedObjectError) as info:
        okta.to_user(_user("00u1", status))
    assert info.value.kind == "user" and info.value.object_id == "00u1"


def test_profile_fields_are_mapped(okta):
    raw = _user(
        "00u1", firstName="Ada", lastName="Lovelace", displayName="Ada L.", secondEmail="ada@home.example"
    )
    user = okta.to_user(raw)
    assert (user.user_name, user.email, user.given_name, user.family_name) == (
        "00u1@example.com",
        "00u1@example.com",
        "Ada",
        "Lovelace",
    )
    assert user.display_name == "Ada L." and user.other_emails == ("ada@home.example",)
    assert user.updated_at == datetime(2024, 5, 5, 18, 15, 44, tzinfo=timezone.utc)


def test_users_are_read_with_a_filter_so_deprovisioned_ones_come_too(okta, rsps):
    first = rsps.get(
        USERS,
        json=[_user("00u1"), _user("00u2", "DEPROVISIONED")],
        headers=[
            ("Link", f'<{USERS}?limit=200>; rel="self"'),
            ("Link", f'<{USERS}?after=00u2&limit=200>; rel="next"'),
        ],
        match=[
            responses.matchers.query_param_matcher(
                {"limit": "200", "filter": 'lastUpdated gt "1970-01-01T00:00:00.000Z"'}
            )
        ],
    )
    rsps.get(f"{USERS}?after=00u2&limit=200", json=[_user("00u3", "SUSPENDED")])
    users = list(okta.iter_users())
    assert [u.idp_user_id for u in users] == ["00u1", "00u2", "00u3"]
    assert first.call_count == 1 and okta.request_count == 2


def test_a_next_link_to_another_host_is_refused(okta, rsps):
    rsps.get(
        USERS, json=[_user("00u1")], headers={"Link": '<https://evil.test/api/v1/users?after=x>; rel="next"'}
    )
    with pytest.raises(IncompleteReadError, match="another host"):
        list(okta.iter_users())


def test_a_body_that_is_not_an_array_raises(okta, rsps):
    rsps.get(USERS, json={"users": []})
    with pytest.raises(IncompleteReadError, match="not a JSON array"):
        list(okta.iter_users())


def test_members_shorter_than_the_group_stats_are_reported_as_incomplete(okta, rsps):
    group = {**_group("00g1", "Eng"), "_embedded": {"stats": {"usersCount": 3}}}
    rsps.get(GROUPS, json=[group])
    rsps.get(f"{GROUPS}/00g1/users", json=[_user("00u1"), _user("00u2")])
    [read] = list(okta.iter_groups())
    assert len(list(okta.iter_members(read.idp_group_id))) == 2
    [problem] = okta.problems
    assert (problem.kind, problem.object_id) == ("members", "00g1") and "2 of its 3 members" in problem.reason


def test_members_are_users(okta, rsps):
    rsps.get(f"{GROUPS}/00g1/users", json=[_user("00u1")])
    [member] = okta.iter_members("00g1")
    assert (member.group_id, member.member_id, member.kind) == ("00g1", "00u1", MemberKind.USER)


def test_changes_none_marks_now_without_traffic(okta):
    with mock.patch(
        "connector.providers.okta.now_utc", return_value=datetime(2026, 1, 2, 3, 4, 5, 678000, timezone.utc)
    ):
        change = okta.changes(None)
    assert change.is_empty and change.cursor == "2026-01-02T03:04:05.678Z"
    assert okta.request_count == 0


def test_without_the_system_log_changes_relist_moved_groups_and_say_so_once(okta, rsps, caplog):
    since = "2026-01-02T03:03:05.678Z"  # the cursor minus 60 s
    rsps.get(
        USERS,
        json=[_user("00u1", "DEPROVISIONED")],
        match=[
            responses.matchers.query_param_matcher({"limit": "200", "filter": f'lastUpdated gt "{since}"'})
        ],
    )
    rsps.get(LOGS, status=403, json=FORBIDDEN)  # okta.logs.read not granted
    rsps.get(
        GROUPS,
        json=[_group("00g1", "Renamed"), _group("00g2", "Moved", membership="2026-01-02T03:10:00.000Z")],
        match=[
            responses.matchers.query_param_matcher(
                {
                    "limit": "200",
                    "expand": "stats",
                    "filter": f'lastUpdated gt "{since}" or lastMembershipUpdated gt "{since}"',
                }
            )
        ],
    )
    rsps.get(f"{GROUPS}/00g2/users", json=[_user("00u7"), _user("00u8")])
    change = okta.changes("2026-01-02T03:04:05.678Z")
    assert [u.idp_user_id for u in change.users] == ["00u1"] and not change.users[0].active
    assert [g.name for g in change.groups] == ["Renamed", "Moved"]
    assert [(m.group_id, m.member_id) for m in change.members_added] == [("00g2", "00u7"), ("00g2", "00u8")]
    assert change.groups_with_full_members == ("00g2",)
    assert change.removed_user_ids == () and change.cursor > "2026-01-02T03:04:05.678Z"
    assert [r.levelname for r in caplog.records if "System Log" in r.getMessage()] == ["WARNING"]
    # the next run does not ask the log again, and does not say it again
    rsps.get(USERS, json=[])
    rsps.get(GROUPS, json=[])
    okta.changes(change.cursor)
    assert not any(call.request.url.startswith(LOGS) for call in rsps.calls[4:])
    assert len([r for r in caplog.records if "System Log" in r.getMessage()]) == 1


def test_a_cursor_that_is_not_a_timestamp_asks_for_a_full_read(okta):
    with pytest.raises(CursorExpiredError, match="full read"):
        okta.changes("not-a-time")


def test_readers_stream_a_page_at_a_time(okta, rsps):
    rsps.get(USERS, json=[_user("00u1")], headers={"Link": f'<{USERS}?after=00u1>; rel="next"'})
    rsps.get(f"{USERS}?after=00u1", json=[_user("00u2")])
    users = okta.iter_users()
    assert next(users).idp_user_id == "00u1" and okta.request_count == 1
    assert next(users).idp_user_id == "00u2" and okta.request_count == 2


def test_check_names_a_missing_scope(okta, rsps):
    rsps.get(USERS, json=[])
    rsps.get(GROUPS, status=403, json=FORBIDDEN)
    rsps.get(LOGS, json=[])
    result = okta.check()
    assert not result.ok and result.missing_scopes == ("okta.groups.read",)
    assert result.granted_scopes == ("okta.users.read", "okta.logs.read")
    assert "missing okta.groups.read" in result.detail


def test_check_passes_without_the_log_scope_and_says_what_that_costs(okta, rsps):
    rsps.get(USERS, json=[])
    rsps.get(GROUPS, json=[])
    rsps.get(LOGS, status=403, json=FORBIDDEN)
    result = okta.check()
    assert result.ok and result.missing_scopes == ("okta.logs.read",)
    assert "re-list" in result.detail


def test_check_reports_refused_credentials_without_raising(okta, rsps):
    rsps.get(USERS, status=401, json={"errorCode": "E0000011", "errorSummary": "Invalid token provided"})
    result = okta.check()
    assert not result.ok and "E0000011" in result.detail and "tok-1234" not in result.detail


def test_a_full_last_page_is_confirmed_with_one_more_request(okta, rsps):
    full = [_user(f"00u{i}") for i in range(200)]
    rsps.get(USERS, json=full)
    probe = rsps.get(
        USERS,
        json=[],
        match=[responses.matchers.query_param_matcher({"after": "00u199"}, strict_match=False)],
    )
    assert len(list(okta.iter_users())) == 200
    assert probe.call_count == 1 and okta.request_count == 2


def test_a_next_link_that_went_missing_after_a_full_page_raises(okta, rsps):
    rsps.get(USERS, json=[_user(f"00u{i}") for i in range(200)])
    rsps.get(USERS, json=[_user("00u999")])
    with pytest.raises(IncompleteReadError, match="without a next link, yet more objects follow"):
        list(okta.iter_users())
