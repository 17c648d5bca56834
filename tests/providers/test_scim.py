"""SCIM adapter: startIndex paging, short reads, primary email, member kinds, filtered changes."""

from __future__ import annotations

import pytest
import responses
from responses.registries import OrderedRegistry

from connector.errors import CursorExpiredError
from connector.errors import IncompleteReadError
from connector.errors import MalformedObjectError
from connector.model import MemberKind
from connector.net.settings import AuthSettings
from connector.net.settings import Secret
from connector.providers.base import ProviderSettings
from connector.providers.scim import ScimProvider

BASE = "https://scim.test/scim/v2"


@pytest.fixture
def rsps():
    with responses.RequestsMock(registry=OrderedRegistry) as mock_:
        yield mock_


@pytest.fixture
def scim(fast_http) -> ScimProvider:
    auth = AuthSettings("bearer", token=Secret("bearer-123"))
    provider = ScimProvider(ProviderSettings("s1", BASE, auth, page_size=2, http=fast_http))
    yield provider
    provider.close()


def _user(uid: str, **fields) -> dict:
    return {"id": uid, "userName": f"{uid}@example.com", **fields}


def _list(total: int, resources: list) -> dict:
    return {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": total,
        "Resources": resources,
    }


def _page(start: int, count: int = 2) -> list:
    return [
        responses.matchers.query_param_matcher(
            {"startIndex": str(start), "count": str(count), "excludedAttributes": "groups"},
            strict_match=False,
        )
    ]


def test_pages_by_start_index_until_total_results(scim, rsps):
    rsps.get(f"{BASE}/Users", json=_list(5, [_user("a"), _user("b")]), match=_page(1))
    rsps.get(f"{BASE}/Users", json=_list(5, [_user("c")]), match=_page(3))  # a short page: carry on from 4
    rsps.get(f"{BASE}/Users", json=_list(5, [_user("d"), _user("e")]), match=_page(4))
    assert [u.idp_user_id for u in scim.iter_users()] == ["a", "b", "c", "d", "e"]
    assert scim.request_count == 3


def test_a_list_short_of_total_results_raises(scim, rsps):
    rsps.get(f"{BASE}/Users", json=_list(5, [_user("a"), _user("b")]))
    rsps.get(f"{BASE}/Users", json=_list(5, []))
    with pytest.raises(IncompleteReadError, match="ended at 2 of 5"):
        list(scim.iter_users())


def test_a_total_that_shrinks_mid_read_raises(scim, rsps):
    rsps.get(f"{BASE}/Users", json=_list(5, [_user("a"), _user("b")]))
    rsps.get(f"{BASE}/Users", json=_list(4, [_user("c"), _user("d")]))
    with pytest.raises(IncompleteReadError, match="shrank from 5 to 4"):
        list(scim.iter_users())


def test_a_list_without_total_results_raises(scim, rsps):
    rsps.get(f"{BASE}/Users", json={"Resources": []})
    with pytest.raises(IncompleteReadError, match="totalResults"):
        list(scim.iter_users())


def test_user_mapping(scim):
    user = scim.to_user(
        _user(
            "a",
            active=False,
            name={"givenName": "Ann", "familyName": "Lee"},
            emails=[{"value": "home@x.example"}, {"value": "ann@example.com", "primary": True}],
            meta={"lastModified": "2024-05-05T18:15:44Z"},
        )
    )
    assert (user.email, user.other_emails, user.active, user.raw_status) == (
        "ann@example.com",
        ("home@x.example",),
        False,
        "active=false",
    )
    assert (user.given_name, user.family_name, user.updated_at.year) == ("Ann", "Lee", 2024)
    assert scim.to_user(_user("b", emails=[{"value": "b@x.example"}])).email == "b@x.example"
    assert scim.to_user(_user("c")).active is True


def test_a_non_boolean_active_is_malformed(scim):
    with pytest.raises(MalformedObjectError, match="'active' is text \\('yes'\\), not true or false"):
        scim.to_user(_user("a", active="yes"))


