"""Okta dialect, users: paging completeness, Link headers, filter, search, q, single GET."""

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

T0 = datetime(2026, 1, 5, 9, 0, 0, tzinfo=timezone.utc)
TOKEN = "00ssws-test-token"
STATUSES = ["ACTIVE", "SUSPENDED", "DEPROVISIONED", "STAGED", "PROVISIONED", "LOCKED_OUT", "PASSWORD_EXPIRED"]


@pytest.fixture
def directory() -> Directory:
    d = Directory(seed=11, clock=lambda: T0)
    for i in range(23):
        d.add_user(
            f"user{i:02d}@example.com",
            email=f"user{i:02d}@example.com",
            given_name="Ann" if i % 3 == 0 else "Bob",
            family_name=f"Family{i:02d}",
            status=STATUSES[i % len(STATUSES)],
            department="Engineering" if i % 2 else "Sales",
        )
    d.add_api_token(ApiToken(TOKEN, "okta", name="test"))
    return d


@pytest.fixture
def client(real_app: Flask, client_for) -> FlaskClient:  # type: ignore[no-untyped-def]
    return client_for(real_app, f"SSWS {TOKEN}")


def links(response) -> list[tuple[str, str]]:
    """``(url, rel)`` of each ``Link`` header, in order."""
    found = []
    for value in response.headers.getlist("Link"):
        match = re.fullmatch(r'<([^>]+)>; rel="(\w+)"', value)
        assert match, value
        found.append((match[1], match[2]))
    return found


def page_through(client: FlaskClient, url: str) -> list[dict]:
    """Follow ``rel="next"`` links from ``url`` to the end."""
    items: list[dict] = []
    pages = 0
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.json
        items.extend(response.json)
        rels = links(response)
        assert rels[0][1] == "self"
        url = next((u for u, rel in rels if rel == "next"), "")
        pages += 1
        assert pages < 100
    return items


def test_plain_list_pages_through_every_user_except_deprovisioned(client, directory):
    users = page_through(client, "/api/v1/users?limit=5")
    expected = {u.okta_id for u in directory.users.values() if u.status != "DEPROVISIONED"}
    assert [u["id"] for u in users] == sorted(expected)
    assert len(users) == len(expected) == 20


