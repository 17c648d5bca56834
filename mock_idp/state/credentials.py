"""Default test credentials, derived from a directory's seed.

A directory with no OAuth clients and no API tokens gets, per dialect:

* Okta: an SSWS API token, and a ``private_key_jwt`` service app whose
  public key is registered as a JWKS (the key pair is the test key shipped in
  ``mock_idp/fixtures/okta-service-app-key.pem``, the same for every seed);
  scopes ``okta.users.read okta.groups.read okta.logs.read``;
* Graph: an app with a client secret, and a certificate credential (the
  test certificate and key shipped in ``mock_idp/fixtures/entra-app-certificate.pem``
  and ``entra-app-key.pem``, the same for every seed), and the app roles
  ``User.Read.All`` and ``GroupMember.Read.All``;
* SCIM: a bearer token, and an OAuth client with a secret; scopes ``scim.read scim.write``.

Same seed, same credentials.  They are a mock's test credentials, public by
design: ``mock-idp serve`` prints them on purpose, and the shipped keys must
never be trusted anywhere but a mock.
"""

from __future__ import annotations

import functools
import random
import string
import uuid
from dataclasses import dataclass
from importlib import resources

from joserfc.jwk import RSAKey

from mock_idp.state.directory import ApiToken
from mock_idp.state.directory import Directory
from mock_idp.state.directory import OAuthClient

OKTA_SCOPES = ("okta.users.read", "okta.groups.read", "okta.logs.read")
GRAPH_ROLES = ("User.Read.All", "GroupMember.Read.All")
SCIM_SCOPES = ("scim.read", "scim.write")


@dataclass(frozen=True)
class DefaultCredentials:
    """The default credentials of one seed."""

    okta_api_token: str
    okta_client_id: str
    okta_key_id: str
    okta_private_key_pem: str
    graph_client_id: str
    graph_client_secret: str
    graph_private_key_pem: str
    graph_certificate_pem: str
    scim_token: str
    scim_client_id: str
    scim_client_secret: str


@functools.cache
def test_private_key_pem() -> str:
    """The PEM private key of the default Okta service app (a public test key)."""
    return resources.files("mock_idp").joinpath("fixtures/okta-service-app-key.pem").read_text()


@functools.cache
def test_entra_key_pem() -> str:
    """The PEM private key of the default Entra app's certificate (a public test key)."""
    return resources.files("mock_idp").joinpath("fixtures/entra-app-key.pem").read_text()


@functools.cache
def test_entra_certificate_pem() -> str:
    """The default Entra app's certificate, self-signed, valid 2025-01-01 to 2045-01-01 (UTC)."""
    return resources.files("mock_idp").joinpath("fixtures/entra-app-certificate.pem").read_text()


def known_certificate_key(client: OAuthClient) -> tuple[str, str] | None:
    """``(certificate, private key)`` PEMs when ``client`` has the shipped test certificate, else None."""
    cert = test_entra_certificate_pem()
    if cert.strip() not in (c.strip() for c in client.certificates):
        return None
    return cert, test_entra_key_pem()


def default_credentials(seed: int) -> DefaultCredentials:
    """Deterministic credentials for ``seed``; the key pair is the shipped test key."""
    rng = random.Random(f"mock-idp-credentials:{seed}")
    alnum = string.ascii_letters + string.digits

    def word(n: int, chars: str = alnum) -> str:
        return "".join(rng.choices(chars, k=n))

    return DefaultCredentials(
        okta_api_token="00" + word(40, alnum + "-_"),
        okta_client_id="0oa" + word(17),
        okta_key_id=f"mock-{seed}-" + word(8).lower(),
        okta_private_key_pem=test_private_key_pem(),
        graph_client_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        graph_client_secret=word(3) + "8Q~" + word(34, alnum + "~._-"),
        graph_private_key_pem=test_entra_key_pem(),
        graph_certificate_pem=test_entra_certificate_pem(),
        scim_token=word(48),
        scim_client_id="scim-" + word(12).lower(),
        scim_client_secret=word(40),
    )


def public_jwk(private_key_pem: str, kid: str) -> dict[str, str]:
    """The public half of a PEM private key as a JWK (RFC 7517), signing with RS256."""
    jwk = RSAKey.import_key(private_key_pem).as_dict(private=False)
    return {**jwk, "kid": kid, "use": "sig", "alg": "RS256"}


def known_private_key(directory: Directory, client: OAuthClient) -> str | None:
    """The PEM private key of a ``private_key_jwt`` client registered with the shipped test key, else None.

    So a fixture may register ``public_jwk(test_private_key_pem(), kid)`` and
    ``mock-idp serve`` can still hand out the private key.
    """
    if client.auth_method != "private_key_jwt" or not client.jwks:
        return None
    pem = test_private_key_pem()
    n = public_jwk(pem, "")["n"]
    if not any(k.get("n") == n for k in client.jwks.get("keys", [])):
        return None
    return pem


def add_default_credentials(directory: Directory) -> DefaultCredentials | None:
    """Give a directory without OAuth clients and API tokens the defaults of its seed.

    Returns them, or None when the directory already had credentials.
    """
    with directory.lock:
        if directory.clients or directory.api_tokens:
            return None
        creds = default_credentials(directory.seed)
        jwk = public_jwk(creds.okta_private_key_pem, creds.okta_key_id)
        directory.add_api_token(ApiToken(creds.okta_api_token, "okta", OKTA_SCOPES, "default SSWS token"))
        directory.add_client(
            OAuthClient(
                creds.okta_client_id,
                "okta",
                "private_key_jwt",
                OKTA_SCOPES,
                jwks={"keys": [jwk]},
                name="default service app",
            )
        )
        directory.add_client(
            OAuthClient(
                creds.graph_client_id,
                "graph",
                "client_secret",
                GRAPH_ROLES,
                creds.graph_client_secret,
                name="default app",
                certificates=(creds.graph_certificate_pem,),
            )
        )
        directory.add_api_token(ApiToken(creds.scim_token, "scim", SCIM_SCOPES, "default bearer token"))
        directory.add_client(
            OAuthClient(
                creds.scim_client_id,
                "scim",
                "client_secret",
                SCIM_SCOPES,
                creds.scim_client_secret,
                name="default client",
            )
        )
        return creds
