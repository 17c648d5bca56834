"""Entra ID ``POST /<tenant>/oauth2/v2.0/token`` and the OpenID discovery document."""

from __future__ import annotations

import base64
import time
import uuid
from datetime import datetime
from datetime import timedelta
from datetime import timezone

import pytest
from flask.testing import FlaskClient
from joserfc import jwt
from joserfc.jwk import RSAKey

from mock_idp.oauth import views as oauth
from mock_idp.oauth.clients import ASSERTION_TYPE
from mock_idp.state.certificates import registered_certificate
from mock_idp.state.certificates import self_signed_certificate
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


# Certificate credentials: the app registration holds certificates; x5t / x5t#S256 name one.

NOW = datetime.now(timezone.utc)


@pytest.fixture(scope="module")
def cert_key() -> RSAKey:
    return RSAKey.generate_key(2048)


def certificate_of(key: RSAKey, start: int = -1, end: int = 365) -> str:
    pem = key.as_pem(private=True).decode("ascii")
    return self_signed_certificate(pem, "entra app", NOW + timedelta(days=start), NOW + timedelta(days=end))


@pytest.fixture
def cert_app(directory: Directory, cert_key: RSAKey) -> str:
    """An app with a secret and two certificates, one of them expired."""
    certificates = (certificate_of(cert_key), certificate_of(cert_key, -400, -1))
    directory.add_client(
        OAuthClient("cert-app-2", "graph", "client_secret", ROLES, SECRET, certificates=certificates)
    )
    return "cert-app-2"


def cert_assertion(
    key: RSAKey,
    certificate: str | None,
    *,
    alg: str = "PS256",
    sha1_only: bool = False,
    exp: int = 300,
    nbf: int = 0,
) -> str:
    now = int(time.time())
    url = f"http://localhost/{TENANT}/oauth2/v2.0/token"
    claims = {"iss": "cert-app-2", "sub": "cert-app-2", "aud": url, "jti": str(uuid.uuid4())}
    claims.update(iat=now, nbf=now + nbf, exp=now + exp)
    header: dict[str, str] = {"alg": alg, "typ": "JWT"}
    if certificate is not None:
        cert = registered_certificate(certificate)
        header["x5t"] = cert.x5t
        if not sha1_only:
            header["x5t#S256"] = cert.x5t_s256
    return jwt.encode(header, claims, key, algorithms=[alg])


def cert_token(client: FlaskClient, signed: str):
    form = {"client_id": "cert-app-2", "client_secret": None, "client_assertion_type": ASSERTION_TYPE}
    return token(client, client_assertion=signed, **form)


@pytest.mark.parametrize(("alg", "sha1_only"), [("PS256", False), ("RS256", True), ("RS256", False)])
def test_an_assertion_naming_a_registered_certificate_gets_a_token(
    client, cert_app, cert_key, alg, sha1_only
):
    signed = cert_assertion(cert_key, certificate_of(cert_key), alg=alg, sha1_only=sha1_only)
    response = cert_token(client, signed)
    assert response.status_code == 200, response.json
    assert response.json["token_type"] == "Bearer"


def test_an_unregistered_thumbprint_is_700027_key_not_found(client, cert_app, cert_key):
    unknown = certificate_of(cert_key, -2, 200)  # the same key, another certificate: not registered
    response = cert_token(client, cert_assertion(cert_key, unknown))
    assert_aad_error(response, 401, "invalid_client", 700027)
    words = response.json["error_description"]
    assert "is not registered on application. [Reason - The key was not found." in words
    sha256 = registered_certificate(unknown).x5t_s256
    assert f"Thumbprint of key used by client: '{b64decode_hex(sha256)}'" in words
    assert "app Id 'cert-app-2'" in words


def test_a_signature_by_another_key_is_700027_signature_mismatch(client, cert_app, cert_key):
    other = RSAKey.generate_key(2048)
    response = cert_token(client, cert_assertion(other, certificate_of(cert_key)))
    assert_aad_error(response, 401, "invalid_client", 700027)
    words = response.json["error_description"]
    assert "[Reason - The provided signature value did not match the expected signature value." in words
    assert "Found key 'Start=" in words


def test_an_expired_certificate_is_700027_key_expired(client, cert_app, cert_key):
    response = cert_token(client, cert_assertion(cert_key, certificate_of(cert_key, -400, -1)))
    assert_aad_error(response, 401, "invalid_client", 700027)
    assert "[Reason - The key used is expired." in response.json["error_description"]


@pytest.mark.parametrize(("exp", "nbf"), [(-60, -120), (300, 120)], ids=["expired", "not-yet-valid"])
def test_an_assertion_out_of_its_time_range_is_700024(client, cert_app, cert_key, exp, nbf):
    response = cert_token(client, cert_assertion(cert_key, certificate_of(cert_key), exp=exp, nbf=nbf))
    assert_aad_error(response, 401, "invalid_client", 700024)
    words = response.json["error_description"]
    assert "Client assertion is not within its valid time range. Current time: " in words
    assert ", assertion valid from " in words and ", expiry time of assertion " in words


def test_an_assertion_without_a_thumbprint_is_50027(client, cert_app, cert_key):
    response = cert_token(client, cert_assertion(cert_key, None))
    assert_aad_error(response, 401, "invalid_client", 50027)
    assert "No certificate thumbprint specified in token header." in response.json["error_description"]


def test_the_apps_secret_still_works_beside_its_certificates(client, cert_app):
    assert token(client, client_id=cert_app).status_code == 200


def b64decode_hex(value: str) -> str:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).hex().upper()