@pytest.mark.parametrize(
    ("body", "reported"),
    [
        ({"id": "g1", "displayName": "Eng"}, True),  # no members attribute: not known to be empty
        ({"id": "g1", "displayName": "Eng", "members": [{"display": "no value"}]}, True),
        ({"id": "g1", "displayName": "Eng", "members": []}, False),  # known to be empty
    ],
)
def test_a_group_answered_without_its_members_is_reported_not_emptied(scim, rsps, body, reported):
    rsps.get(f"{BASE}/Groups/g1", json=body)
    assert list(scim.iter_members("g1")) == []
    assert [(p.kind, p.object_id) for p in scim.problems] == ([("members", "g1")] if reported else [])


def test_member_kinds_from_type_or_ref(scim, rsps):
    members = [
        {"value": "u1", "type": "User"},
        {"value": "g2", "type": "Group"},
        {"value": "g3", "$ref": f"{BASE}/Groups/g3"},
        {"value": "u4"},
    ]
    rsps.get(f"{BASE}/Groups/g1", json={"id": "g1", "displayName": "Eng", "members": members})
    got = [(m.member_id, m.kind) for m in scim.iter_members("g1")]
    assert got == [
        ("u1", MemberKind.USER),
        ("g2", MemberKind.GROUP),
        ("g3", MemberKind.GROUP),
        ("u4", MemberKind.USER),
    ]
    assert scim.request_count == 1


def test_groups_are_listed_without_members(scim, rsps):
    rsps.get(
        f"{BASE}/Groups",
        json=_list(1, [{"id": "g1", "displayName": "Eng"}]),
        match=[responses.matchers.query_param_matcher({"excludedAttributes": "members"}, strict_match=False)],
    )
    assert [g.name for g in scim.iter_groups()] == ["Eng"]


def test_changes_filter_on_last_modified_and_report_whole_groups(scim, rsps):
    rsps.get(f"{BASE}/ServiceProviderConfig", json={"filter": {"supported": True, "maxResults": 200}})
    flt = 'meta.lastModified gt "2026-01-02T03:03:05.678Z"'
    rsps.get(
        f"{BASE}/Users",
        json=_list(1, [_user("a", active=False)]),
        match=[responses.matchers.query_param_matcher({"filter": flt}, strict_match=False)],
    )
    rsps.get(
        f"{BASE}/Groups",
        json=_list(1, [{"id": "g1", "displayName": "Eng", "members": [{"value": "a", "type": "User"}]}]),
        match=[responses.matchers.query_param_matcher({"filter": flt}, strict_match=False)],
    )
    change = scim.changes("2026-01-02T03:04:05.678Z")
    assert [(u.idp_user_id, u.active) for u in change.users] == [("a", False)]
    assert [(m.group_id, m.member_id) for m in change.members_added] == [("g1", "a")]
    assert change.groups_with_full_members == ("g1",)


def test_changed_groups_come_fifty_to_a_page_with_their_members(fast_http, rsps):
    auth = AuthSettings("bearer", token=Secret("t"))
    scim = ScimProvider(ProviderSettings("s1", BASE, auth, http=fast_http))  # page size 1000
    rsps.get(f"{BASE}/ServiceProviderConfig", json={"filter": {"supported": True}})
    rsps.get(f"{BASE}/Users", json=_list(0, []))
    groups = [{"id": f"g{n}", "displayName": f"G{n}", "members": [{"value": "a"}]} for n in range(60)]
    for start, part in ((1, groups[:50]), (51, groups[50:])):
        page = {"startIndex": str(start), "count": "50"}
        match = [responses.matchers.query_param_matcher(page, strict_match=False)]
        rsps.get(f"{BASE}/Groups", json=_list(60, part), match=match)
    change = scim.changes("2026-01-02T03:04:05.678Z")
    assert len(change.groups_with_full_members) == 60 and len(change.members_added) == 60


def test_without_filter_support_a_stored_cursor_asks_for_a_full_read(scim, rsps):
    rsps.get(f"{BASE}/ServiceProviderConfig", json={"filter": {"supported": False}})
    assert scim.changes(None).cursor
    with pytest.raises(CursorExpiredError, match="does not support filtering"):
        scim.changes("2026-01-02T03:04:05.678Z")


def test_check_reads_the_service_provider_config(scim, rsps):
    rsps.get(f"{BASE}/ServiceProviderConfig", json={"filter": {"supported": True}})
    rsps.get(f"{BASE}/Users", json=_list(0, []))
    rsps.get(f"{BASE}/Groups", json=_list(0, []))
    result = scim.check()
    assert result.ok and "filtering supported" in result.detail
