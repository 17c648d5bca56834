"""Default test credentials, derived from a directory's seed.

A directory with no OAuth clients and no API tokens gets, per dialect:

* Okta: an SSWS API token, and a ``private_key_jwt`` service app whose
  public key is registered as a JWKS (the private key comes from
  :func:`mock_idp.tls.seeded_rsa_key`); scopes ``okta.users.read okta.groups.read``;
* Graph: an app with a client secret and the app roles ``User.Read.All`` and
  ``GroupMember.Read.All``;
* SCIM: a bearer token, and an OAuth client with a secret; scopes ``scim.read scim.write``.

Same seed, same credentials.  They are a mock's test credentials: ``mock-idp
serve`` prints them on purpose.
"""

from __future__ import annotations

import base64
import random
import string
import uuid
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mock_idp.state import ApiToken
from mock_idp.state import Directory
from mock_idp.state import OAuthClient
from mock_idp.tls import seeded_rsa_key

OKTA_SCOPES = ("okta.users.read", "okta.groups.read")
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
    scim_token: str
    scim_client_id: str
    scim_client_secret: str


def _pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def default_credentials(seed: int) -> DefaultCredentials:
    """Deterministic credentials for ``seed`` (the RSA key pair too)."""
    rng = random.Random(f"mock-idp-credentials:{seed}")
    alnum = string.ascii_letters + string.digits

    def word(n: int, chars: str = alnum) -> str:
        return "".join(rng.choices(chars, k=n))

    return DefaultCredentials(
        okta_api_token="00" + word(40, alnum + "-_"),
        okta_client_id="0oa" + word(17),
        okta_key_id=f"mock-{seed}-" + word(8).lower(),
        okta_private_key_pem=_pem(seeded_rsa_key(str(seed))),
        graph_client_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        graph_client_secret=word(3) + "8Q~" + word(34, alnum + "~._-"),
        scim_token=word(48),
        scim_client_id="scim-" + word(12).lower(),
        scim_client_secret=word(40),
    )


def public_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, str]:
    """The public half of ``key`` as a JWK (RFC 7517 §4, RFC 7518 §6.3.1)."""
    numbers = key.public_key().public_numbers()

    def b64(n: int) -> str:
        return base64.urlsafe_b64encode(n.to_bytes((n.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()

    return {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": b64(numbers.n), "e": b64(numbers.e)}


def known_private_key(directory: Directory, client: OAuthClient) -> str | None:
    """The PEM private key of a ``private_key_jwt`` client whose JWKS holds the seed's key, else None.

    So a fixture may register ``public_jwk(seeded_rsa_key(str(seed)), kid)``
    and ``mock-idp serve`` can still hand out the private key.
    """
    if client.auth_method != "private_key_jwt" or not client.jwks:
        return None
    key = seeded_rsa_key(str(directory.seed))
    n = public_jwk(key, "")["n"]
    if not any(k.get("n") == n for k in client.jwks.get("keys", [])):
        return None
    return _pem(key)


def add_default_credentials(directory: Directory) -> DefaultCredentials | None:
    """Give a directory without OAuth clients and API tokens the defaults of its seed.

    Returns them, or None when the directory already had credentials.
    """
    with directory.lock:
        if directory.clients or directory.api_tokens:
            return None
        creds = default_credentials(directory.seed)
        jwk = public_jwk(seeded_rsa_key(str(directory.seed)), creds.okta_key_id)
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
