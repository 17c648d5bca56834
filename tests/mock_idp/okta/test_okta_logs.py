"""Okta dialect, System Log: membership events, ``/api/v1/logs`` paging, filter, bounds, errors, scope."""

from __future__ import annotations

import re
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mock_idp.app import create_app
from mock_idp.state.directory import ApiToken
from mock_idp.state.directory import Directory
from mock_idp.state.generator import generate
from mock_idp.state.system_log import SystemLog

T0 = datetime(2026, 1, 5, 9, 0, 0, tzinfo=timezone.utc)
TOKEN = "00ssws-logs-token"
ADD = "group.user_membership.add"
REMOVE = "group.user_membership.remove"
MEMBERSHIP = f'eventType eq "{ADD}" or eventType eq "{REMOVE}"'


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def directory(clock: Clock) -> Directory:
    d = Directory(seed=9, clock=clock)
    for i in range(6):
        d.add_user(f"u{i}@example.com", email=f"u{i}@example.com", given_name=f"U{i}")
    d.add_group("Engineering")
    d.add_group("Backend")
    d.add_api_token(ApiToken(TOKEN, "okta", name="test"))
    return d


@pytest.fixture
def client(real_app: Flask, client_for) -> FlaskClient:  # type: ignore[no-untyped-def]
    return client_for(real_app, f"SSWS {TOKEN}")


def user(d: Directory, i: int):
    return d.user_by_name(f"u{i}@example.com")


def group(d: Directory, name: str):
    return next(g for g in d.groups.values() if g.name == name)


def rels(response) -> dict[str, str]:
    return {
        m[2]: m[1]
        for m in (re.fullmatch(r'<([^>]+)>; rel="(\w+)"', v) for v in response.headers.getlist("Link"))
    }


def page_through(client: FlaskClient, url: str) -> tuple[list[dict], int]:
    items: list[dict] = []
    pages = 0
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.json
        pages += 1
        items.extend(response.json)
        url = rels(response).get("next", "")
    return items, pages


def moves(events: list[dict]) -> list[tuple[str, str, str]]:
    """(eventType, group name, user login) per event."""
    out = []
    for event in events:
        targets = {t["type"]: t for t in event["target"]}
        out.append((event["eventType"], targets["UserGroup"]["displayName"], targets["User"]["alternateId"]))
    return out


BOUNDED = "/api/v1/logs?since=2026-01-01T00:00:00.000Z&until=2026-01-06T00:00:00.000Z"
WINDOW = {"since": "2026-01-01T00:00:00.000Z", "until": "2026-01-06T00:00:00.000Z"}


def filtered(client: FlaskClient, expression: str) -> list[dict]:
    response = client.get("/api/v1/logs", query_string={**WINDOW, "filter": expression})
    assert response.status_code == 200, response.json
    return response.json


# ---------------------------------------------------------------------------- what is logged


def test_a_generated_directory_logs_none_of_its_seed_memberships():
    d = generate(users=300, groups=12, seed=4)
    assert sum(len(g.user_ids) for g in d.groups.values()) > 300
    assert len(d.system_log) == 0
    some_group = next(g for g in d.groups.values() if not g.built_in)  # Everyone holds every user
    outsider = next(u for u in d.users.values() if u.object_id not in some_group.user_ids)
    d.add_member(some_group.object_id, outsider.object_id)
    assert len(d.system_log) >= 1


def test_every_way_of_changing_members_is_logged_in_order(client, directory, real_app):
    eng, backend = group(directory, "Engineering"), group(directory, "Backend")
    directory.add_member(eng.object_id, user(directory, 0).object_id)
    directory.add_member(eng.object_id, user(directory, 1).object_id)
    directory.remove_member(eng.object_id, user(directory, 0).object_id)
    directory.set_members(backend.object_id, [user(directory, 2).object_id])  # the SCIM PUT path
    admin = real_app.test_client()
    headers = {"Authorization": f"Bearer {real_app.extensions['mock_idp'].admin_token}"}
    ok = admin.post(f"/_admin/groups/{eng.okta_id}/members/{user(directory, 3).okta_id}", headers=headers)
    assert ok.status_code == 201
    assert admin.delete(f"/_admin/users/{user(directory, 1).okta_id}", headers=headers).status_code == 204
    events, _ = page_through(client, BOUNDED)
    assert moves(events) == [
        (ADD, "Engineering", "u0@example.com"),
        (ADD, "Engineering", "u1@example.com"),
        (REMOVE, "Engineering", "u0@example.com"),
        (ADD, "Backend", "u2@example.com"),
        (ADD, "Engineering", "u3@example.com"),
        (REMOVE, "Engineering", "u1@example.com"),  # deleting a user logs its removals
    ]
    first = events[0]
    assert first["outcome"]["result"] == "SUCCESS" and first["severity"] == "INFO"
    assert first["displayMessage"] == "Add user to group membership"
    assert [t["type"] for t in first["target"]] == ["User", "UserGroup"]
    assert first["target"][0]["id"] == user(directory, 0).okta_id and first["target"][1]["id"] == eng.okta_id
    assert len({e["uuid"] for e in events}) == len(events)
    published = [e["published"] for e in events]
    assert published == sorted(published) and all(p.endswith("Z") for p in published)


