"""How the token endpoints authenticate clients: assertions, secrets, and token-response hygiene.

Client assertions (``private_key_jwt``, RFC 7523 §2.2 and §3):

The rules are Okta's ("Build a self-signed JWT"): ``iss`` = ``sub`` = the
client id, ``aud`` = the token URL exactly as the client reached it, ``exp``
present, in the future and at most one hour ahead, ``iat`` (optional) not in
the future, ``nbf`` (optional) not in the future, ``jti`` (optional) usable
once.  Signatures are verified by ``joserfc`` with the client's registered
JWKS; with no ``kid`` in the header every registered key is tried.  Times
come from ``directory.clock_now()``.

An Entra app with certificates (``OAuthClient.certificates``) is Entra's
certificate credentials: the header's ``x5t#S256`` (else ``x5t``) names the
certificate, which must be registered on the app and valid now, and the
signature (``RS256`` or ``PS256``) must verify with its public key.  A
refusal there carries ``details``: the thumbprint the client used (as hex,
as Entra quotes it) and the dates of the certificate found.

A refusal names its ``reason``; each endpoint words it in its provider's
error vocabulary.
"""

from __future__ import annotations

import base64
import hmac
import json
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from typing import Any

from flask import Response
from flask import jsonify
from flask import request
from joserfc import jws
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwk import RSAKey

from mock_idp.state.certificates import registered_certificate
from mock_idp.state.directory import Dialect
from mock_idp.state.directory import Directory
from mock_idp.state.directory import OAuthClient

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512")
CERTIFICATE_ALGORITHMS = ("RS256", "PS256")
MAX_LIFETIME = timedelta(hours=1)

REASONS = frozenset(
    {
        "malformed",
        "unknown_client",
        "not_jwt_client",
        "algorithm",
        "unknown_key",
        "signature",
        "issuer",
        "audience",
        "no_expiry",
        "expired",
        "too_far",
        "issued_in_future",
        "not_yet_valid",
        "replayed",
        "no_thumbprint",
        "key_expired",
    }
)


