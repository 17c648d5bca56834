"""Authentication for one directory: an authlib OAuth session or a static token.

Four methods (``AuthSettings.method``):

* ``private_key_jwt``: OAuth 2.0 client credentials, the client proves itself
  with a JWT signed by its private key (RFC 7523 §2.2; Okta service apps).
  authlib's :class:`~authlib.oauth2.rfc7523.PrivateKeyJWT` signs it; the
  assertion carries ``iss = sub = client_id``, ``aud`` = the token URL, a
  fresh ``jti`` and a short ``exp`` (Okta refuses more than an hour ahead).
  With a certificate (Entra's certificate credentials) the header names it by
  ``x5t`` / ``x5t#S256``, the assertion is signed ``PS256`` and has ``nbf``.
* ``client_secret``: client credentials with ``client_secret_post`` (Entra).
* ``bearer``: a static ``Authorization: Bearer`` token (SCIM services).
* ``ssws``: an Okta API token, ``Authorization: SSWS <token>``.

OAuth tokens live in one :class:`authlib.integrations.requests_client.OAuth2Session`
per provider (:mod:`connector.net.oauth`, loaded only for the OAuth
methods); authlib renews them ``leeway`` seconds before they expire, and
:meth:`Authenticator.renew` drops a token the IdP refused early.  Secrets are
:class:`~connector.providers.base.Secret` objects until the moment they go on
the wire; :meth:`Authenticator.secret_values` lets error messages scrub them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests
from requests.auth import AuthBase

from connector.errors import ConfigError
from connector.net.settings import AuthSettings
from connector.net.settings import Secret


def scrub(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with every secret value in it replaced by stars."""
    for value in secrets:
        if len(value) >= 4:
            text = text.replace(value, "**********")
    return text


def idp_words(value: Any, limit: int = 200) -> str:
    """An IdP-supplied value (of any type and length) as text for an error message, cut to
    ``limit`` characters."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


class StaticTokenAuth(AuthBase):
    """``Authorization: <scheme> <token>`` on every request (SSWS or Bearer)."""

    def __init__(self, scheme: str, token: Secret) -> None:
        self.scheme = scheme
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"{self.scheme} {self._token.reveal()}"
        return request

    def __repr__(self) -> str:
        return f"StaticTokenAuth({self.scheme!r}, {self._token!r})"


class Authenticator:
    """One requests session with its credentials attached.

    ``ensure()`` makes sure a usable credential is on the session (fetching
    an OAuth token when none is cached or it is about to expire); ``renew()``
    drops a token the IdP refused, once, so the next ``ensure()`` fetches a
    new one.  Static tokens have nothing to fetch or renew.
    """

    def __init__(self, session: requests.Session, secrets: tuple[Secret, ...]) -> None:
        self.session = session
        self._secrets = secrets

    @property
    def is_oauth(self) -> bool:
        return False

    @property
    def granted_scopes(self) -> tuple[str, ...] | None:
        """Scopes the token response granted; None when the method has no scopes."""
        return None

    def ensure(self) -> None:
        """Nothing to do for a static token."""

    def renew(self) -> bool:
        """Forget the current token; False when there is nothing to renew."""
        return False

    def secret_values(self) -> tuple[str, ...]:
        """The raw secrets in play, for scrubbing messages; never log this."""
        values: list[str] = []
        for secret in self._secrets:
            text = secret.reveal()
            values.append(text)
            # a PEM or JWK key can leak line by line or field by field
            values.extend(part for part in text.replace('"', "\n").splitlines() if len(part.strip()) >= 16)
        return tuple(v for v in values if v)

    def close(self) -> None:
        self.session.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def build_authenticator(
    settings: AuthSettings,
    *,
    default_token_url: str | None,
    default_scopes: tuple[str, ...],
    allowed: tuple[str, ...],
    translate: Callable[[requests.Response], Exception],
    timeout: tuple[float, float],
    optional_scopes: tuple[str, ...] = (),
) -> Authenticator:
    """The session for ``settings``; ConfigError names what is missing or not allowed.

    ``translate`` turns a 429/5xx token response into the error tree (the
    HTTP client retries those); ``timeout`` is ``(connect, read)`` seconds.
    ``optional_scopes`` (among the defaults) make reads cheaper but are not
    needed: when the settings name no scopes and the token endpoint answers
    ``invalid_scope``, the token is asked for again without them.
    """
    method = settings.method
    if method not in allowed:
        raise ConfigError(f"auth.method {method!r} is not supported here; use one of: {', '.join(allowed)}")
    if method in ("ssws", "bearer"):
        if settings.token is None or not settings.token.reveal():
            raise ConfigError(f"auth.token is required for auth.method {method!r}")
        session = requests.Session()
        session.auth = StaticTokenAuth("SSWS" if method == "ssws" else "Bearer", settings.token)
        return Authenticator(session, (settings.token,))
    from connector.net.oauth import oauth_authenticator  # authlib and cryptography: only for OAuth

    return oauth_authenticator(
        settings,
        default_token_url=default_token_url,
        default_scopes=default_scopes,
        translate=translate,
        timeout=timeout,
        optional_scopes=optional_scopes,
    )
