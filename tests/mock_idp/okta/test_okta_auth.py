"""Okta dialect: every credential failure, scopes, and the headers on every answer (429 too)."""

from __future__ import annotations

import json
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from email.utils import parsedate_to_datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mock_idp.app import create_app
from mock_idp.okta import views as okta
from mock_idp.state.directory import ApiToken
from mock_idp.state.directory import Directory

T0 = datetime(2026, 1, 5, 9, 0, 0, tzinfo=timezone.utc)
SSWS = "00okta-ssws-token"
ERROR_KEYS = {"errorCode", "errorSummary", "errorLink", "errorId", "errorCauses"}


@pytest.fixture
def directory(clock) -> Directory:  # type: ignore[no-untyped-def]
    d = Directory(seed=2, clock=clock)
    user = d.add_user("ann@example.com", email="ann@example.com")
    group = d.add_group("Staff")
    d.add_member(group.object_id, user.object_id)
    d.add_api_token(ApiToken(SSWS, "okta", name="ssws"))
    d.add_api_token(ApiToken("scim-static", "scim", name="scim"))
    return d


@pytest.fixture
def client(real_app: Flask) -> FlaskClient:
    return real_app.test_client()


def get(client: FlaskClient, path: str, authorization: str | None):
    headers = {"Authorization": authorization} if authorization is not None else {}
    return client.get(path, headers=headers)


def assert_invalid_token(response) -> None:
    assert response.status_code == 401
    assert response.json["errorCode"] == "E0000011"
    assert response.json["errorSummary"] == "Invalid token provided"
    assert set(response.json) == ERROR_KEYS


@pytest.mark.parametrize("header", [f"SSWS {SSWS}", f"SSWS{SSWS}", f"ssws {SSWS}"])
def test_ssws_with_and_without_the_space(client, header):
    assert get(client, "/api/v1/users", header).status_code == 200
    assert get(client, "/api/v1/groups", header).status_code == 200


@pytest.mark.parametrize(
    "header",
    [None, "", "SSWS", "SSWS wrong-token", "SSWS scim-static", f"Basic {SSWS}", f"SSWS {SSWS} extra"],
)
def test_missing_or_invalid_ssws_is_e0000011(client, header):
    response = get(client, "/api/v1/users", header)
    assert_invalid_token(response)
    assert "WWW-Authenticate" not in response.headers


def test_bearer_access_token_with_the_right_scope(client, directory):
    token = directory.issue_token("0oa-service", "okta", ["okta.users.read", "okta.groups.read"]).token
    assert get(client, "/api/v1/users", f"Bearer {token}").status_code == 200
    assert get(client, "/api/v1/groups", f"Bearer{token}").status_code == 200


@pytest.mark.parametrize("case", ["unknown", "expired", "graph-token"])
def test_bad_bearer_is_e0000011_with_a_challenge(client, directory, clock, case):
    token = directory.issue_token("0oa-service", "okta", ["okta.users.read"], lifetime=60).token
    if case == "unknown":
        token = "not-a-token"
    elif case == "expired":
        clock.now = T0 + timedelta(seconds=61)
    else:
        token = directory.issue_token("graph-app", "graph", ["User.Read.All"]).token
    response = get(client, "/api/v1/users", f"Bearer {token}")
    assert_invalid_token(response)
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'error="invalid_token"' in challenge
    assert 'resource="/api/v1/users"' in challenge


def test_token_is_good_until_it_expires(client, directory, clock):
    token = directory.issue_token("0oa-service", "okta", ["okta.users.read"], lifetime=60).token
    clock.now = T0 + timedelta(seconds=59)
    assert get(client, "/api/v1/users", f"Bearer {token}").status_code == 200


