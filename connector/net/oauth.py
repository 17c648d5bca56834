"""OAuth 2.0 client credentials for one directory, through authlib (:mod:`connector.net.auth`).

Loaded only when a directory's ``auth.method`` is ``private_key_jwt`` or
``client_secret``: authlib and the cryptography it signs with cost a process
about 11 MB that a static token (``ssws``, ``bearer``) does not need.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import datetime
from datetime import timezone
from typing import Any
from urllib.parse import urljoin
from urllib.parse import urlsplit

import requests
from authlib.common.urls import add_params_to_qs
from authlib.integrations.requests_client import OAuth2Session
from authlib.integrations.requests_client import OAuthError
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc import jwk
from joserfc.errors import JoseError

from connector.errors import AuthError
from connector.errors import ConfigError
from connector.errors import UnreachableError
from connector.net.auth import Authenticator
from connector.net.auth import idp_words
from connector.net.auth import scrub
from connector.net.origins import host_of
from connector.net.settings import AuthSettings
from connector.net.settings import Secret
from connector.net.tls import tls_failure
from connector.net.unreachable import connection_refused
from connector.net.unreachable import why_unreachable

log = logging.getLogger("connector.net.auth")

ASSERTION_LIFETIME = 300
"""Seconds a client assertion stays valid; it is used once, right away."""

TOKEN_LEEWAY = 60
"""Renew an access token this many seconds before it expires."""

CERTIFICATE_ALG = "PS256"
"""How an assertion naming a certificate is signed: RSASSA-PSS, as Entra asks for."""


class ShortLivedPrivateKeyJWT(PrivateKeyJWT):
    """authlib's ``private_key_jwt`` with a short ``exp`` and a fresh ``jti`` per assertion.

    With ``certificate`` (Entra's certificate credentials) the assertion also
    carries ``nbf`` = ``iat``, and the form names the ``client_id``, which
    Entra's token endpoint requires beside the assertion.
    """

    def __init__(
        self,
        token_endpoint: str,
        *,
        headers: dict[str, str] | None = None,
        alg: str | None = None,
        certificate: bool = False,
    ) -> None:
        super().__init__(token_endpoint, headers=headers, alg=alg)
        self.certificate = certificate

    def sign(self, auth: Any, token_endpoint: str) -> Any:
        now = int(time.time())
        self.claims = {"iat": now, "exp": now + ASSERTION_LIFETIME}
        if self.certificate:
            self.claims["nbf"] = now
        return super().sign(auth, token_endpoint)

    def __call__(self, auth: Any, method: str, uri: str, headers: Any, body: str) -> tuple[str, Any, str]:
        uri, headers, body = super().__call__(auth, method, uri, headers, body)
        if self.certificate:
            body = add_params_to_qs(body, [("client_id", auth.client_id)])
        return uri, headers, body


def load_private_key(text: str, key_id: str | None = None) -> tuple[Any, str, str | None]:
    """Parse a PEM or JWK private key; return ``(key, alg, kid)``.

    The key's own ``kid`` (JWK) is used unless ``key_id`` is given.  The key
    text never appears in the error.
    """
    kid = key_id
    try:
        if text.lstrip().startswith("{"):
            data = json.loads(text)
            key = jwk.import_key(data)
            kid = kid or data.get("kid")
        else:
            key = _import_pem(text)
    except (ValueError, TypeError, KeyError) as exc:
        raise ConfigError("auth.private_key is neither a PEM nor a JWK private key") from exc
    if not getattr(key, "is_private", False):
        raise ConfigError("auth.private_key holds a public key; the client needs its private key")
    return key, _alg_for(key), kid


def _import_pem(text: str) -> Any:
    for key_type in ("RSA", "EC", "OKP"):
        try:
            return jwk.import_key(text, key_type)  # type: ignore[arg-type]
        except (ValueError, TypeError, JoseError):  # joserfc 1.8: InvalidKeyTypeError for another type
            continue
    raise ValueError("not a PEM key")


def certificate_headers(text: str, key: Any) -> dict[str, str]:
    """The ``x5t`` and ``x5t#S256`` headers naming certificate ``text`` (PEM) of private ``key``.

    ConfigError when the certificate is unreadable, not the key's, not RSA,
    expired or not yet valid; a warning when it expires within
    :data:`~connector.net.certificates.RENEW_WITHIN`.  Nothing secret is in either.
    """
    from connector.net import certificates  # cryptography's x509: only with a certificate

    try:
        cert = certificates.load_certificate(text)
    except ValueError as exc:
        raise ConfigError(f"auth.certificate {exc}") from None
    problem = certificates.certificate_problem(cert, getattr(key, "private_key", None))
    if problem is not None:
        raise ConfigError(f"auth.certificate {problem}")
    now = datetime.now(timezone.utc)
    if cert.not_after - now < certificates.RENEW_WITHIN:
        log.warning(
            "the client certificate %r (x5t %s) expires on %s, in %d days; register a new one on the "
            "app registration and configure it before then",
            cert.subject,
            cert.x5t,
            f"{cert.not_after:%Y-%m-%d}",
            cert.days_left(now),
        )
    return cert.thumbprint_headers


def _alg_for(key: Any) -> str:
    if isinstance(key, jwk.RSAKey):
        return "RS256"
    if isinstance(key, jwk.ECKey):
        curve = key.curve_name
        return {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}.get(curve, "ES256")
    if isinstance(key, jwk.OKPKey):
        return "EdDSA"
    raise ConfigError("auth.private_key must be an RSA, EC or OKP key")


class OAuthClientCredentials(Authenticator):
    """Client credentials through authlib's :class:`OAuth2Session`."""

    def __init__(
        self,
        session: OAuth2Session,
        token_url: str,
        secrets: tuple[Secret, ...],
        translate: Callable[[requests.Response], Exception],
    ) -> None:
        super().__init__(session, secrets)
        self.token_url = token_url
        self._translate = translate
        self.token_calls = 0
        self.fallback_scope: str | None = None  # asked for instead when the endpoint refuses a scope
        session.register_compliance_hook("access_token_response", self._check_response)

    @property
    def is_oauth(self) -> bool:
        return True

    @property
    def granted_scopes(self) -> tuple[str, ...] | None:
        token = self.session.token  # type: ignore[attr-defined]
        if not token or not token.get("scope"):
            return None
        return tuple(str(token["scope"]).split())

    def secret_values(self) -> tuple[str, ...]:
        values = super().secret_values()
        token = self.session.token  # type: ignore[attr-defined]
        if token and token.get("access_token"):
            values += (str(token["access_token"]),)
        return values

    def ensure(self) -> None:
        """Fetch a token when none is cached or it expires within the leeway."""
        session: OAuth2Session = self.session  # type: ignore[assignment]
        token = session.token
        if token and not token.is_expired(leeway=session.leeway):
            return
        self.token_calls += 1
        try:
            try:
                self._fetch(session)
            except OAuthError as exc:
                if exc.error != "invalid_scope" or self.fallback_scope is None:
                    raise
                # an optional scope the client was not granted: ask for the others from now on
                log.warning(
                    "the token endpoint refused scope %r (%s); going on with %r",
                    session.scope,
                    exc.error,
                    self.fallback_scope,
                )
                session.scope, self.fallback_scope = self.fallback_scope, None
                self.token_calls += 1
                self._fetch(session)
        except requests.exceptions.SSLError as exc:
            raise tls_failure(exc, f"the token endpoint {host_of(self.token_url)}") from None
        except OAuthError as exc:
            text = f"the token endpoint refused the client: {idp_words(exc.error)}"
            if exc.description:
                text += f" ({idp_words(exc.description)})"
            raise AuthError(scrub(text, self.secret_values()), code=exc.error) from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            where = urlsplit(self.token_url)
            host = f"{where.hostname}:{where.port}" if where.port else where.hostname
            raise UnreachableError(
                f"token endpoint {host} unreachable: {why_unreachable(exc)}",
                refused=connection_refused(exc),
            ) from None

    def _fetch(self, session: OAuth2Session) -> None:
        # verify given explicitly: a REQUESTS_CA_BUNDLE in the environment must not override it;
        # a redirect is never followed (docs/contract.md, "Credentials bound to their origin")
        session.fetch_token(
            self.token_url, grant_type="client_credentials", verify=session.verify, allow_redirects=False
        )

    def renew(self) -> bool:
        session: OAuth2Session = self.session  # type: ignore[assignment]
        session.token = None
        return True

    def _check_response(self, response: requests.Response) -> requests.Response:
        """Hold the token endpoint's answer to RFC 6749 §5.1/§5.2 before authlib reads it.

        An OAuth error (``error``) goes on to authlib, which raises it (and an optional scope it
        names is dropped, :meth:`ensure`); any other answer that is not a Bearer token becomes
        an :class:`AuthError` quoting what came, cut short and without secrets."""
        status = response.status_code
        if status == 429 or status >= 500:
            raise self._translate(response)
        if 300 <= status < 400:
            where = host_of(urljoin(self.token_url, response.headers.get("Location", "")))
            raise self._refused(
                f"redirected ({status}) to {where}; not followed: credentials go only to the origin "
                "they were configured for",
                status,
            )
        try:
            body = response.json()
        except (ValueError, RecursionError):
            raise AuthError(
                f"the token endpoint answered {status} without a JSON body", status=status
            ) from None
        if not isinstance(body, dict):
            raise self._refused(f"answered {status} with JSON that is not a JSON object", status)
        if isinstance(body.get("error"), str):
            return response
        if status >= 400 or "errorCode" in body:
            code, summary = body.get("errorCode"), body.get("errorSummary")
            if code is not None or summary is not None:  # Okta's error shape
                raise self._refused(
                    f"refused the client ({status}): {idp_words(code)}: {idp_words(summary)}", status
                )
            raise self._refused(f"answered {status} without an OAuth error", status)
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise self._refused(f"answered {status} without an access_token", status)
        kind = body.get("token_type")
        if not isinstance(kind, str) or kind.lower() != "bearer":
            raise self._refused(f"issued a {idp_words(kind)!r} token; only Bearer tokens can be used", status)
        expires = body.get("expires_in")
        if expires is not None and (isinstance(expires, bool) or not _is_number(expires)):
            raise self._refused(
                f"answered expires_in={idp_words(expires)!r}, not a number of seconds", status
            )
        return response

    def _refused(self, what: str, status: int) -> AuthError:
        return AuthError(scrub(f"the token endpoint {what}", self.secret_values()), status=status)


def _is_number(value: Any) -> bool:
    """A number, or a string of one (some servers quote ``expires_in``)."""
    if isinstance(value, (int, float)):
        return True
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def oauth_authenticator(
    settings: AuthSettings,
    *,
    default_token_url: str | None,
    default_scopes: tuple[str, ...],
    translate: Callable[[requests.Response], Exception],
    timeout: tuple[float, float],
    optional_scopes: tuple[str, ...] = (),
) -> Authenticator:
    """The OAuth session for ``settings`` (see :func:`connector.net.auth.build_authenticator`)."""
    method = settings.method
    if not settings.client_id:
        raise ConfigError(f"auth.client_id is required for auth.method {method!r}")
    token_url = settings.token_url or default_token_url
    if not token_url:
        raise ConfigError("auth.token_url is required: this provider has no default token endpoint")
    scope = " ".join(settings.scopes or default_scopes) or None
    if method == "private_key_jwt":
        if settings.private_key is None or not settings.private_key.reveal():
            raise ConfigError("auth.private_key is required for auth.method 'private_key_jwt'")
        key, alg, kid = load_private_key(settings.private_key.reveal(), settings.key_id)
        headers = {"kid": kid} if kid else {}
        if settings.certificate is not None:
            headers.update(certificate_headers(settings.certificate, key))
            alg = CERTIFICATE_ALG
        session = _session(settings.client_id, key, "private_key_jwt", scope, token_url, timeout)
        session.register_client_auth_method(
            ShortLivedPrivateKeyJWT(
                token_url,
                headers=headers or None,
                alg=alg,
                certificate=settings.certificate is not None,
            )
        )
        secrets: tuple[Secret, ...] = (settings.private_key,)
    else:
        if settings.client_secret is None or not settings.client_secret.reveal():
            raise ConfigError("auth.client_secret is required for auth.method 'client_secret'")
        secret = settings.client_secret.reveal()
        session = _session(settings.client_id, secret, "client_secret_post", scope, token_url, timeout)
        secrets = (settings.client_secret,)
    credentials = OAuthClientCredentials(session, token_url, secrets, translate)
    required = [name for name in default_scopes if name not in optional_scopes]
    if not settings.scopes and len(required) < len(default_scopes):
        credentials.fallback_scope = " ".join(required) or None
    return credentials


def _session(
    client_id: str, secret: Any, method: str, scope: str | None, token_url: str, timeout: tuple[float, float]
) -> OAuth2Session:
    """A client-credentials session authenticating with ``method`` (``secret``: a key or a string)."""
    return OAuth2Session(
        client_id=client_id,
        client_secret=secret,
        token_endpoint_auth_method=method,
        scope=scope,
        token_endpoint=token_url,
        grant_type="client_credentials",
        leeway=TOKEN_LEEWAY,
        default_timeout=timeout,
    )
