"""What the network layer is configured with: credentials, and the habits of one directory's HTTP.

:class:`Secret` keeps a credential out of every repr and log line;
:class:`AuthSettings` says how to authenticate (:mod:`connector.net.auth`);
:class:`HttpSettings` the timeouts, retries and rate share (:mod:`connector.net.http`).
Providers carry them in their :class:`~connector.providers.base.ProviderSettings`.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from typing import Literal

AuthMethod = Literal["private_key_jwt", "client_secret", "bearer", "ssws"]


class Secret:
    """A secret string that never shows itself in a repr, str or log line."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself; call only where it goes on the wire."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class AuthSettings:
    """How to authenticate to one directory.

    * ``private_key_jwt``: OAuth client credentials, the client signs a JWT
      assertion with ``private_key`` (PEM or JWK text); optional ``key_id``.
      With ``certificate`` (the PEM X.509 certificate of that key, Entra's
      certificate credentials) the assertion names it by ``x5t`` and
      ``x5t#S256`` and is signed ``PS256`` (:mod:`connector.net.certificates`).
    * ``client_secret``: OAuth client credentials with ``client_secret``.
    * ``bearer``: a static bearer ``token`` (SCIM services).
    * ``ssws``: an Okta API ``token``.

    ``token_url`` defaults per provider (Okta ``{base}/oauth2/v1/token``,
    Entra ``{authority}/{tenant}/oauth2/v2.0/token``).
    """

    method: AuthMethod
    client_id: str | None = None
    client_secret: Secret | None = None
    private_key: Secret | None = None
    key_id: str | None = None
    token: Secret | None = None
    token_url: str | None = None
    scopes: tuple[str, ...] = ()
    certificate: str | None = field(default=None, repr=False)  # public, but long


@dataclass(frozen=True)
class HttpSettings:
    """Network habits for one directory (see :mod:`connector.net.http`)."""

    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    max_retries: int = 5
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    max_total_wait: float = 600.0  # give up after waiting this long on 429s/5xx, in all
    max_rate_limit_retries: int = 100  # and after this many 429s for one request
    rate_share: float = 0.5  # never use more than this share of the IdP's rate budget
    verify_tls: bool = True
    ca_bundle: str | None = None
    retry_refused: bool = True  # a refused connection is retried; ``check`` says at once instead
