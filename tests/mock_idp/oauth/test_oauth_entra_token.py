"""Entra ID ``POST /<tenant>/oauth2/v2.0/token`` and the OpenID discovery document."""

from __future__ import annotations

import time
import uuid

import pytest
from flask.testing import FlaskClient
from joserfc import jwt
from joserfc.jwk import RSAKey

from mock_idp.oauth import views as oauth
from mock_idp.oauth.clients import ASSERTION_TYPE
from mock_idp.state.directory import Directory
from mock_idp.state.directory import OAuthClient

TENANT = "7d1c2f8e-3a8b-4a6f-9a71-0c6e2b1f5d10"
DOMAIN = "contoso.onmicrosoft.com"
APP = "11111111-2222-4333-8444-555555555555"
SECRET = "abc8Q~secret-value"
ROLES = ("User.Read.All", "GroupMember.Read.All")
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
ERROR_KEYS = {
    "error",
    "error_description",
    "error_codes",
    "timestamp",
    "trace_id",
    "correlation_id",
    "error_uri",
}


@pytest.fixture(scope="module")
def key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "cert-1"})


@pytest.fixture
def directory(key: RSAKey) -> Directory:
    d = Directory(seed=4, tenant_id=TENANT, tenant_domain=DOMAIN)
    d.add_client(OAuthClient(APP, "graph", "client_secret", ROLES, client_secret=SECRET))
    jwks = {"keys": [key.as_dict(private=False)]}
    d.add_client(OAuthClient("cert-app", "graph", "private_key_jwt", ("User.Read.All",), jwks=jwks))
    d.add_client(OAuthClient("okta-app", "okta", "client_secret", ("okta.users.read",), client_secret=SECRET))
    return d


@pytest.fixture
def client(blueprint_app) -> FlaskClient:  # type: ignore[no-untyped-def]
    return blueprint_app(oauth.blueprint).test_client()


def token(client: FlaskClient, tenant: str = TENANT, **form: str | None):
    data = {
        "client_id": APP,
        "client_secret": SECRET,
        "grant_type": "client_credentials",
        "scope": GRAPH_SCOPE,
    }
    data.update(form)
    return client.post(f"/{tenant}/oauth2/v2.0/token", data={k: v for k, v in data.items() if v is not None})


def assert_aad_error(response, status: int, error: str, code: int) -> None:
    assert response.status_code == status, response.json
    body = response.json
    assert set(body) == ERROR_KEYS
    assert body["error"] == error
    assert body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}: ")
    assert body["trace_id"] in body["error_description"]
    assert uuid.UUID(body["correlation_id"])


@pytest.mark.parametrize("tenant", [TENANT, DOMAIN, DOMAIN.upper()])
def test_client_secret_gets_a_token_with_the_apps_roles(client, directory, tenant):
    response = token(client, tenant, client_info="1")
    assert response.status_code == 200
    body = response.json
    assert set(body) == {"token_type", "expires_in", "ext_expires_in", "access_token"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == body["ext_expires_in"] == 3599
    issued = directory.issued_tokens[body["access_token"]]
    assert issued.dialect == "graph" and issued.scopes == ROLES and issued.client_id == APP


def test_app_id_form_of_the_scope(client):
    assert token(client, scope="00000003-0000-0000-c000-000000000000/.default").status_code == 200


def test_unknown_tenant(client):
    assert_aad_error(token(client, "fabrikam.onmicrosoft.com"), 400, "invalid_request", 90002)


@pytest.mark.parametrize("missing", ["grant_type", "client_id", "scope"])
def test_missing_parameter(client, missing):
    response = token(client, **{missing: None})
    assert_aad_error(response, 400, "invalid_request", 900144)
    assert f"'{missing}'" in response.json["error_description"]


def test_unsupported_grant(client):
    assert_aad_error(token(client, grant_type="password"), 400, "unsupported_grant_type", 70003)


@pytest.mark.parametrize("client_id", ["99999999-2222-4333-8444-555555555555", "okta-app"])
def test_unknown_application(client, client_id):
    assert_aad_error(token(client, client_id=client_id), 400, "unauthorized_client", 700016)


def test_bad_secret(client):
    response = token(client, client_secret="wrong")
    assert_aad_error(response, 401, "invalid_client", 7000215)
    assert "wrong" not in response.get_data(as_text=True)


def test_no_secret(client):
    assert_aad_error(token(client, client_secret=None), 401, "invalid_client", 7000218)


@pytest.mark.parametrize("scope", ["User.Read.All", "https://graph.microsoft.com/User.Read.All"])
def test_scope_without_default_suffix(client, scope):
    assert_aad_error(token(client, scope=scope), 400, "invalid_scope", 1002012)


def test_other_resource(client):
    assert_aad_error(token(client, scope="https://vault.azure.net/.default"), 400, "invalid_resource", 500011)


def assertion(key: RSAKey, aud: str) -> str:
    now = int(time.time())
    claims = {
        "iss": "cert-app",
        "sub": "cert-app",
        "aud": aud,
        "iat": now,
        "exp": now + 600,
        "jti": str(uuid.uuid4()),
    }
    return jwt.encode({"alg": "RS256", "kid": "cert-1"}, claims, key)


def test_certificate_credential(client, key):
    url = f"http://localhost/{TENANT}/oauth2/v2.0/token"
    form = {"client_id": "cert-app", "client_secret": None, "client_assertion_type": ASSERTION_TYPE}
    assert token(client, client_assertion=assertion(key, url), **form).status_code == 200
    wrong = token(client, client_assertion=assertion(key, "https://login.microsoftonline.com/x"), **form)
    assert_aad_error(wrong, 401, "invalid_client", 700212)


def test_openid_configuration_points_at_this_host(client):
    response = client.get(f"/{DOMAIN}/v2.0/.well-known/openid-configuration")
    assert response.status_code == 200
    body = response.json
    assert body["token_endpoint"] == f"http://localhost/{DOMAIN}/oauth2/v2.0/token"
    assert body["authorization_endpoint"] == f"http://localhost/{DOMAIN}/oauth2/v2.0/authorize"
    assert body["issuer"] == f"http://localhost/{TENANT}/v2.0"
    assert body["jwks_uri"].startswith("http://localhost/")
    assert client.get("/nowhere.example/v2.0/.well-known/openid-configuration").status_code == 400
