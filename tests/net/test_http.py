"""The HTTP client: retries, 429 waits, pacing, translation, counting."""

from __future__ import annotations

import dataclasses
import email.utils

import pytest
import requests
import responses
from responses.registries import OrderedRegistry

from connector.errors import AuthError
from connector.errors import IncompleteReadError
from connector.errors import NotFoundError
from connector.errors import RateLimitedError
from connector.errors import RetryableError
from connector.errors import TerminalError
from connector.errors import UnreachableError
from connector.net.auth import Authenticator
from connector.net.http import HttpClient
from connector.net.rate_buckets import rate_bucket
from connector.net.settings import HttpSettings
from connector.net.settings import Secret
from connector.providers.okta import read_okta_error

URL = "https://idp.test/api/v1/users"
DATE = "Sat, 28 Nov 2026 12:00:00 GMT"
DATE_EPOCH = 1795867200


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def settings() -> HttpSettings:
    return HttpSettings(max_retries=3, backoff_base=1.0, backoff_max=8.0, max_total_wait=60.0)


@pytest.fixture
def client(settings, sleeps) -> HttpClient:
    auth = Authenticator(requests.Session(), (Secret("the-secret-token"),))
    return HttpClient(
        auth, settings, read_error=read_okta_error, sleep=sleeps.append, monotonic=lambda: 100.0
    )


@pytest.fixture
def rsps():
    with responses.RequestsMock(registry=OrderedRegistry) as mock:
        yield mock


def _error(code: str, summary: str) -> dict:
    return {"errorCode": code, "errorSummary": summary}


def test_429_429_200_waits_what_retry_after_asks(client, rsps, sleeps):
    rsps.get(URL, status=429, headers={"Retry-After": "1"}, json=_error("E0000047", "rate"))
    rsps.get(URL, status=429, headers={"Retry-After": "2"}, json=_error("E0000047", "rate"))
    rsps.get(URL, json=[{"id": "a"}])
    data, _ = client.get_json(URL)
    assert data == [{"id": "a"}]
    assert sleeps == [1.0, 2.0]
    assert client.request_count == 3


def test_retry_after_as_an_http_date_counts_from_the_answers_date(client, rsps, sleeps):
    later = email.utils.formatdate(DATE_EPOCH + 5, usegmt=True)
    rsps.get(URL, status=429, headers={"Retry-After": later, "Date": DATE})
    rsps.get(URL, json=[])
    client.get_json(URL)
    assert sleeps == [5.0]


def test_okta_rate_limit_reset_is_honoured_without_retry_after(client, rsps, sleeps):
    headers = {"X-Rate-Limit-Reset": str(DATE_EPOCH + 3), "Date": DATE}
    rsps.get(URL, status=429, headers=headers, json=_error("E0000047", "rate"))
    rsps.get(URL, json=[])
    client.get_json(URL)
    assert sleeps[0] == 4.0  # reset - Date + 1, as Okta's SDK does


def test_pacing_stops_at_our_share_of_the_budget(client, rsps, sleeps):
    limit = {"X-Rate-Limit-Limit": "10", "X-Rate-Limit-Reset": str(DATE_EPOCH + 20), "Date": DATE}
    rsps.get(URL, json=[], headers={**limit, "X-Rate-Limit-Remaining": "6"})
    rsps.get(URL, json=[], headers={**limit, "X-Rate-Limit-Remaining": "5"})
    rsps.get(URL, json=[], headers={**limit, "X-Rate-Limit-Remaining": "4"})
    client.get_json(URL)
    client.get_json(URL)
    assert sleeps == []  # 6 left of 10: still inside our 50%
    client.get_json(URL)
    assert sleeps == [21.0]  # 5 left: the rest belongs to others, so wait for the reset


def test_5xx_is_retried_with_growing_jittered_backoff(client, rsps, sleeps):
    for _ in range(3):
        rsps.get(URL, status=502, json=_error("E0000009", "internal"))
    rsps.get(URL, json=[])
    client.get_json(URL)
    assert len(sleeps) == 3
    for attempt, wait in enumerate(sleeps, start=1):
        cap = min(8.0, 2 ** (attempt - 1))
        assert cap / 2 <= wait <= cap