def test_nested_groups_log_the_flattened_membership_okta_shows(client, directory):
    eng, backend = group(directory, "Engineering"), group(directory, "Backend")
    directory.add_member(backend.object_id, user(directory, 0).object_id)
    directory.add_member(eng.object_id, user(directory, 1).object_id)
    directory.add_member(eng.object_id, backend.object_id, kind="group")  # u0 joins Engineering too
    directory.add_member(backend.object_id, user(directory, 2).object_id)  # joins both
    directory.add_member(backend.object_id, user(directory, 1).object_id)  # already in Engineering
    directory.remove_member(eng.object_id, backend.object_id, kind="group")  # u0, u2 leave Engineering
    events, _ = page_through(client, BOUNDED)
    assert moves(events[:6]) == [
        (ADD, "Backend", "u0@example.com"),
        (ADD, "Engineering", "u1@example.com"),
        (ADD, "Engineering", "u0@example.com"),
        (ADD, "Backend", "u2@example.com"),
        (ADD, "Engineering", "u2@example.com"),
        (ADD, "Backend", "u1@example.com"),
    ]
    assert sorted(moves(events[6:])) == [
        (REMOVE, "Engineering", "u0@example.com"),
        (REMOVE, "Engineering", "u2@example.com"),
    ]


def test_the_log_is_bounded_and_keeps_the_newest():
    log = SystemLog(capacity=8)
    d = Directory(seed=1)
    d.system_log = log
    g = d.add_group("G")
    users = [d.add_user(f"x{i}@example.com") for i in range(20)]
    for u in users:
        d.add_member(g.object_id, u.object_id)
    kept = log.entries()
    assert 8 <= len(kept) <= 10
    assert [e.user[1] for e in kept] == [u.user_name for u in users[-len(kept) :]]
    assert [e.seq for e in kept] == list(range(21 - len(kept), 21))


# ---------------------------------------------------------------------------- the endpoint


@pytest.fixture
def busy(directory: Directory) -> Directory:
    """Seven events: five adds to Engineering, two removals."""
    eng = group(directory, "Engineering")
    for i in range(5):
        directory.add_member(eng.object_id, user(directory, i).object_id)
    directory.remove_member(eng.object_id, user(directory, 0).object_id)
    directory.remove_member(eng.object_id, user(directory, 1).object_id)
    return directory


def test_pages_follow_the_next_link_with_after(client, busy):
    events, pages = page_through(client, f"{BOUNDED}&limit=3&sortOrder=ASCENDING")
    assert pages == 3 and len(events) == 7
    first = client.get(f"{BOUNDED}&limit=3")
    link = rels(first)["next"]
    query = parse_qs(urlsplit(link).query)
    assert query["limit"] == ["3"] and query["after"] and query["since"] == ["2026-01-01T00:00:00.000Z"]
    assert rels(first)["self"].endswith("limit=3")
    last = client.get(f"{BOUNDED}&limit=7")
    assert len(last.json) == 7 and "next" not in rels(last)  # a bounded read ends


def test_descending_order_pages_backwards(client, busy):
    ascending, _ = page_through(client, BOUNDED)
    descending, pages = page_through(client, f"{BOUNDED}&sortOrder=DESCENDING&limit=2")
    assert pages == 4 and [e["uuid"] for e in descending] == [e["uuid"] for e in reversed(ascending)]


