"""Azure AD (Graph) adapter: $select/$top, guests' emails, member kinds, delta queries."""

from __future__ import annotations

import json

import pytest
import responses
from responses.registries import OrderedRegistry

from connector.errors import ConfigError
from connector.errors import CursorExpiredError
from connector.errors import IncompleteReadError
from connector.errors import MalformedObjectError
from connector.model import MemberKind
from connector.net.settings import AuthSettings
from connector.net.settings import Secret
from connector.providers.azure_ad import AzureADProvider
from connector.providers.azure_ad import guest_email_from_upn
from connector.providers.base import ProviderSettings

BASE = "https://graph.test/v1.0"
TOKEN = "https://login.test/t1/oauth2/v2.0/token"


@pytest.fixture
def rsps():
    with responses.RequestsMock(registry=OrderedRegistry) as mock_:
        mock_.post(TOKEN, json={"token_type": "Bearer", "expires_in": 3599, "access_token": "at"})
        yield mock_


@pytest.fixture
def graph(fast_http) -> AzureADProvider:
    auth = AuthSettings("client_secret", client_id="app", client_secret=Secret("s3cr3t-value"))
    settings = ProviderSettings(
        "g1", BASE, auth, http=fast_http, options={"tenant": "t1", "authority": "https://login.test"}
    )
    provider = AzureADProvider(settings)
    yield provider
    provider.close()


def _user(uid: str, **fields) -> dict:
    return {"id": uid, "userPrincipalName": f"{uid}@contoso.com", "accountEnabled": True, **fields}


def test_users_select_only_needed_fields_at_999_a_page(graph, rsps):
    rsps.get(
        f"{BASE}/users",
        json={"@odata.count": 2, "value": [_user("a")], "@odata.nextLink": f"{BASE}/users?$skiptoken=X"},
        match=[
            responses.matchers.query_string_matcher(
                "%24select=id%2CuserPrincipalName%2Cmail%2CotherMails%2CgivenName%2Csurname%2CdisplayName"
                "%2CaccountEnabled%2CuserType%2CcreationType%2CexternalUserState&%24top=999&%24count=true"
            ),
            responses.matchers.header_matcher({"ConsistencyLevel": "eventual"}),
        ],
    )
    rsps.get(f"{BASE}/users?$skiptoken=X", json={"value": [_user("b", accountEnabled=False)]})
    users = list(graph.iter_users())
    assert [(u.idp_user_id, u.active, u.raw_status) for u in users] == [
        ("a", True, "accountEnabled=true"),
        ("b", False, "accountEnabled=false"),
    ]
    assert graph.request_count == 3  # token + 2 pages


def test_a_list_short_of_its_count_raises(graph, rsps):
    rsps.get(f"{BASE}/users", json={"@odata.count": 3, "value": [_user("a")]})
    with pytest.raises(IncompleteReadError, match="1 of 3"):
        list(graph.iter_users())


@pytest.mark.parametrize(
    ("fields", "email", "guest"),
    [
        ({"mail": "ann@contoso.com"}, "ann@contoso.com", False),
        ({"mail": None}, "x@contoso.com", False),
        (
            {"userType": "Guest", "mail": "bob@fabrikam.com", "otherMails": ["b2@f.com"]},
            "bob@fabrikam.com",
            True,
        ),
        ({"userType": "Guest", "mail": None, "otherMails": ["bob@fabrikam.com"]}, "bob@fabrikam.com", True),
        (
            {
                "userPrincipalName": "bob_fab.example#EXT#@contoso.onmicrosoft.com",
                "userType": "Member",
                "mail": None,
            },
            "bob@fab.example",
            True,
        ),
        ({"creationType": "Invitation", "mail": "c@d.example"}, "c@d.example", True),
    ],
)
def test_email_and_guest_rules(graph, fields, email, guest):
    user = graph.to_user({"id": "x", "userPrincipalName": "x@contoso.com", "accountEnabled": True, **fields})
    assert (user.email, user.is_guest) == (email, guest)
    assert user.email not in user.other_emails


