"""Fault rules and rate limits: the engine alone, then through the app's hooks."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from mock_idp.app import DroppedConnection
from mock_idp.faults import DEFAULT_LIMIT
from mock_idp.faults import FaultEngine
from mock_idp.faults import FaultError
from mock_idp.faults import FaultRule
from mock_idp.faults import RateLimiter
from mock_idp.faults import bucket_for
from mock_idp.faults import parse_rate_limit
from mock_idp.server import MockIdpServer


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# ------------------------------------------------------------------ rules


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "explode"}, "kind: unknown fault kind 'explode'"),
        ({}, "kind: required"),
        ({"kind": "status", "dialect": "ldap"}, "dialect: unknown dialect 'ldap'"),
        ({"kind": "status", "path": "("}, "path: not a regular expression"),
        ({"kind": "status", "probability": 1.5}, "probability: must be between 0 and 1"),
        ({"kind": "status", "status": 42}, "status: must be an HTTP status"),
        ({"kind": "status", "count": -1}, "count: must be 0 or more"),
        ({"kind": "status", "count": "2"}, "count: wrong type str"),
        ({"kind": "status", "count": True}, "count: wrong type bool"),
        ({"kind": "status", "colour": "red"}, "unknown fault rule keys: colour"),
        ([], "a fault rule must be a JSON object"),
    ],
)
def test_bad_rules_are_refused_with_the_field_named(data: Any, message: str) -> None:
    with pytest.raises(FaultError) as info:
        FaultRule.from_dict(data)
    assert str(info.value).startswith(message)


def test_rules_match_dialect_method_and_path() -> None:
    rule = FaultRule.from_dict(
        {"kind": "status", "dialect": "okta", "method": "get", "path": r"^/api/v1/users$"}
    )
    assert rule.matches("okta", "GET", "/api/v1/users")
    assert not rule.matches("graph", "GET", "/api/v1/users")
    assert not rule.matches("okta", "POST", "/api/v1/users")
    assert not rule.matches("okta", "GET", "/api/v1/users/00u1")


def test_count_runs_out() -> None:
    engine = FaultEngine([FaultRule("status", count=2)])
    fired = [bool(engine.select("okta", "GET", "/x")) for _ in range(4)]
    assert fired == [True, True, False, False]
    assert engine.rules[0].count == 0 and engine.rules[0].fired == 2


def test_first_terminal_rule_wins_and_non_terminal_rules_stack() -> None:
    engine = FaultEngine(
        [
            FaultRule("latency", latency_ms=5),
            FaultRule("truncate"),
            FaultRule("status", status=500, count=1),
            FaultRule("drop"),
        ]
    )
    assert [r.kind for r in engine.select(None, "GET", "/")] == ["latency", "truncate", "status"]
    assert [r.kind for r in engine.select(None, "GET", "/")] == ["latency", "truncate", "drop"]


def test_probability_is_seeded_and_deterministic() -> None:
    def pattern(seed: int) -> list[bool]:
        engine = FaultEngine([FaultRule("status", probability=0.5, seed=seed)])
        return [bool(engine.select(None, "GET", "/")) for _ in range(200)]

    assert pattern(1) == pattern(1)
    assert pattern(1) != pattern(2)
    assert 60 <= sum(pattern(1)) <= 140


def test_zero_probability_never_fires() -> None:
    engine = FaultEngine([FaultRule("status", probability=0.0, count=1)])
    assert not any(engine.select(None, "GET", "/") for _ in range(50))
    assert engine.rules[0].count == 1


def test_clear_removes_every_rule() -> None:
    engine = FaultEngine([FaultRule("drop")])
    engine.clear()
    assert engine.rules == [] and engine.select(None, "GET", "/") == []


# ------------------------------------------------------------------ rate limiter


def test_fixed_window_resets_at_the_minute_boundary() -> None:
    clock = Clock(1_000_000_010.5)  # 10.5 s into a minute
    limiter = RateLimiter({"graph": 3}, clock=clock)
    decisions = [limiter.hit("graph", "/v1.0/users") for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0]
    assert {d.reset_epoch for d in decisions} == {1_000_000_020}  # next multiple of 60
    assert decisions[-1].retry_after(clock.now) == 10
    clock.now = 1_000_000_020.0
    fresh = limiter.hit("graph", "/v1.0/users")
    assert fresh.allowed and fresh.remaining == 2 and fresh.reset_epoch == 1_000_000_080


def test_okta_buckets_are_separate_and_configurable() -> None:
    limiter = RateLimiter({"okta": 5, "okta:users": 1}, clock=Clock(600.0))
    assert limiter.hit("okta", "/api/v1/users").allowed
    assert not limiter.hit("okta", "/api/v1/users").allowed
    members = limiter.hit("okta", "/api/v1/groups/00g1/users")
    assert members.allowed and members.limit == 5 and members.bucket == "api"
    assert limiter.hit("scim", "/scim/v2/Users").limit == DEFAULT_LIMIT


@pytest.mark.parametrize(
    ("dialect", "path", "bucket"),
    [
        ("okta", "/api/v1/users", "users"),
        ("okta", "/api/v1/users/00uabc", "user"),
        ("okta", "/api/v1/groups", "groups"),
        ("okta", "/api/v1/groups/00gabc", "group"),
        ("okta", "/api/v1/groups/00gabc/users", "api"),
        ("okta", "/oauth2/v1/token", "oauth2"),
        ("graph", "/v1.0/users/delta()", "api"),
        ("graph", "/contoso/oauth2/v2.0/token", "token"),
        ("scim", "/scim/oauth2/token", "token"),
    ],
)
def test_buckets(dialect: str, path: str, bucket: str) -> None:
    assert bucket_for(dialect, path) == bucket


def test_limits_are_checked() -> None:
    with pytest.raises(FaultError, match="unknown dialect 'ldap'"):
        RateLimiter({"ldap": 5})
    with pytest.raises(FaultError, match="at least 1"):
        RateLimiter({"okta": 0})
    assert parse_rate_limit("okta:users=100") == ("okta:users", 100)
    with pytest.raises(FaultError, match="expected DIALECT=PER_MINUTE"):
        parse_rate_limit("okta=lots")


def test_update_drops_a_limit_with_none() -> None:
    limiter = RateLimiter({"okta": 5})
    limiter.update({"okta": None, "graph": 7})
    assert limiter.limits == {"graph": 7}


# ------------------------------------------------------------------ through the app


def add_fault(client: FlaskClient, headers: dict[str, str], **rule: Any) -> None:
    response = client.post("/_admin/faults", json=rule, headers=headers)
    assert response.status_code == 201, response.get_json()


def test_every_dialect_answer_is_decorated(client: FlaskClient, dialects: list[Any]) -> None:
    response = client.get("/api/v1/ping")
    assert response.status_code == 200
    assert response.headers["X-Test-Limit"] == str(DEFAULT_LIMIT)
    assert response.headers["X-Test-Remaining"] == str(DEFAULT_LIMIT - 1)
    assert int(response.headers["X-Test-Reset"]) % 60 == 0
    assert client.get("/api/v1/nothing-here").headers["X-Test-Remaining"] == str(DEFAULT_LIMIT - 2)
    assert "X-Test-Limit" not in client.get("/_admin/state").headers
    assert len(dialects[0].renderer.decorated) == 2 and not dialects[1].renderer.decorated


def test_status_fault_answers_in_the_dialect_shape(
    client: FlaskClient, admin_headers: dict[str, str]
) -> None:
    add_fault(client, admin_headers, kind="status", dialect="graph", status=503, count=1)
    first = client.get("/v1.0/ping")
    assert first.status_code == 503 and first.get_json()["dialect"] == "graph"
    assert client.get("/v1.0/ping").status_code == 200
    assert client.get("/api/v1/ping").status_code == 200


def test_rate_limit_fault(client: FlaskClient, admin_headers: dict[str, str]) -> None:
    add_fault(client, admin_headers, kind="rate_limit", path="^/scim/", retry_after=7, count=1)
    response = client.get("/scim/v2/ping")
    assert response.status_code == 429 and response.headers["Retry-After"] == "7"
    assert response.headers["X-Test-Remaining"] == "0"


def test_latency_fault_sleeps_then_answers(
    client: FlaskClient, admin_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []
    monkeypatch.setattr("mock_idp.app.time.sleep", slept.append)
    add_fault(client, admin_headers, kind="latency", latency_ms=250, method="GET")
    assert client.get("/api/v1/ping").status_code == 200
    assert slept == [0.25]


def test_truncate_fault_ends_the_page_sequence(client: FlaskClient, admin_headers: dict[str, str]) -> None:
    assert client.get("/v1.0/users").get_json()["next"] is not None
    add_fault(client, admin_headers, kind="truncate", path="/users$", count=1)
    assert client.get("/v1.0/users").get_json()["next"] is None
    assert client.get("/v1.0/users").get_json()["next"] is not None


def test_drop_without_a_socket_raises(client: FlaskClient, admin_headers: dict[str, str]) -> None:
    add_fault(client, admin_headers, kind="drop", count=1)
    with pytest.raises(DroppedConnection):
        client.get("/api/v1/ping")


def test_drop_really_closes_the_connection(live_server: MockIdpServer, admin_headers: dict[str, str]) -> None:
    url = live_server.url
    rule = {"kind": "drop", "path": "ping", "count": 1}
    assert (
        requests.post(f"{url}/_admin/faults", json=rule, headers=admin_headers, timeout=5).status_code == 201
    )
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/api/v1/ping", timeout=5)
    assert requests.get(f"{url}/api/v1/ping", timeout=5).status_code == 200


def test_configured_rate_limit_gives_429_then_resets(app: Flask, client: FlaskClient) -> None:
    clock = Clock(1_800_000_030.0)
    app.extensions["mock_idp"].faults.limiter = RateLimiter({"graph": 2}, clock=clock)
    statuses = [client.get("/v1.0/ping").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    spent = client.get("/v1.0/ping")
    assert spent.headers["Retry-After"] == "30" and spent.headers["X-Test-Reset"] == "1800000060"
    assert client.get("/api/v1/ping").status_code == 200  # other dialects keep their budget
    clock.now = 1_800_000_060.0
    assert client.get("/v1.0/ping").status_code == 200


def test_faults_and_limits_from_config(directory: Any, app_config: dict[str, Any]) -> None:
    from mock_idp.app import create_app

    config = {
        **app_config,
        "FAULTS": [{"kind": "status", "status": 500, "count": 1}],
        "RATE_LIMITS": {"okta": 9},
    }
    client = create_app(directory, config=config).test_client()
    first = client.get("/api/v1/ping")
    assert first.status_code == 500 and first.headers["X-Test-Limit"] == "9"
    with pytest.raises(FaultError):
        create_app(directory, config={**app_config, "FAULTS": [{"kind": "nope"}]})


def test_double_slashes_are_collapsed(client: FlaskClient) -> None:
    assert client.get("/v1.0//ping").get_json() == {"dialect": "graph"}
    assert client.get("/v1.0/ping/").status_code == 200  # no strict slashes


def test_drop_over_tls(app: Flask, admin_headers: dict[str, str]) -> None:
    with MockIdpServer(app, tls=True) as server:
        verify = str(server.ca_file)
        rule = {"kind": "drop", "dialect": "scim", "count": 1}
        requests.post(
            f"{server.url}/_admin/faults", json=rule, headers=admin_headers, verify=verify, timeout=5
        )
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{server.url}/scim/v2/ping", verify=verify, timeout=5)
        assert requests.get(f"{server.url}/scim/v2/ping", verify=verify, timeout=5).status_code == 200


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
def test_drop_on_a_kept_alive_connection(app: Flask, admin_headers: dict[str, str], tls: bool) -> None:
    with MockIdpServer(app, tls=tls) as server, requests.Session() as session:
        verify = str(server.ca_file) if tls else True
        rule = {"kind": "drop", "path": "ping", "count": 1}
        added = session.post(
            f"{server.url}/_admin/faults", json=rule, headers=admin_headers, verify=verify, timeout=5
        )
        assert added.status_code == 201 and "close" not in added.headers.get("Connection", "")
        with pytest.raises(requests.ConnectionError):
            session.get(f"{server.url}/api/v1/ping", verify=verify, timeout=5)  # on the connection kept open
        assert session.get(f"{server.url}/api/v1/ping", verify=verify, timeout=5).status_code == 200