def test_limit_defaults_to_100_and_is_capped_at_1000(client, directory):
    eng = group(directory, "Engineering")
    for i in range(6, 131):
        u = directory.add_user(f"n{i}@example.com")
        directory.add_member(eng.object_id, u.object_id)
    assert len(client.get(BOUNDED).json) == 100
    assert len(client.get(f"{BOUNDED}&limit=5000").json) == 125
    assert client.get(f"{BOUNDED}&limit=0").status_code == 400


def test_filter_on_event_type_joined_by_or(client, busy):
    adds = filtered(client, f'eventType eq "{ADD}"')
    assert len(adds) == 5 and {e["eventType"] for e in adds} == {ADD}
    assert len(filtered(client, MEMBERSHIP)) == 7
    assert filtered(client, 'eventType eq "user.session.start"') == []
    assert len(filtered(client, 'outcome.result eq "SUCCESS" and eventType sw "group."')) == 7


@pytest.mark.parametrize(
    "query",
    [
        {"filter": 'target.alternateId eq "u0@example.com"'},
        {"filter": 'eventType gt "a"'},
        {"filter": "eventType eq"},
        {"q": "Engineering"},
        {"sortOrder": "SIDEWAYS"},
        {"since": "yesterday"},
        {"until": "2026-13-01"},
        {"since": "2026-01-05T00:00:00Z", "until": "2026-01-04T00:00:00Z"},
        {"after": "not-a-cursor"},
    ],
)
def test_what_it_does_not_support_is_an_okta_400(client, busy, query):
    response = client.get("/api/v1/logs", query_string=query)
    assert response.status_code == 400
    assert response.json["errorCode"] == "E0000001" and response.json["errorCauses"]
    assert set(response.json) == {"errorCode", "errorSummary", "errorLink", "errorId", "errorCauses"}


def test_since_is_inclusive_and_until_exclusive(client, busy):
    events, _ = page_through(client, BOUNDED)
    third, fifth = events[2]["published"], events[4]["published"]
    window = client.get("/api/v1/logs", query_string={"since": third, "until": fifth}).json
    assert [e["uuid"] for e in window] == [e["uuid"] for e in events[2:4]]
    early = client.get("/api/v1/logs", query_string={"since": "2025-01-01T00:00:00Z", "until": third}).json
    assert len(early) == 2


def test_a_polling_read_keeps_a_next_link_and_finds_later_events(client, directory, busy, clock):
    since = (T0 - timedelta(hours=1)).isoformat()
    response = client.get("/api/v1/logs", query_string={"since": since})
    assert len(response.json) == 7
    later = rels(response)["next"]  # Okta's polling link, even on the last page
    assert client.get(later).json == []
    directory.add_member(group(directory, "Backend").object_id, user(directory, 5).object_id)
    news = client.get(later).json
    assert moves(news) == [(ADD, "Backend", "u5@example.com")]


def test_the_log_needs_okta_logs_read(real_app, client_for, directory, busy):
    users_only = directory.issue_token("0oa-service", "okta", ["okta.users.read", "okta.groups.read"]).token
    refused = client_for(real_app, f"Bearer {users_only}").get(BOUNDED)
    assert refused.status_code == 403 and refused.json["errorCode"] == "E0000006"
    assert 'scope="okta.logs.read"' in refused.headers["WWW-Authenticate"]
    logs = directory.issue_token("0oa-service", "okta", ["okta.logs.read"]).token
    assert client_for(real_app, f"Bearer {logs}").get(BOUNDED).status_code == 200
    assert client_for(real_app, "SSWS wrong").get(BOUNDED).status_code == 401


def test_answers_carry_okta_rate_limit_headers_in_their_own_bucket(directory):
    directory.add_api_token(ApiToken(TOKEN, "okta", name="test"))
    app = create_app(directory, config={"RATE_LIMITS": {"okta:logs": 2}})
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"SSWS {TOKEN}"
    answers = [client.get(BOUNDED) for _ in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 429]
    assert [r.headers["X-Rate-Limit-Limit"] for r in answers] == ["2", "2", "2"]
    assert answers[2].json["errorCode"] == "E0000047"
    assert client.get("/api/v1/users?limit=1").status_code == 200  # another bucket
    for name in ("X-Rate-Limit-Remaining", "X-Rate-Limit-Reset", "X-Okta-Request-Id"):
        assert answers[0].headers.get(name)