def test_each_wait_is_logged_with_its_reason(client, rsps, caplog):
    rsps.get(URL, status=429, headers={"Retry-After": "30"}, json=_error("E0000047", "rate"))
    rsps.get(URL, status=503, json=_error("E0000010", "unavailable"))
    rsps.get(URL, body=requests.ConnectionError("refused"))
    rsps.get(URL, json=[])
    with caplog.at_level("INFO", logger="connector.net.http"):
        client.get_json(URL)
    lines = [r.getMessage() for r in caplog.records if r.name == "connector.net.http"]
    assert lines[0] == "/api/v1/users: rate limited (429); retrying in 30.0s"
    assert lines[1].startswith("/api/v1/users: answered 503; retrying in ")
    assert lines[2].startswith("/api/v1/users: cannot reach idp.test (ConnectionError); retrying in ")


def test_a_connection_that_stays_refused_names_the_host(client, rsps, settings):
    for _ in range(settings.max_retries + 1):
        rsps.get(URL, body=requests.ConnectionError("refused"))
    with pytest.raises(RetryableError, match=r"cannot reach idp.test \(ConnectionError\) \(gave up after 4"):
        client.get_json(URL)


def test_5xx_that_persists_gives_up_with_a_retryable_error(client, rsps, settings):
    for _ in range(settings.max_retries + 1):
        rsps.get(URL, status=500, json=_error("E0000009", "Internal Server Error"))
    with pytest.raises(RetryableError, match="gave up after 4 attempts") as info:
        client.get_json(URL)
    assert info.value.status == 500 and info.value.code == "E0000009"
    assert client.request_count == 4


def test_a_dropped_connection_and_a_cut_off_body_are_retried(client, rsps, sleeps):
    rsps.get(URL, body=requests.ConnectionError("reset by peer"))
    rsps.get(URL, body=requests.exceptions.ChunkedEncodingError("IncompleteRead(100 bytes read)"))
    rsps.get(URL, body='[{"id": "a"}, {"id":')
    rsps.get(URL, json=[{"id": "a"}])
    data, _ = client.get_json(URL)
    assert data == [{"id": "a"}] and len(sleeps) == 3


def test_a_body_that_stays_malformed_is_an_incomplete_read(client, rsps, settings):
    for _ in range(settings.max_retries + 1):
        rsps.get(URL, body='[{"id": "a"}, {"id":')
    with pytest.raises(IncompleteReadError, match="malformed JSON"):
        client.get_json(URL)


def test_a_429_storm_ends_within_the_wait_budget(client, rsps, sleeps, settings):
    for _ in range(3):
        rsps.get(URL, status=429, headers={"Retry-After": "25"}, json=_error("E0000047", "rate"))
    with pytest.raises(RateLimitedError, match="gave up on /api/v1/users after 3 rate-limited answers"):
        client.get_json(URL)
    assert sum(sleeps) <= settings.max_total_wait


def test_the_wait_budget_is_the_runs_not_each_requests(client, rsps, sleeps, settings):
    """max_total_wait (60 s here) counts every request's waits: 3 requests that each wait 25 s pass it."""
    for _ in range(2):
        rsps.get(URL, status=429, headers={"Retry-After": "25"}, json=_error("E0000047", "rate"))
        rsps.get(URL, json=[{"id": "a"}])
    rsps.get(URL, status=429, headers={"Retry-After": "25"}, json=_error("E0000047", "rate"))
    client.get_json(URL)
    client.get_json(URL)
    with pytest.raises(RateLimitedError, match="50.0s of waiting in this run"):
        client.get_json(URL)
    assert sum(sleeps) <= settings.max_total_wait


def test_429s_do_not_use_up_the_5xx_retries(client, rsps, sleeps, settings):
    for _ in range(settings.max_retries + 3):
        rsps.get(URL, status=429, headers={"Retry-After": "0"})
    rsps.get(URL, json=[])
    client.get_json(URL)
    assert sleeps == [0.0] * (settings.max_retries + 3)


@pytest.mark.parametrize(
    ("status", "kind"), [(401, AuthError), (403, AuthError), (404, NotFoundError), (400, TerminalError)]
)
def test_4xx_is_translated_once_and_not_retried(client, rsps, status, kind):
    rsps.get(URL, status=status, json=_error("E0000007", "Not found: thing"))
    with pytest.raises(kind) as info:
        client.get_json(URL)
    assert info.value.code == "E0000007" and info.value.status == status
    assert not info.value.retryable
    assert str(info.value) == f"GET /api/v1/users answered {status} E0000007: Not found: thing"
    assert client.request_count == 1


def test_an_idp_that_echoes_the_token_does_not_leak_it(client, rsps):
    rsps.get(URL, status=401, json=_error("E0000011", "Invalid token provided: SSWS the-secret-token"))
    with pytest.raises(AuthError) as info:
        client.get_json(URL)
    assert "the-secret-token" not in str(info.value)
    assert "**********" in str(info.value)