class AssertionRefused(Exception):
    """The assertion does not authenticate its client; ``reason`` is one of :data:`REASONS`.

    ``details`` fill in a message's blanks (``thumbprint``, ``start``, ``end``,
    ``now``, ``nbf``, ``exp``), when the reason has them.
    """

    def __init__(self, reason: str, **details: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.details = details


def verify_client_assertion(
    directory: Directory,
    assertion: str,
    *,
    dialect: Dialect,
    audience: str,
    client_id: str | None = None,
) -> OAuthClient:
    """The client that signed ``assertion``, or raise :class:`AssertionRefused`.

    ``client_id`` is the form's ``client_id`` when the request sent one; the
    assertion's ``iss`` and ``sub`` must then equal it.  The ``jti`` is
    recorded only once everything else has passed, so a refused assertion
    does not burn its ``jti``.
    """
    header, claims = _unverified(assertion)
    issuer = claims.get("iss")
    if not isinstance(issuer, str):
        raise AssertionRefused("issuer")
    client = directory.clients.get(client_id or issuer)
    if client is None or client.dialect != dialect:
        raise AssertionRefused("unknown_client")
    names_a_certificate = "x5t" in header or "x5t#S256" in header
    if client.certificates and (names_a_certificate or not client.jwks):
        _verify_with_certificate(directory, assertion, header, client)
    else:
        if client.auth_method != "private_key_jwt" or not client.jwks:
            raise AssertionRefused("not_jwt_client")
        if header.get("alg") not in ALGORITHMS:
            raise AssertionRefused("algorithm")
        _verify_signature(assertion, header, client.jwks)
    if issuer != client.client_id or claims.get("sub") != client.client_id:
        raise AssertionRefused("issuer")
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if audience not in audiences:
        raise AssertionRefused("audience")
    expires_at = _check_times(directory, claims)
    jti = claims.get("jti")
    if jti is not None and not directory.use_jti(f"{client.client_id}:{jti}", expires_at):
        raise AssertionRefused("replayed")
    return client


def _unverified(assertion: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims before verification (to find the client and its keys)."""
    try:
        compact = jws.extract_compact(assertion.encode("ascii"))
        claims = json.loads(compact.payload)
    except (JoseError, ValueError, UnicodeError):
        raise AssertionRefused("malformed") from None
    if not isinstance(claims, dict):
        raise AssertionRefused("malformed")
    return dict(compact.headers()), claims


def _verify_signature(assertion: str, header: dict[str, Any], jwks: dict[str, Any]) -> None:
    try:
        key_set = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError):
        raise AssertionRefused("not_jwt_client") from None
    kid = header.get("kid")
    candidates = [key for key in key_set.keys if kid is None or key.kid == kid]
    if not candidates:
        raise AssertionRefused("unknown_key")
    for key in candidates:
        try:
            jwt.decode(assertion, key, algorithms=[header["alg"]])
        except (JoseError, ValueError, TypeError):
            continue
        return
    raise AssertionRefused("signature")


def _verify_with_certificate(
    directory: Directory, assertion: str, header: dict[str, Any], client: OAuthClient
) -> None:
    """Entra's certificate credentials: the named certificate is the app's, valid, and signed this."""
    thumbprint = _thumbprint_hex(header)
    if thumbprint is None:
        raise AssertionRefused("no_thumbprint")
    if header.get("alg") not in CERTIFICATE_ALGORITHMS:
        raise AssertionRefused("algorithm", thumbprint=thumbprint)
    found = None
    for pem in client.certificates:
        try:
            cert = registered_certificate(pem)
        except ValueError:
            continue
        if cert.is_named_by(header):
            found = cert
            break
    if found is None:
        raise AssertionRefused("unknown_key", thumbprint=thumbprint)
    dates = {"start": _entra_time(found.not_before), "end": _entra_time(found.not_after)}
    if not found.valid_at(directory.clock_now()):
        raise AssertionRefused("key_expired", thumbprint=thumbprint, **dates)
    try:
        jwt.decode(assertion, RSAKey.import_key(found.public_jwk), algorithms=[header["alg"]])
    except (JoseError, ValueError, TypeError):
        raise AssertionRefused("signature", thumbprint=thumbprint, **dates) from None


def _thumbprint_hex(header: dict[str, Any]) -> str | None:
    """The header's ``x5t#S256`` (else ``x5t``) as upper-case hex, as Entra quotes a thumbprint."""
    value = header.get("x5t#S256", header.get("x5t"))
    if not isinstance(value, str) or not value:
        return None
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).hex().upper()
    except (ValueError, TypeError):
        return value  # not base64url: quoted as sent; it names no certificate


def _entra_time(moment: datetime) -> str:
    """A date as Entra's messages show one: ``01/28/2019 16:00:00``."""
    return moment.strftime("%m/%d/%Y %H:%M:%S")


def _check_times(directory: Directory, claims: dict[str, Any]) -> datetime:
    now = directory.clock_now()
    exp = claims.get("exp")
    if not _is_number(exp):
        raise AssertionRefused("no_expiry")
    expires_at = datetime.fromtimestamp(exp, timezone.utc)
    nbf = claims.get("nbf")
    times = {
        "now": _iso(now),
        "nbf": _iso(datetime.fromtimestamp(nbf if _is_number(nbf) else 0, timezone.utc)),
        "exp": _iso(expires_at),
    }
    if expires_at <= now:
        raise AssertionRefused("expired", **times)
    if expires_at > now + MAX_LIFETIME:
        raise AssertionRefused("too_far", **times)
    iat = claims.get("iat")
    if iat is not None and (not _is_number(iat) or datetime.fromtimestamp(iat, timezone.utc) > now):
        raise AssertionRefused("issued_in_future", **times)
    if nbf is not None and (not _is_number(nbf) or datetime.fromtimestamp(nbf, timezone.utc) > now):
        raise AssertionRefused("not_yet_valid", **times)
    return expires_at


def _iso(moment: datetime) -> str:
    """A time as Entra's AADSTS700024 shows one: ``2024-10-02T22:05:03.6755160Z``."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def secret_matches(client: OAuthClient, secret: str) -> bool:
    """Constant-time check of a client secret (an unset secret never matches)."""
    expected = client.client_secret or ""
    return bool(expected) and hmac.compare_digest(expected.encode(), secret.encode())


def basic_credentials() -> tuple[str, str] | None:
    """``(client_id, client_secret)`` from HTTP Basic (RFC 6749 §2.3.1), if the request sent it."""
    auth = request.authorization
    if auth is None or auth.type != "basic":
        return None
    return auth.username or "", auth.password or ""


def no_store(response: Response) -> Response:
    """RFC 6749 §5.1: token responses, and their errors, must not be cached."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def token_response(body: dict[str, object]) -> Response:
    return no_store(jsonify(body))
