"""Okta ``POST /oauth2/v1/token``: client credentials with a ``private_key_jwt`` assertion (RFC 7523)."""

from __future__ import annotations

import uuid
from datetime import datetime
from datetime import timezone
from typing import Any

import pytest
from flask.testing import FlaskClient
from joserfc import jwt
from joserfc.jwk import ECKey
from joserfc.jwk import OctKey
from joserfc.jwk import RSAKey

from mock_idp.oauth import views as oauth
from mock_idp.oauth.clients import ASSERTION_TYPE
from mock_idp.okta import views as okta
from mock_idp.state.directory import Directory
from mock_idp.state.directory import OAuthClient

T0 = datetime(2026, 1, 5, 9, 0, 0, tzinfo=timezone.utc)
NOW = int(T0.timestamp())
CLIENT = "0oaservice123"
TOKEN_URL = "http://localhost/oauth2/v1/token"
SCOPES = ("okta.users.read", "okta.groups.read")


@pytest.fixture(scope="module")
def rsa_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "rsa-1"})


@pytest.fixture(scope="module")
def ec_key() -> ECKey:
    return ECKey.generate_key("P-256", parameters={"kid": "ec-1"})


@pytest.fixture(scope="module")
def stranger_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "rsa-1"})


@pytest.fixture
def directory(rsa_key: RSAKey, ec_key: ECKey) -> Directory:
    d = Directory(seed=9, clock=lambda: T0)
    jwks = {"keys": [rsa_key.as_dict(private=False), ec_key.as_dict(private=False)]}
    d.add_client(OAuthClient(CLIENT, "okta", "private_key_jwt", SCOPES, jwks=jwks))
    d.add_client(OAuthClient("graph-app", "graph", "private_key_jwt", ("User.Read.All",), jwks=jwks))
    d.add_user("ann@example.com", email="ann@example.com")
    return d


@pytest.fixture
def client(blueprint_app) -> FlaskClient:  # type: ignore[no-untyped-def]
    return blueprint_app(oauth.blueprint, okta.blueprint).test_client()


def sign(key: Any, header: dict[str, Any] | None = None, **claims: Any) -> str:
    body = {
        "iss": CLIENT,
        "sub": CLIENT,
        "aud": TOKEN_URL,
        "iat": NOW,
        "exp": NOW + 300,
        "jti": str(uuid.uuid4()),
    }
    body.update(claims)
    body = {k: v for k, v in body.items() if v is not None}
    header = header or {"alg": "RS256", "kid": "rsa-1"}
    return jwt.encode(header, body, key, algorithms=[header["alg"]])


def request_token(client: FlaskClient, assertion: str | None, **form: str):
    data = {
        "grant_type": "client_credentials",
        "scope": " ".join(SCOPES),
        "client_assertion_type": ASSERTION_TYPE,
    }
    if assertion is not None:
        data["client_assertion"] = assertion
    data.update(form)
    return client.post("/oauth2/v1/token", data={k: v for k, v in data.items() if v is not None})


def assert_oauth_error(response, status: int, error: str, description: str | None = None) -> None:
    assert response.status_code == status, response.json
    assert set(response.json) == {"error", "error_description"}
    assert response.json["error"] == error
    if description is not None:
        assert response.json["error_description"] == description
    assert response.headers["Cache-Control"] == "no-store"