def test_guest_email_from_upn_keeps_underscores_in_the_local_part():
    assert guest_email_from_upn("first_last_fab.example#EXT#@t.onmicrosoft.com") == "first_last@fab.example"


OK_USER = {"id": "x", "userPrincipalName": "x@c.com", "accountEnabled": True}


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ({"id": "x", "userPrincipalName": "x@c.com"}, "accountEnabled"),
        ({"id": "x", "userPrincipalName": "x@c.com", "accountEnabled": "true"}, "accountEnabled"),
        ({"id": {"a": 1}, "userPrincipalName": "x@c.com", "accountEnabled": True}, "'id' is an object"),
        ({"id": "x", "userPrincipalName": 42, "accountEnabled": True}, "'userPrincipalName' is a number"),
        ({"id": "x", "userPrincipalName": "x@c.com", "accountEnabled": True, "mail": 7}, "'mail'"),
        (
            {"id": "x", "userPrincipalName": "x@c.com", "accountEnabled": True, "displayName": ["a"]},
            "displayName",
        ),
        (
            {"id": "x", "userPrincipalName": "x@c.com", "accountEnabled": True, "otherMails": "a@b.c"},
            "otherMails",
        ),
        ({"id": "x", "userPrincipalName": "x" * 600, "accountEnabled": True}, "600 characters"),
        (["not", "an", "object"], "not a JSON object"),
    ],
)
def test_a_user_of_the_wrong_shape_is_malformed(graph, raw, says):
    with pytest.raises(MalformedObjectError, match=says):
        graph.to_user(raw)


def test_members_by_odata_type(graph, rsps):
    members = [
        {"@odata.type": "#microsoft.graph.user", "id": "u1"},
        {"@odata.type": "#microsoft.graph.group", "id": "g2"},
        {"@odata.type": "#microsoft.graph.device", "id": "d1"},
    ]
    rsps.get(f"{BASE}/groups/g1/members", json={"value": members})
    got = [(m.member_id, m.kind) for m in graph.iter_members("g1")]
    assert got == [("u1", MemberKind.USER), ("g2", MemberKind.GROUP)]


def test_a_member_without_odata_type_makes_the_list_incomplete(graph, rsps):
    rsps.get(
        f"{BASE}/groups/g1/members",
        json={"value": [{"id": "u1"}, {"@odata.type": "#microsoft.graph.user", "id": "u2"}]},
    )
    assert [m.member_id for m in graph.iter_members("g1")] == ["u2"]
    [problem] = graph.problems
    assert (problem.kind, problem.object_id) == ("members", "g1") and "@odata.type" in problem.reason


def test_changes_none_asks_for_latest_delta_links(graph, rsps):
    rsps.get(
        f"{BASE}/users/delta",
        json={"value": [], "@odata.deltaLink": f"{BASE}/users/delta?$deltatoken=U1"},
        match=[responses.matchers.query_param_matcher({"$deltatoken": "latest"}, strict_match=False)],
    )
    rsps.get(
        f"{BASE}/groups/delta", json={"value": [], "@odata.deltaLink": f"{BASE}/groups/delta?$deltatoken=G1"}
    )
    change = graph.changes(None)
    assert change.is_empty
    assert json.loads(change.cursor) == {
        "users": f"{BASE}/users/delta?$deltatoken=U1",
        "groups": f"{BASE}/groups/delta?$deltatoken=G1",
    }


def _cursor() -> str:
    return json.dumps(
        {"users": f"{BASE}/users/delta?$deltatoken=U1", "groups": f"{BASE}/groups/delta?$deltatoken=G1"}
    )


