"""Okta ``changes()``: membership moves read from the System Log (``/api/v1/logs``) as a diff."""

from __future__ import annotations

import pytest
import responses

from connector.errors import AuthError
from connector.errors import IncompleteReadError
from connector.model import MemberKind
from connector.providers.okta import MEMBERSHIP_FILTER
from connector.providers.okta import OktaProvider

BASE = "https://okta.test"
USERS = f"{BASE}/api/v1/users"
GROUPS = f"{BASE}/api/v1/groups"
LOGS = f"{BASE}/api/v1/logs"
CURSOR = "2026-01-02T03:04:05.678Z"
SINCE = "2026-01-02T03:03:05.678Z"  # the cursor minus 60 s
ADD = "group.user_membership.add"
REMOVE = "group.user_membership.remove"


def event(kind: str, group: str, user: str, result: str = "SUCCESS", n: int = 0) -> dict:
    return {
        "uuid": f"uuid-{group}-{user}-{n}",
        "published": f"2026-01-02T03:05:{n:02d}.000Z",
        "eventType": kind,
        "severity": "INFO",
        "displayMessage": {ADD: "Add user to group membership"}.get(
            kind, "Remove user from group membership"
        ),
        "outcome": {"result": result},
        "actor": {"id": "00uadmin", "type": "User"},
        "target": [
            {"id": user, "type": "User", "alternateId": f"{user}@example.com", "displayName": user},
            {"id": group, "type": "UserGroup", "alternateId": "unknown", "displayName": group},
        ],
    }


def read(okta: OktaProvider, rsps: responses.RequestsMock, *pages: list[dict]):
    """One ``changes()`` whose System Log answers ``pages`` (linked by ``after``)."""
    rsps.get(USERS, json=[])
    for index, page in enumerate(pages):
        headers = {}
        if index + 1 < len(pages):
            headers["Link"] = f'<{LOGS}?after=cursor{index + 1}&limit=1000>; rel="next"'
        rsps.get(LOGS, json=page, headers=headers)
    rsps.get(GROUPS, json=[])
    return okta.changes(CURSOR)


def pairs(members) -> list[tuple[str, str]]:
    return [(m.group_id, m.member_id) for m in members]


def test_the_log_is_asked_for_membership_events_in_order_and_groups_only_for_renames(okta, rsps):
    change = read(okta, rsps, [event(ADD, "00g1", "00u1")])
    users_call, logs_call, groups_call = rsps.calls
    query = logs_call.request.params
    assert query["since"] == SINCE and query["until"] > CURSOR and query["until"] > change.cursor
    assert query["filter"] == MEMBERSHIP_FILTER and query["sortOrder"] == "ASCENDING"
    assert query["limit"] == "1000"
    assert groups_call.request.params["filter"] == f'lastUpdated gt "{SINCE}"'
    assert pairs(change.members_added) == [("00g1", "00u1")]
    assert change.members_added[0].kind == MemberKind.USER
    assert change.members_removed == () and change.groups_with_full_members == ()


def test_an_add_then_a_remove_of_the_same_pair_is_a_removal(okta, rsps):
    change = read(okta, rsps, [event(ADD, "00g1", "00u1", n=1), event(REMOVE, "00g1", "00u1", n=2)])
    assert change.members_added == () and pairs(change.members_removed) == [("00g1", "00u1")]


def test_a_remove_then_an_add_of_the_same_pair_is_an_addition(okta, rsps):
    change = read(okta, rsps, [event(REMOVE, "00g1", "00u1", n=1), event(ADD, "00g1", "00u1", n=2)])
    assert pairs(change.members_added) == [("00g1", "00u1")] and change.members_removed == ()


def test_failed_events_and_other_event_types_are_ignored(okta, rsps):
    change = read(
        okta,
        rsps,
        [
            event(ADD, "00g1", "00u1", n=1),
            event(REMOVE, "00g1", "00u1", result="FAILURE", n=2),  # did not happen
            event(ADD, "00g2", "00u2", result="DENY", n=3),
            {**event(ADD, "00g3", "00u3", n=4), "eventType": "user.session.start"},
        ],
    )
    assert pairs(change.members_added) == [("00g1", "00u1")] and change.members_removed == ()


def test_pages_are_followed_and_the_last_event_across_pages_wins(okta, rsps):
    change = read(
        okta,
        rsps,
        [event(ADD, "00g1", "00u1", n=1), event(ADD, "00g1", "00u2", n=2)],
        [event(REMOVE, "00g1", "00u1", n=3)],
        [event(ADD, "00g2", "00u1", n=4)],
    )
    assert len([c for c in rsps.calls if c.request.url.startswith(LOGS)]) == 3
    assert pairs(change.members_added) == [("00g1", "00u2"), ("00g2", "00u1")]
    assert pairs(change.members_removed) == [("00g1", "00u1")]


def test_an_event_without_its_user_or_group_raises(okta, rsps):
    broken = event(ADD, "00g1", "00u1")
    broken["target"] = broken["target"][:1]
    rsps.get(USERS, json=[])
    rsps.get(LOGS, json=[broken])
    with pytest.raises(IncompleteReadError, match="does not name its user and group"):
        okta.changes(CURSOR)


def test_a_401_from_the_log_is_not_taken_for_a_missing_scope(okta, rsps):
    rsps.get(USERS, json=[])
    rsps.get(LOGS, status=401, json={"errorCode": "E0000011", "errorSummary": "Invalid token provided"})
    with pytest.raises(AuthError):
        okta.changes(CURSOR)


def test_a_403_falls_back_to_relisting_groups_whose_members_moved(okta, rsps, caplog):
    rsps.get(USERS, json=[])
    rsps.get(LOGS, status=403, json={"errorCode": "E0000006", "errorSummary": "You do not have permission"})
    moved = {
        "id": "00g2",
        "lastUpdated": "2024-01-01T00:00:00.000Z",
        "lastMembershipUpdated": "2026-01-02T03:10:00.000Z",
        "profile": {"name": "Moved"},
    }
    rsps.get(GROUPS, json=[moved])
    rsps.get(f"{GROUPS}/00g2/users", json=[{"id": "00u7"}])
    change = okta.changes(CURSOR)
    assert "lastMembershipUpdated" in rsps.calls[2].request.params["filter"]
    assert pairs(change.members_added) == [("00g2", "00u7")] and change.groups_with_full_members == ("00g2",)
    assert any("okta.logs.read" in r.getMessage() for r in caplog.records)
