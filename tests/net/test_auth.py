"""Auth: the client assertion's claims, token caching and renewal, static tokens, secrets kept out."""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from unittest import mock
from urllib.parse import parse_qs

import pytest
import requests
import responses
from joserfc.jwk import ECKey
from providers.harnesses import OktaHarness
from responses.registries import OrderedRegistry

from connector.errors import AuthError
from connector.errors import ConfigError
from connector.errors import RetryableError
from connector.errors import UnreachableError
from connector.net.oauth import load_private_key
from connector.net.settings import AuthSettings
from connector.net.settings import HttpSettings
from connector.net.settings import Secret
from connector.providers.azure_ad import AzureADProvider
from connector.providers.base import ProviderSettings
from connector.providers.okta import OktaProvider
from connector.providers.scim import ScimProvider
from connector.testing import running

GRAPH = "https://graph.test/v1.0"
TOKEN_URL = "https://login.test/tenant-1/oauth2/v2.0/token"
SECRET = "client-secret-value-42"


@pytest.fixture
def rsps():
    with responses.RequestsMock(registry=OrderedRegistry) as mock_:
        yield mock_


@pytest.fixture
def graph(fast_http) -> AzureADProvider:
    auth = AuthSettings("client_secret", client_id="app-1", client_secret=Secret(SECRET))
    options = {"tenant": "tenant-1", "authority": "https://login.test"}
    provider = AzureADProvider(ProviderSettings("d1", GRAPH, auth, http=fast_http, options=options))
    yield provider
    provider.close()


def _token(rsps, access_token: str, expires_in: int = 3600, status: int = 200) -> None:
    rsps.post(
        TOKEN_URL,
        status=status,
        json={"token_type": "Bearer", "expires_in": expires_in, "access_token": access_token},
    )


def _users(rsps, token: str, status: int = 200) -> None:
    rsps.get(
        f"{GRAPH}/users",
        status=status,
        json={"value": []}
        if status == 200
        else {"error": {"code": "InvalidAuthenticationToken", "message": "expired"}},
        match=[responses.matchers.header_matcher({"Authorization": f"Bearer {token}"})],
    )


def test_private_key_jwt_assertion_has_the_claims_okta_requires(rsa_key, fast_http):
    harness = OktaHarness(jwt_key=rsa_key)
    with running(harness, http=fast_http) as run:
        list(run.provider.iter_users())
        list(run.provider.iter_groups())
    assert len(harness.assertions) == 1  # one token, cached for both reads
    seen = harness.assertions[0]
    claims, header, form = seen["claims"], seen["header"], seen["form"]
    assert header == {"alg": "RS256", "typ": "JWT", "kid": "kid-1"}
    assert claims["iss"] == claims["sub"] == "0oa-client"
    assert claims["aud"] == "https://okta.test/oauth2/v1/token"
    assert len(claims["jti"]) >= 16
    assert 0 < claims["exp"] - time.time() <= 300
    assert form["grant_type"] == "client_credentials"
    assert form["scope"] == "okta.users.read okta.groups.read okta.logs.read"
    assert form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def test_every_assertion_has_a_fresh_jti(rsa_key, fast_http):
    harness = OktaHarness(jwt_key=rsa_key)
    with running(harness, http=fast_http) as run:
        list(run.provider.iter_groups())
        run.provider.http.auth.renew()
        list(run.provider.iter_groups())
    jtis = [a["claims"]["jti"] for a in harness.assertions]
    assert len(jtis) == 2 and jtis[0] != jtis[1]


def test_client_secret_goes_in_the_form_with_the_graph_scope(graph, rsps):
    _token(rsps, "t1")
    _users(rsps, "t1")
    list(graph.iter_users())
    form = {k: v[0] for k, v in parse_qs(rsps.calls[0].request.body).items()}
    assert form == {
        "grant_type": "client_credentials",
        "scope": "https://graph.microsoft.com/.default",
        "client_id": "app-1",
        "client_secret": SECRET,
    }


def test_token_is_renewed_before_it_expires(graph, rsps):
    _token(rsps, "t1", expires_in=3600)
    _users(rsps, "t1")
    _token(rsps, "t2", expires_in=3600)
    _users(rsps, "t2")
    list(graph.iter_users())
    with mock.patch("time.time", return_value=time.time() + 3600 - 30):  # inside the 60 s leeway
        list(graph.iter_users())
    assert graph.request_count == 4
    assert graph.http.auth.token_calls == 2