def test_rs256_assertion_gets_a_bearer_token_that_reads_users(client, rsa_key):
    response = request_token(client, sign(rsa_key))
    assert response.status_code == 200
    body = response.json
    assert set(body) == {"token_type", "expires_in", "access_token", "scope"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert body["scope"] == "okta.users.read okta.groups.read"
    assert response.headers["Cache-Control"] == "no-store"
    users = client.get("/api/v1/users", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert users.status_code == 200 and len(users.json) == 1


@pytest.mark.parametrize("alg", ["RS256", "RS384", "RS512"])
def test_rsa_algorithms_without_kid_try_every_key(client, rsa_key, alg):
    assert request_token(client, sign(rsa_key, {"alg": alg})).status_code == 200


def test_es256_with_kid(client, ec_key):
    assert request_token(client, sign(ec_key, {"alg": "ES256", "kid": "ec-1"})).status_code == 200


def test_aud_may_be_a_list_holding_the_token_url(client, rsa_key):
    assert request_token(client, sign(rsa_key, aud=["https://elsewhere", TOKEN_URL])).status_code == 200


def test_a_subset_of_the_clients_scopes(client, rsa_key):
    response = request_token(client, sign(rsa_key), scope="okta.users.read")
    assert response.json["scope"] == "okta.users.read"


AUDIENCE = "The audience claim for client_assertion must be the endpoint invoked for the request."


@pytest.mark.parametrize(
    "aud",
    [
        "https://localhost/oauth2/v1/token",
        "http://localhost/oauth2/default/v1/token",
        "http://localhost/",
        None,
    ],
)
def test_wrong_audience(client, rsa_key, aud):
    response = request_token(client, sign(rsa_key, aud=aud))
    assert_oauth_error(response, 401, "invalid_client", AUDIENCE)


@pytest.mark.parametrize(
    ("claims", "description"),
    [
        ({"exp": NOW}, "The client_assertion token is expired."),
        ({"exp": NOW - 60}, "The client_assertion token is expired."),
        ({"exp": NOW + 3601}, "The client_assertion token has an expiration too far into the future."),
        ({"exp": None}, "The client_assertion token must have an expiration (exp) claim."),
        ({"exp": "soon"}, "The client_assertion token must have an expiration (exp) claim."),
        ({"iat": NOW + 5}, "The client_assertion token has an issued-at (iat) time in the future."),
    ],
)
def test_times(client, rsa_key, claims, description):
    assert_oauth_error(request_token(client, sign(rsa_key, **claims)), 401, "invalid_client", description)


def test_exp_exactly_one_hour_ahead_is_accepted(client, rsa_key):
    assert request_token(client, sign(rsa_key, exp=NOW + 3600)).status_code == 200


def test_jti_is_single_use_but_a_refused_assertion_does_not_burn_it(client, rsa_key):
    jti = "jti-once"
    refused = request_token(client, sign(rsa_key, jti=jti, aud="https://wrong"))
    assert refused.status_code == 401
    assertion = sign(rsa_key, jti=jti)
    assert request_token(client, assertion).status_code == 200
    replay = request_token(client, assertion)
    assert_oauth_error(
        replay, 401, "invalid_client", "The client_assertion token has already been used (jti)."
    )


def test_no_jti_is_allowed(client, rsa_key):
    assert request_token(client, sign(rsa_key, jti=None)).status_code == 200


def test_wrong_signature(client, stranger_key):
    response = request_token(client, sign(stranger_key))
    assert_oauth_error(response, 401, "invalid_client", "The client_assertion signature is invalid.")


def test_unknown_kid(client, rsa_key):
    response = request_token(client, sign(rsa_key, {"alg": "RS256", "kid": "rotated-away"}))
    assert_oauth_error(response, 401, "invalid_client")
    assert "kid" in response.json["error_description"]


def test_symmetric_algorithm_is_refused(client):
    key = OctKey.generate_key(256)
    response = request_token(client, sign(key, {"alg": "HS256"}))
    assert_oauth_error(response, 401, "invalid_client")
    assert "algorithm" in response.json["error_description"]


@pytest.mark.parametrize("issuer", ["0oaunknown", "graph-app"])
def test_unknown_client(client, rsa_key, issuer):
    response = request_token(client, sign(rsa_key, iss=issuer, sub=issuer))
    assert_oauth_error(response, 401, "invalid_client", "Invalid value for the `client_id` parameter")


def test_issuer_and_subject_must_be_the_client(client, rsa_key):
    response = request_token(client, sign(rsa_key, sub="someone-else"))
    assert_oauth_error(response, 401, "invalid_client")
    response = request_token(client, sign(rsa_key), client_id="0oaother")
    assert_oauth_error(response, 401, "invalid_client")


def test_malformed_assertion(client):
    response = request_token(client, "not.a.jwt")
    assert_oauth_error(response, 401, "invalid_client", "The client_assertion token is malformed.")


def test_wrong_assertion_type(client, rsa_key):
    response = request_token(client, sign(rsa_key), client_assertion_type="urn:something-else")
    assert_oauth_error(response, 400, "invalid_request", "The `client_assertion_type` is invalid.")


def test_no_credentials(client):
    assert_oauth_error(request_token(client, None), 401, "invalid_client", "No client credentials found")


def test_multiple_credentials(client, rsa_key):
    response = request_token(client, sign(rsa_key), client_secret="also-a-secret", client_id=CLIENT)
    assert_oauth_error(response, 400, "invalid_request")
    assert response.json["error_description"].startswith("Can't supply multiple client credentials.")


@pytest.mark.parametrize(
    ("form", "status", "error", "description"),
    [
        (
            {"grant_type": "password"},
            400,
            "unsupported_grant_type",
            "The grant type in the request isn't supported.",
        ),
        ({"grant_type": None}, 400, "invalid_request", "The `grant_type` parameter is required."),
        ({"scope": None}, 400, "invalid_scope", "No scopes were requested."),
        ({"scope": ""}, 400, "invalid_scope", "No scopes were requested."),
    ],
)
def test_request_errors(client, rsa_key, form, status, error, description):
    assert_oauth_error(request_token(client, sign(rsa_key), **form), status, error, description)


def test_scope_beyond_the_clients_is_invalid_scope(client, rsa_key):
    response = request_token(client, sign(rsa_key), scope="okta.users.read okta.users.manage")
    assert_oauth_error(response, 400, "invalid_scope")
    assert "okta.users.manage" in response.json["error_description"]


def test_keys_endpoint(client):
    assert client.get("/oauth2/v1/keys").json == {"keys": []}