def test_link_headers_are_self_then_next_with_absolute_urls(client):
    response = client.get("/api/v1/users?limit=5")
    (self_url, self_rel), (next_url, next_rel) = links(response)
    assert (self_rel, next_rel) == ("self", "next")
    assert self_url == "http://localhost/api/v1/users?limit=5"
    parts = urlsplit(next_url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "http://localhost/api/v1/users"
    assert parse_qs(parts.query) == {"after": [response.json[-1]["id"]], "limit": ["5"]}


def test_last_page_has_only_a_self_link(client):
    response = client.get("/api/v1/users?limit=200")
    assert len(response.json) == 20
    assert [rel for _, rel in links(response)] == ["self"]


def test_next_link_repeats_filter_and_search(client):
    response = client.get('/api/v1/users?limit=2&search=profile.firstName eq "Bob"')
    next_url = dict((rel, url) for url, rel in links(response))["next"]
    assert parse_qs(urlsplit(next_url).query)["search"] == ['profile.firstName eq "Bob"']
    response = client.get('/api/v1/users?limit=2&filter=status eq "ACTIVE"')
    next_url = dict((rel, url) for url, rel in links(response))["next"]
    assert "filter=status%20eq%20%22ACTIVE%22" in next_url
    assert parse_qs(urlsplit(next_url).query)["filter"] == ['status eq "ACTIVE"']


def test_limit_is_clamped_to_200_and_defaults_to_200(client, directory):
    for i in range(200):
        directory.add_user(f"extra{i}@example.com", email=f"extra{i}@example.com")
    assert len(client.get("/api/v1/users").json) == 200
    assert len(client.get("/api/v1/users?limit=1000").json) == 200


@pytest.mark.parametrize("limit", ["abc", "0", "-3"])
def test_bad_limit_is_a_validation_error(client, limit):
    response = client.get(f"/api/v1/users?limit={limit}")
    assert response.status_code == 400
    assert response.json["errorCode"] == "E0000001"
    assert "limit" in response.json["errorCauses"][0]["errorSummary"]


def test_after_cursor_survives_changes_between_pages(client, directory):
    first = client.get("/api/v1/users?limit=4")
    cursor = first.json[-1]["id"]
    # The last user returned is deleted, another is added: the cursor still places the next page.
    directory.delete_user(directory.user_by_okta_id(cursor).object_id)
    directory.add_user("late@example.com", email="late@example.com", okta_id="00u" + "z" * 17)
    rest = page_through(client, f"/api/v1/users?limit=4&after={cursor}")
    ids = [u["id"] for u in first.json + rest]
    assert ids == sorted(set(ids))
    live = {u.okta_id for u in directory.users.values() if u.status != "DEPROVISIONED"}
    assert live - set(ids) == set()


def test_truncate_fault_ends_the_listing_early(directory):
    faults = [{"kind": "truncate", "dialect": "okta", "path": "^/api/v1/users$", "count": 1}]
    client = create_app(directory, config={"FAULTS": faults}).test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"SSWS {TOKEN}"
    response = client.get("/api/v1/users?limit=5")
    assert len(response.json) == 5
    assert [rel for _, rel in links(response)] == ["self"]
    assert [rel for _, rel in links(client.get("/api/v1/users?limit=5"))] == ["self", "next"]


def test_user_object_shape(client, directory):
    user = directory.user_by_name("user00@example.com")
    assert user is not None
    body = client.get("/api/v1/users?limit=200").json
    rendered = next(u for u in body if u["id"] == user.okta_id)
    assert set(rendered) == {
        "id",
        "status",
        "created",
        "activated",
        "statusChanged",
        "lastLogin",
        "lastUpdated",
        "passwordChanged",
        "type",
        "profile",
        "credentials",
        "_links",
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", rendered["created"])
    assert rendered["profile"]["login"] == "user00@example.com"
    assert rendered["profile"]["firstName"] == "Ann"
    assert rendered["profile"]["department"] == "Sales"
    assert rendered["credentials"] == {"password": {}, "provider": {"type": "OKTA", "name": "OKTA"}}
    assert rendered["_links"] == {"self": {"href": f"http://localhost/api/v1/users/{user.okta_id}"}}
    assert rendered["type"]["id"].startswith("oty")


# ---------------------------------------------------------------------------- filter


def ids_of(client: FlaskClient, query: str) -> set[str]:
    return {u["id"] for u in page_through(client, f"/api/v1/users?limit=3&{query}")}


def okta_ids(directory: Directory, keep) -> set[str]:
    return {u.okta_id for u in directory.users.values() if keep(u)}


def test_filter_status_includes_deprovisioned(client, directory):
    got = ids_of(client, 'filter=status eq "DEPROVISIONED"')
    assert got == okta_ids(directory, lambda u: u.status == "DEPROVISIONED")
    assert len(got) == 3


def test_filter_operators_are_case_insensitive_but_values_are_not(client, directory):
    assert ids_of(client, 'filter=status EQ "ACTIVE"') == okta_ids(directory, lambda u: u.status == "ACTIVE")
    assert ids_of(client, 'filter=status eq "active"') == set()


def test_filter_last_updated_comparisons(client, directory):
    users = sorted(directory.users.values(), key=lambda u: u.last_updated)
    pivot = users[10].last_updated
    stamp = pivot.strftime("%Y-%m-%dT%H:%M:%S.") + f"{pivot.microsecond // 1000:03d}Z"
    for op, keep in [
        ("gt", lambda u: u.last_updated > pivot),
        ("ge", lambda u: u.last_updated >= pivot),
        ("lt", lambda u: u.last_updated < pivot),
        ("le", lambda u: u.last_updated <= pivot),
        ("eq", lambda u: u.last_updated == pivot),
    ]:
        assert ids_of(client, f'filter=lastUpdated {op} "{stamp}"') == okta_ids(directory, keep), op


def test_filter_and_or_parentheses(client, directory):
    query = 'filter=(status eq "ACTIVE" or status eq "SUSPENDED") and profile.firstName eq "Ann"'
    expected = okta_ids(directory, lambda u: u.status in ("ACTIVE", "SUSPENDED") and u.given_name == "Ann")
    assert ids_of(client, query) == expected and expected


@pytest.mark.parametrize("prop", ["login", "email", "firstName", "lastName"])
def test_filter_profile_eq(client, directory, prop):
    user = directory.user_by_name("user07@example.com")
    value = {"login": user.user_name, "email": user.email, "firstName": "Bob", "lastName": "Family07"}[prop]
    attr = {"login": "user_name", "email": "email", "firstName": "given_name", "lastName": "family_name"}[
        prop
    ]
    expected = okta_ids(directory, lambda u: getattr(u, attr) == value)
    assert ids_of(client, f'filter=profile.{prop} eq "{value}"') == expected


def test_filter_by_id(client, directory):
    user = directory.user_by_name("user05@example.com")
    assert ids_of(client, f'filter=id eq "{user.okta_id}"') == {user.okta_id}


@pytest.mark.parametrize(
    "expression",
    [
        'status eq "ACTIVE" and',
        'status sw "ACT"',
        'profile.department eq "Sales"',
        'Status eq "ACTIVE"',
        "status eq ACTIVE",
        'lastUpdated gt "yesterday"',
        '(status eq "ACTIVE"',
        'not status eq "ACTIVE"',
    ],
)
def test_bad_filter_is_e0000001(client, expression):
    response = client.get("/api/v1/users", query_string={"filter": expression})
    assert response.status_code == 400
    body = response.json
    assert body["errorCode"] == "E0000001"
    assert body["errorSummary"].startswith("Api validation failed: filter")
    assert set(body) == {"errorCode", "errorSummary", "errorLink", "errorId", "errorCauses"}


def test_filter_and_search_together_is_refused(client):
    response = client.get('/api/v1/users?filter=status eq "ACTIVE"&search=status eq "ACTIVE"')
    assert response.status_code == 400


# ---------------------------------------------------------------------------- search


def test_search_is_case_insensitive_on_values_and_includes_deprovisioned(client, directory):
    got = ids_of(client, 'search=profile.department eq "engineering"')
    assert got == okta_ids(directory, lambda u: u.department == "Engineering")
    assert any(directory.user_by_okta_id(i).status == "DEPROVISIONED" for i in got)


def test_search_sw_and_co(client, directory):
    assert ids_of(client, 'search=profile.lastName sw "family1"') == okta_ids(
        directory, lambda u: u.family_name.startswith("Family1")
    )
    assert ids_of(client, 'search=profile.email co "er2"') == okta_ids(directory, lambda u: "er2" in u.email)


def test_search_dates_and_parentheses(client, directory):
    query = (
        'search=profile.department eq "Engineering" '
        'and (created lt "2027-01-01T00:00:00.000Z" or status eq "X")'
    )
    assert ids_of(client, query) == okta_ids(directory, lambda u: u.department == "Engineering")


def test_search_lt_or_gt_replaces_ne(client, directory):
    got = ids_of(client, 'search=(status lt "STAGED" or status gt "STAGED")')
    assert got == okta_ids(directory, lambda u: u.status != "STAGED")


def test_search_custom_profile_attribute_matches_nothing(client):
    assert ids_of(client, 'search=profile.costCenter eq "10"') == set()


def test_search_co_is_refused_on_other_attributes(client):
    response = client.get('/api/v1/users?search=profile.department co "ng"')
    assert response.status_code == 400
    assert "co" in response.json["errorCauses"][0]["errorSummary"]


# ---------------------------------------------------------------------------- q


def test_q_is_a_prefix_on_names_and_email_without_paging(client, directory):
    response = client.get("/api/v1/users?q=ann&limit=200")
    expected = okta_ids(directory, lambda u: u.given_name == "Ann" and u.status != "DEPROVISIONED")
    assert {u["id"] for u in response.json} == expected
    assert [rel for _, rel in links(response)] == ["self"]


def test_q_defaults_to_ten_results(client):
    response = client.get("/api/v1/users?q=user")
    assert len(response.json) == 10
    assert [rel for _, rel in links(response)] == ["self"]


# ---------------------------------------------------------------------------- single user


def test_get_user_by_id_login_and_short_name(client, directory):
    user = directory.user_by_name("user03@example.com")
    for key in (user.okta_id, "user03@example.com", "user03"):
        response = client.get(f"/api/v1/users/{key}")
        assert response.status_code == 200, key
        assert response.json["id"] == user.okta_id


def test_single_get_has_lifecycle_links(client, directory):
    active = next(u for u in directory.users.values() if u.status == "ACTIVE")
    suspended = next(u for u in directory.users.values() if u.status == "SUSPENDED")
    links_active = client.get(f"/api/v1/users/{active.okta_id}").json["_links"]
    assert {"self", "suspend", "deactivate", "resetPassword", "schema", "type"} <= set(links_active)
    assert links_active["suspend"] == {
        "href": f"http://localhost/api/v1/users/{active.okta_id}/lifecycle/suspend",
        "method": "POST",
    }
    links_suspended = client.get(f"/api/v1/users/{suspended.okta_id}").json["_links"]
    assert "unsuspend" in links_suspended and "suspend" not in links_suspended


def test_unknown_user_is_e0000007(client):
    response = client.get("/api/v1/users/00unknown")
    assert response.status_code == 404
    assert response.json["errorCode"] == "E0000007"
    assert response.json["errorSummary"] == "Not found: Resource not found: 00unknown (User)"
    assert response.json["errorLink"] == "E0000007"
    assert response.json["errorCauses"] == []


def test_listing_reflects_updates_after_caching(client, directory):
    before = ids_of(client, 'filter=status eq "ACTIVE"')
    user = directory.user_by_name("user01@example.com")
    directory.set_status(user.object_id, "ACTIVE")
    after = ids_of(client, 'filter=status eq "ACTIVE"')
    assert after == before | {user.okta_id}
    stamp = (T0 - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert len(ids_of(client, f'filter=lastUpdated gt "{stamp}"')) == 23


@pytest.mark.parametrize("after", ["garbage", "00u" + "x" * 30, "", "00u!!!!!!!!!!!!!!!!!"])
def test_a_cursor_this_list_never_gave_is_a_validation_error(client, after):
    """Answered 400 E0000001, never 200 [] (which would read as the end of the directory)."""
    response = client.get("/api/v1/users", query_string={"after": after, "limit": "5"})
    assert response.status_code == 400
    assert response.get_json()["errorCode"] == "E0000001"
    assert response.get_json()["errorSummary"] == "Api validation failed: after"