def test_changes_reads_removals_disabled_users_and_member_deltas(graph, rsps):
    rsps.get(
        f"{BASE}/users/delta?$deltatoken=U1",
        json={
            "value": [_user("u1", accountEnabled=False)],
            "@odata.nextLink": f"{BASE}/users/delta?$skiptoken=S",
        },
    )
    rsps.get(
        f"{BASE}/users/delta?$skiptoken=S",
        json={
            "value": [{"id": "u2", "@removed": {"reason": "deleted"}}, _user("u1", accountEnabled=False)],
            "@odata.deltaLink": f"{BASE}/users/delta?$deltatoken=U2",
        },
    )
    rsps.get(
        f"{BASE}/groups/delta?$deltatoken=G1",
        json={
            "value": [
                {
                    "id": "g1",
                    "displayName": "Eng",
                    "members@delta": [{"@odata.type": "#microsoft.graph.user", "id": "u3"}],
                },
                {"id": "g9", "@removed": {"reason": "changed"}},
                {
                    "id": "g1",
                    "members@delta": [
                        {
                            "@odata.type": "#microsoft.graph.user",
                            "id": "u4",
                            "@removed": {"reason": "deleted"},
                        },
                        {"@odata.type": "#microsoft.graph.group", "id": "g2"},
                    ],
                },
            ],
            "@odata.deltaLink": f"{BASE}/groups/delta?$deltatoken=G2",
        },
    )
    change = graph.changes(_cursor())
    assert [(u.idp_user_id, u.active) for u in change.users] == [("u1", False)]
    assert change.removed_user_ids == ("u2",)
    assert [g.name for g in change.groups] == ["Eng"] and change.removed_group_ids == ("g9",)
    assert [(m.group_id, m.member_id, m.kind) for m in change.members_added] == [
        ("g1", "u3", MemberKind.USER),
        ("g1", "g2", MemberKind.GROUP),
    ]
    assert [(m.group_id, m.member_id) for m in change.members_removed] == [("g1", "u4")]
    assert json.loads(change.cursor)["users"].endswith("U2")
    assert change.groups_with_full_members == ()


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (410, {"error": {"code": "resyncRequired", "message": "Resync required"}}),
        (400, {"error": {"code": "syncStateNotFound", "message": "The sync state is not found"}}),
    ],
)
def test_an_expired_delta_token_asks_for_a_full_read(graph, rsps, status, body):
    rsps.get(f"{BASE}/users/delta?$deltatoken=U1", status=status, json=body)
    with pytest.raises(CursorExpiredError):
        graph.changes(_cursor())


def test_a_delta_sequence_without_a_delta_link_raises(graph, rsps):
    rsps.get(f"{BASE}/users/delta?$deltatoken=U1", json={"value": []})
    with pytest.raises(IncompleteReadError, match="deltaLink"):
        graph.changes(_cursor())


@pytest.mark.parametrize(
    "cursor", ["garbage", json.dumps({"users": "https://evil.test/x", "groups": "https://evil.test/y"})]
)
def test_a_foreign_or_garbled_cursor_asks_for_a_full_read(graph, cursor):
    with pytest.raises(CursorExpiredError, match="full read"):
        graph.changes(cursor)
    assert graph.request_count == 0


def test_tenant_is_required(fast_http):
    auth = AuthSettings("client_secret", client_id="app", client_secret=Secret("s"))
    with pytest.raises(ConfigError, match="options.tenant"):
        AzureADProvider(ProviderSettings("g1", BASE, auth, http=fast_http))


def test_check_gets_a_token_and_reads_users_and_groups(graph, rsps):
    rsps.get(f"{BASE}/users", json={"value": []})
    rsps.get(f"{BASE}/groups", json={"value": []})
    result = graph.check()
    assert result.ok and result.granted_scopes == ("User.Read.All", "GroupMember.Read.All")
    assert graph.request_count == 3


def test_a_member_list_shorter_than_its_count_is_reported_not_trusted(graph, rsps):
    """docs/contract.md, "Absent groups and incomplete member lists": the group keeps its memberships."""
    listed = [{"@odata.type": "#microsoft.graph.user", "id": "u1"}]
    rsps.get(f"{BASE}/groups/g1/members", json={"@odata.count": 15, "value": listed})
    list(graph.iter_members("g1"))
    [problem] = graph.problems
    assert (problem.kind, problem.object_id) == ("members", "g1") and "1 of 15" in problem.reason