def test_a_refused_token_is_renewed_once(graph, rsps):
    _token(rsps, "t1")
    _users(rsps, "t1", status=401)
    _token(rsps, "t2")
    _users(rsps, "t2")
    assert list(graph.iter_users()) == []
    assert graph.request_count == 4


def test_a_token_refused_twice_is_an_auth_error(graph, rsps):
    _token(rsps, "t1")
    _users(rsps, "t1", status=401)
    _token(rsps, "t2")
    _users(rsps, "t2", status=401)
    with pytest.raises(AuthError, match="InvalidAuthenticationToken"):
        list(graph.iter_users())


def test_token_endpoint_refusal_names_the_oauth_error_not_the_secret(graph, rsps):
    rsps.post(
        TOKEN_URL,
        status=401,
        json={
            "error": "invalid_client",
            "error_description": f"AADSTS7000215: Invalid client secret {SECRET}",
        },
    )
    with pytest.raises(AuthError) as info:
        list(graph.iter_users())
    assert info.value.code == "invalid_client"
    assert SECRET not in str(info.value)


def test_token_endpoint_503_is_retried(graph, rsps):
    rsps.post(TOKEN_URL, status=503, json={"error": "temporarily_unavailable"})
    _token(rsps, "t1")
    _users(rsps, "t1")
    assert list(graph.iter_users()) == []
    assert graph.request_count == 3


def test_ssws_and_bearer_headers(rsps, fast_http):
    rsps.get(
        "https://okta.test/api/v1/groups",
        json=[],
        match=[responses.matchers.header_matcher({"Authorization": "SSWS abc123"})],
    )
    okta = OktaProvider(
        ProviderSettings(
            "o", "https://okta.test", AuthSettings("ssws", token=Secret("abc123")), http=fast_http
        )
    )
    assert list(okta.iter_groups()) == []
    rsps.get(
        "https://scim.test/v2/Groups",
        json={"totalResults": 0, "Resources": []},
        match=[responses.matchers.header_matcher({"Authorization": "Bearer xyz789"})],
    )
    scim = ScimProvider(
        ProviderSettings(
            "s", "https://scim.test/v2", AuthSettings("bearer", token=Secret("xyz789")), http=fast_http
        )
    )
    assert list(scim.iter_groups()) == []


def test_secrets_stay_out_of_reprs(graph):
    settings = AuthSettings("client_secret", client_id="app-1", client_secret=Secret(SECRET))
    for text in (repr(settings), str(settings), repr(graph), repr(graph.http.auth), repr(graph.settings)):
        assert SECRET not in text


def test_a_jwk_private_key_brings_its_own_kid():
    key = ECKey.generate_key("P-256", private=True)
    data = key.as_dict(private=True)
    data["kid"] = "ec-1"
    loaded, alg, kid = load_private_key(json.dumps(data))
    assert (alg, kid) == ("ES256", "ec-1") and loaded.is_private


def test_a_bad_private_key_is_a_config_error_without_the_key(rsa_key):
    garbage = "-----BEGIN PRIVATE KEY-----\nnot-really-a-key-material-here\n-----END PRIVATE KEY-----"
    with pytest.raises(ConfigError) as info:
        load_private_key(garbage)
    assert "not-really" not in str(info.value)
    public_pem = rsa_key.as_pem(private=False).decode()
    with pytest.raises(ConfigError, match="public key"):
        load_private_key(public_pem)


@pytest.mark.parametrize(
    ("provider", "auth", "message"),
    [
        (
            OktaProvider,
            AuthSettings("client_secret", client_id="x", client_secret=Secret("s")),
            "ssws, private_key_jwt",
        ),
        (OktaProvider, AuthSettings("ssws"), "auth.token is required"),
        (
            ScimProvider,
            AuthSettings("client_secret", client_id="x", client_secret=Secret("s")),
            "auth.token_url",
        ),
        (
            ScimProvider,
            AuthSettings("private_key_jwt", client_id="x", token_url="https://t"),
            "auth.private_key",
        ),
    ],
)
def test_bad_auth_settings_are_named(provider, auth, message):
    with pytest.raises(ConfigError, match=message):
        provider(ProviderSettings("d", "https://idp.test", auth, http=HttpSettings()))


def test_unreachable_token_endpoint_is_retryable(graph, rsps):
    rsps.post(TOKEN_URL, body=requests.ConnectionError("refused"))
    rsps.post(TOKEN_URL, body=requests.ConnectionError("refused"))
    rsps.post(TOKEN_URL, body=requests.ConnectionError("refused"))
    with pytest.raises(Exception) as info:
        list(graph.iter_users())
    assert info.value.retryable
    assert "token endpoint login.test unreachable: ConnectionError" in str(info.value)