@pytest.mark.parametrize(
    ("scopes", "path"),
    [
        (["okta.users.read"], "/api/v1/groups"),
        (["okta.users.read"], "/api/v1/groups/00gxyz/users"),
        (["okta.groups.read"], "/api/v1/users"),
        (["okta.groups.read"], "/api/v1/users/ann@example.com"),
        (["okta.apps.read"], "/api/v1/users"),
    ],
)
def test_missing_scope_is_e0000006_with_insufficient_scope(client, directory, scopes, path):
    token = directory.issue_token("0oa-service", "okta", scopes).token
    response = get(client, path, f"Bearer {token}")
    assert response.status_code == 403
    assert response.json["errorCode"] == "E0000006"
    assert response.json["errorSummary"] == "You do not have permission to perform the requested action"
    challenge = response.headers["WWW-Authenticate"]
    assert 'error="insufficient_scope"' in challenge
    assert "okta." in challenge and ".read" in challenge


def test_every_answer_carries_rate_limit_headers_and_a_request_id(client):
    for response in (
        get(client, "/api/v1/users", f"SSWS {SSWS}"),
        get(client, "/api/v1/users/00unknown", f"SSWS {SSWS}"),
        get(client, "/api/v1/users", None),
    ):
        for name in (
            "X-Rate-Limit-Limit",
            "X-Rate-Limit-Remaining",
            "X-Rate-Limit-Reset",
            "X-Okta-Request-Id",
        ):
            assert response.headers.get(name), (response.status_code, name)
        assert int(response.headers["X-Rate-Limit-Remaining"]) < int(response.headers["X-Rate-Limit-Limit"])


def test_rate_limit_through_the_app_gives_okta_429s(directory):
    client = create_app(directory, config={"RATE_LIMITS": {"okta": 2}}).test_client()
    answers = [get(client, "/api/v1/users", f"SSWS {SSWS}") for _ in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 429]
    assert [r.headers["X-Rate-Limit-Remaining"] for r in answers] == ["1", "0", "0"]
    limited = answers[2]
    assert limited.json["errorCode"] == "E0000047"
    assert set(limited.json) == ERROR_KEYS
    assert (
        int(limited.headers["X-Rate-Limit-Reset"])
        >= parsedate_to_datetime(limited.headers["Date"]).timestamp()
    )


def test_unknown_api_path_is_an_okta_404(client):
    response = get(client, "/api/v1/nothing-here", f"SSWS {SSWS}")
    assert response.status_code == 404
    assert response.json["errorCode"] == "E0000007"


def test_rate_limited_answer(real_app):
    with real_app.test_request_context("/api/v1/users"):
        response = okta.renderer.rate_limited(limit=600, reset_epoch=1767603660, retry_after=7)
    assert response.status_code == 429
    body = json.loads(response.get_data())
    assert body["errorCode"] == "E0000047"
    assert body["errorSummary"] == "API call exceeded rate limit due to too many requests."
    assert body["errorLink"] == "E0000047"
    assert body["errorId"].startswith("oae")
    assert response.headers["X-Rate-Limit-Limit"] == "600"
    assert response.headers["X-Rate-Limit-Remaining"] == "0"
    assert response.headers["X-Rate-Limit-Reset"] == "1767603660"
    assert response.headers["X-Okta-Request-Id"]
    assert parsedate_to_datetime(response.headers["Date"]).tzinfo is not None
    assert response.headers["Date"].endswith(" GMT")


def test_decorate_overrides_the_limits_but_keeps_the_request_id(real_app):
    with real_app.test_request_context("/api/v1/users"):
        response = okta.renderer.error(500, "Injected fault: HTTP 500")
        okta.renderer.decorate(response, limit=100, remaining=42, reset_epoch=99)
        request_id = response.headers["X-Okta-Request-Id"]
        okta.renderer.decorate(response, limit=100, remaining=41, reset_epoch=99)
    assert response.headers["X-Rate-Limit-Remaining"] == "41"
    assert response.headers["X-Okta-Request-Id"] == request_id
    body = json.loads(response.get_data())
    assert body["errorCode"] == "E0000009"
    assert body["errorSummary"] == "Injected fault: HTTP 500"


@pytest.mark.parametrize(
    ("status", "code"),
    [(400, "E0000001"), (401, "E0000011"), (403, "E0000006"), (404, "E0000007"), (429, "E0000047")],
)
def test_default_error_codes(real_app, status, code):
    with real_app.test_request_context("/api/v1/users"):
        response = okta.renderer.error(status, "x")
    assert response.status_code == status
    assert json.loads(response.get_data())["errorCode"] == code