def test_every_request_has_connect_and_read_timeouts(client, rsps):
    seen = {}

    def record(request):
        seen["timeout"] = request.req_kwargs["timeout"]
        return 200, {}, "[]"

    rsps.add_callback(responses.GET, URL, callback=record)
    client.get_json(URL)
    assert seen["timeout"] == (10.0, 60.0)


def test_tls_settings_reach_the_session(sleeps):
    off = HttpClient(Authenticator(requests.Session(), ()), HttpSettings(verify_tls=False))
    bundle = HttpClient(Authenticator(requests.Session(), ()), HttpSettings(ca_bundle="/etc/ca.pem"))
    default = HttpClient(Authenticator(requests.Session(), ()), HttpSettings())
    assert off.session.verify is False
    assert bundle.session.verify == "/etc/ca.pem"
    assert default.session.verify is True


def test_the_environments_proxy_settings_are_read_once_per_host(client, rsps, monkeypatch):
    asked: list[str] = []
    real = requests.sessions.get_environ_proxies

    def counting(url: str, no_proxy: str | None = None) -> dict:
        asked.append(url)
        return real(url, no_proxy=no_proxy)

    monkeypatch.setattr(requests.sessions, "get_environ_proxies", counting)
    other = "https://login.idp.test/token"
    rsps.get(URL, json=[])
    rsps.get(URL + "?after=2", json=[])
    rsps.get(other, json={})
    client.get_json(URL)
    client.get_json(URL + "?after=2")
    assert asked == [URL]  # the second page of the same host asks the environment nothing
    client.get_json(other)
    assert asked == [URL, other]


@pytest.mark.parametrize(
    ("url", "bucket"),
    [
        ("https://acme.okta.test/api/v1/users?limit=200", "/api/v1/users"),
        ("https://acme.okta.test/api/v1/users/00u1", "/api/v1/users/*"),
        ("https://acme.okta.test/api/v1/groups/00g1/users", "/api/v1/groups/*/users"),
        ("https://acme.okta.test/api/v1/groups/00g2/users?after=x", "/api/v1/groups/*/users"),
        ("https://acme.okta.test/api/v1/logs", "/api/v1/logs"),
        ("https://graph.test/v1.0/groups/abc/members", "/v1.0/groups/*/members"),
        ("https://scim.test/scim/v2/Users/abc", "/scim/v2/Users/*"),
    ],
)
def test_rate_buckets_leave_object_ids_out(url, bucket):
    assert rate_bucket(url) == bucket


def test_a_bucket_that_runs_low_pauses_only_its_own_requests(client, rsps, sleeps):
    """Okta announces one budget per endpoint family: an exhausted users bucket must not stall groups."""
    low = {
        "X-Rate-Limit-Limit": "10",
        "X-Rate-Limit-Remaining": "0",
        "X-Rate-Limit-Reset": str(DATE_EPOCH + 60),
        "Date": DATE,
    }
    groups = URL.replace("/users", "/groups")
    rsps.get(URL, json=[], headers=low)
    rsps.get(groups, json=[])
    rsps.get(groups, json=[])
    rsps.get(URL, json=[])
    client.get_json(URL)
    client.get_json(groups)
    client.get_json(groups)
    assert sleeps == []
    client.get_json(URL)
    assert sleeps == [61.0]


def _closed_port_url() -> str:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/api/v1/users"


def test_a_real_refusal_is_named_and_retried_by_default(client, sleeps, settings):
    url = _closed_port_url()
    with pytest.raises(
        UnreachableError, match=r"\(connection refused\) \(gave up after 4 attempts\)"
    ) as info:
        client.get_json(url)
    assert info.value.refused and len(sleeps) == settings.max_retries


def test_without_retry_refused_a_refusal_fails_at_once(settings, sleeps):
    auth = Authenticator(requests.Session(), ())
    fail_fast = dataclasses.replace(settings, retry_refused=False)
    client = HttpClient(auth, fail_fast, read_error=read_okta_error, sleep=sleeps.append)
    with pytest.raises(UnreachableError, match=r"cannot reach 127\.0\.0\.1:\d+ \(connection refused\)$"):
        client.get_json(_closed_port_url())
    assert sleeps == []


def test_a_timeout_is_named_and_is_not_a_refusal(client, rsps):
    for _ in range(4):
        rsps.get(URL, body=requests.ReadTimeout("slow"))
    with pytest.raises(UnreachableError, match=r"cannot reach idp.test \(timed out\)") as info:
        client.get_json(URL)
    assert not info.value.refused