def test_no_secret_reaches_the_logs(graph, rsps, caplog):
    caplog.set_level(logging.DEBUG)
    _token(rsps, "access-token-one")
    _users(rsps, "access-token-one", status=401)
    _token(rsps, "access-token-two")
    rsps.get(f"{GRAPH}/users", status=429, headers={"Retry-After": "0"})
    _users(rsps, "access-token-two")
    list(graph.iter_users())
    assert caplog.records, "nothing was logged; the test would prove nothing"
    for secret in (SECRET, "access-token-one", "access-token-two"):
        assert secret not in caplog.text


def _okta(rsa_key, fast_http, scopes: tuple[str, ...] = ()) -> OktaProvider:
    auth = AuthSettings(
        "private_key_jwt",
        client_id="0oa-client",
        private_key=Secret(rsa_key.as_pem(private=True).decode()),
        key_id="kid-1",
        scopes=scopes,
    )
    return OktaProvider(ProviderSettings("okta-1", "https://okta.test", auth, http=fast_http))


def _refusing_logs_scope(rsps, times: int) -> list[str]:
    """A token endpoint that has not granted okta.logs.read; the scopes asked for, in order."""
    asked: list[str] = []

    def answer(request):
        scope = parse_qs(request.body)["scope"][0]
        asked.append(scope)
        if "okta.logs.read" in scope.split():
            body = {"error": "invalid_scope", "error_description": "not granted: okta.logs.read"}
            return 400, {}, json.dumps(body)
        return 200, {}, json.dumps({"token_type": "Bearer", "expires_in": 3600, "access_token": "t1"})

    for _ in range(times):  # the registry answers each registration once, in order
        rsps.add_callback(responses.POST, "https://okta.test/oauth2/v1/token", callback=answer)
    return asked


def test_a_client_not_granted_the_optional_logs_scope_gets_a_token_without_it(
    rsa_key, fast_http, rsps, caplog
):
    asked = _refusing_logs_scope(rsps, 2)
    rsps.get("https://okta.test/api/v1/users", json=[])
    provider = _okta(rsa_key, fast_http)
    with caplog.at_level(logging.WARNING):
        assert list(provider.iter_users()) == []
    provider.close()
    assert asked == ["okta.users.read okta.groups.read okta.logs.read", "okta.users.read okta.groups.read"]
    assert any("okta.logs.read" in r.getMessage() for r in caplog.records)
    assert (
        provider.http.auth.granted_scopes is None or "okta.logs.read" not in provider.http.auth.granted_scopes
    )


def test_scopes_named_in_the_settings_are_asked_for_as_they_are(rsa_key, fast_http, rsps):
    asked = _refusing_logs_scope(rsps, 1)
    provider = _okta(rsa_key, fast_http, scopes=("okta.users.read", "okta.groups.read", "okta.logs.read"))
    with pytest.raises(AuthError, match="invalid_scope"):
        list(provider.iter_users())
    provider.close()
    assert asked == ["okta.users.read okta.groups.read okta.logs.read"]


def test_a_retry_log_says_what_failed(graph, rsps, caplog):
    """With the IdP down, the retries say the token endpoint is unreachable, not 'unreadable answer'."""
    for _ in range(3):
        rsps.post(TOKEN_URL, body=requests.ConnectionError("refused"))
    with caplog.at_level("INFO", logger="connector.net.http"), pytest.raises(RetryableError):
        list(graph.iter_users())
    retries = [r.getMessage() for r in caplog.records if "retrying in" in r.getMessage()]
    assert retries and all("token endpoint login.test unreachable" in line for line in retries)
    assert not any("unreadable answer" in line for line in retries)


def test_a_refused_token_endpoint_says_so(fast_http):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    auth = AuthSettings("client_secret", client_id="app-1", client_secret=Secret(SECRET))
    options = {"tenant": "tenant-1", "authority": f"http://127.0.0.1:{port}"}
    fail_fast = dataclasses.replace(fast_http, retry_refused=False)
    provider = AzureADProvider(ProviderSettings("d1", GRAPH, auth, http=fail_fast, options=options))
    try:
        with pytest.raises(
            UnreachableError, match=f"token endpoint 127.0.0.1:{port} unreachable: connection refused"
        ) as info:
            list(provider.iter_users())
    finally:
        provider.close()
    assert info.value.refused
