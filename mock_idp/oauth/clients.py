"""How the token endpoints authenticate clients: assertions, secrets, and token-response hygiene.

Client assertions (``private_key_jwt``, RFC 7523 §2.2 and §3):

The rules are Okta's ("Build a self-signed JWT"): ``iss`` = ``sub`` = the
client id, ``aud`` = the token URL exactly as the client reached it, ``exp``
present, in the future and at most one hour ahead, ``iat`` (optional) not in
the future, ``jti`` (optional) usable once.  Signatures are verified by
``joserfc`` with the client's registered JWKS; with no ``kid`` in the header
every registered key is tried.  Times come from ``directory.clock_now()``.

A refusal names its ``reason``; each endpoint words it in its provider's
error vocabulary.
"""

from __future__ import annotations

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

from mock_idp.state.directory import Dialect
from mock_idp.state.directory import Directory
from mock_idp.state.directory import OAuthClient

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512")
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
        "replayed",
    }
)


class AssertionRefused(Exception):
    """The assertion does not authenticate its client; ``reason`` is one of :data:`REASONS`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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


def _check_times(directory: Directory, claims: dict[str, Any]) -> datetime:
    now = directory.clock_now()
    exp = claims.get("exp")
    if not _is_number(exp):
        raise AssertionRefused("no_expiry")
    expires_at = datetime.fromtimestamp(exp, timezone.utc)
    if expires_at <= now:
        raise AssertionRefused("expired")
    if expires_at > now + MAX_LIFETIME:
        raise AssertionRefused("too_far")
    iat = claims.get("iat")
    if iat is not None and (not _is_number(iat) or datetime.fromtimestamp(iat, timezone.utc) > now):
        raise AssertionRefused("issued_in_future")
    return expires_at


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
