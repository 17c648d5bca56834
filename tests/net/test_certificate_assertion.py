"""Entra's certificate credentials: the client assertion names its certificate by x5t and x5t#S256."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import time
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from urllib.parse import parse_qs

import pytest
import responses
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from joserfc import jws
from joserfc import jwt
from joserfc.jwk import ECKey
from joserfc.jwk import RSAKey

from connector.errors import ConfigError
from connector.net.settings import AuthSettings
from connector.net.settings import Secret
from connector.providers.azure_ad import AzureADProvider
from connector.providers.base import ProviderSettings
from mock_idp.state.certificates import self_signed_certificate

GRAPH = "https://graph.test/v1.0"
TOKEN_URL = "https://login.test/tenant-1/oauth2/v2.0/token"
APP = "11111111-2222-4333-8444-555555555555"
NOW = datetime.now(timezone.utc)


def pem_of(key: RSAKey | ECKey) -> str:
    return key.as_pem(private=True).decode("ascii")


def certificate(key: RSAKey | ECKey, *, start: timedelta = timedelta(days=-1), days: int = 365) -> str:
    return self_signed_certificate(pem_of(key), "connector test app", NOW + start, NOW + timedelta(days=days))


def b64url(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def provider(key_pem: str, cert_pem: str | None, fast_http, key_id: str | None = None) -> AzureADProvider:
    auth = AuthSettings(
        "private_key_jwt", client_id=APP, private_key=Secret(key_pem), key_id=key_id, certificate=cert_pem
    )
    options = {"tenant": "tenant-1", "authority": "https://login.test"}
    return AzureADProvider(ProviderSettings("d1", GRAPH, auth, http=fast_http, options=options))


def read_once(graph: AzureADProvider) -> dict[str, list[str]]:
    """One read; the token request's form."""
    with responses.RequestsMock() as rsps:
        rsps.post(TOKEN_URL, json={"token_type": "Bearer", "expires_in": 3599, "access_token": "at-1"})
        rsps.get(f"{GRAPH}/users", json={"value": []})
        list(graph.iter_users())
        return parse_qs(rsps.calls[0].request.body)


def test_the_assertion_names_the_certificate_by_its_thumbprints(rsa_key, fast_http):
    cert = certificate(rsa_key)
    der = x509.load_pem_x509_certificate(cert.encode()).public_bytes(serialization.Encoding.DER)
    graph = provider(pem_of(rsa_key), cert, fast_http, key_id="kid-7")
    form = read_once(graph)
    graph.close()

    assertion = form["client_assertion"][0]
    header = jws.extract_compact(assertion.encode()).headers()
    assert header == {
        "alg": "PS256",
        "typ": "JWT",
        "kid": "kid-7",
        "x5t": b64url(hashlib.sha1(der).digest()),
        "x5t#S256": b64url(hashlib.sha256(der).digest()),
    }
    public = RSAKey.import_key(rsa_key.as_dict(private=False))
    claims = jwt.decode(assertion, public, algorithms=["PS256"]).claims
    assert claims["aud"] == TOKEN_URL
    assert claims["iss"] == claims["sub"] == APP
    assert len(claims["jti"]) >= 16
    assert claims["nbf"] == claims["iat"] and abs(claims["iat"] - time.time()) < 5
    assert 0 < claims["exp"] - claims["nbf"] <= 300
    assert form["client_id"] == [APP]  # Entra's token endpoint requires it beside the assertion
    assert form["client_assertion_type"] == ["urn:ietf:params:oauth:client-assertion-type:jwt-bearer"]
    assert "client_secret" not in form


def test_a_certificate_is_read_from_a_combined_pem_with_its_key(rsa_key, fast_http):
    combined = pem_of(rsa_key) + certificate(rsa_key)
    graph = provider(pem_of(rsa_key), combined, fast_http)
    header = jws.extract_compact(read_once(graph)["client_assertion"][0].encode()).headers()
    graph.close()
    assert {"x5t", "x5t#S256"} <= set(header) and "kid" not in header


@pytest.mark.parametrize(
    ("make_cert", "message"),
    [
        (lambda key: certificate(RSAKey.generate_key(2048)), "does not match the private key"),
        (lambda key: certificate(key, start=timedelta(days=-400), days=-1), "expired on"),
        (lambda key: certificate(key, start=timedelta(days=2), days=30), "is not valid before"),
        (
            lambda key: "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
            "PEM certificate",
        ),
    ],
    ids=["another-key", "expired", "not-yet-valid", "garbage"],
)
def test_an_unusable_certificate_is_a_config_error(rsa_key, fast_http, make_cert, message):
    with pytest.raises(ConfigError, match=message) as caught:
        provider(pem_of(rsa_key), make_cert(rsa_key), fast_http)
    assert "auth.certificate" in str(caught.value)
    assert pem_of(rsa_key).splitlines()[1] not in str(caught.value)


def test_an_ec_key_cannot_be_an_entra_certificate(fast_http):
    key = ECKey.generate_key("P-256")
    with pytest.raises(ConfigError, match="not an RSA certificate"):
        provider(pem_of(key), certificate(key), fast_http)


def test_a_certificate_expiring_soon_is_warned_about(rsa_key, fast_http, caplog):
    caplog.set_level(logging.WARNING, logger="connector.net.auth")
    graph = provider(pem_of(rsa_key), certificate(rsa_key, days=10), fast_http)
    graph.close()
    [record] = [r for r in caplog.records if "expires on" in r.getMessage()]
    assert "in 9 days" in record.getMessage() or "in 10 days" in record.getMessage()
    assert "BEGIN" not in record.getMessage()


def test_the_certificate_stays_out_of_the_settings_repr(rsa_key):
    cert = certificate(rsa_key)
    auth = AuthSettings(
        "private_key_jwt", client_id=APP, private_key=Secret(pem_of(rsa_key)), certificate=cert
    )
    assert "BEGIN" not in repr(auth) and json.dumps(repr(auth))
