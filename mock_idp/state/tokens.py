"""The directory's credentials: OAuth clients, static API tokens, issued access tokens
and the client-assertion ``jti`` values already seen.  No Flask, no HTTP.

:class:`TokenBook` is a part of :class:`mock_idp.state.directory.Directory`; it shares the
directory's ``lock`` and clock, but never touches users, groups or the change log
(credentials are not directory objects, so adding one bumps no ``version``).
"""

from __future__ import annotations

import hashlib
import hmac
import random
import threading
from collections.abc import Callable
from collections.abc import Iterable
from datetime import datetime
from datetime import timedelta
from datetime import timezone

from mock_idp.state.records import BASE62
from mock_idp.state.records import ApiToken
from mock_idp.state.records import Dialect
from mock_idp.state.records import IssuedToken
from mock_idp.state.records import OAuthClient


class TokenBook:
    """OAuth clients, API tokens, issued tokens and used ``jti`` values, under ``lock``."""

    lock: threading.RLock
    _clock: Callable[[], datetime]

    def __init__(self) -> None:
        self.clients: dict[str, OAuthClient] = {}
        self.api_tokens: dict[str, ApiToken] = {}
        self.issued_tokens: dict[str, IssuedToken] = {}
        self.used_jtis: dict[str, datetime] = {}
        self._by_digest: dict[bytes, ApiToken | IssuedToken] = {}

    def add_client(self, client: OAuthClient) -> OAuthClient:
        with self.lock:
            self.clients[client.client_id] = client
            return client

    def add_api_token(self, token: ApiToken) -> ApiToken:
        with self.lock:
            self.api_tokens[token.token] = token
            self._by_digest[_digest(token.token)] = token
            return token

    def issue_token(
        self, client_id: str, dialect: Dialect, scopes: Iterable[str], lifetime: int = 3600
    ) -> IssuedToken:
        """Hand out a random access token for ``lifetime`` seconds."""
        with self.lock:
            token = IssuedToken(
                token="".join(random.SystemRandom().choice(BASE62) for _ in range(48)),
                client_id=client_id,
                dialect=dialect,
                scopes=tuple(scopes),
                expires_at=self._clock().astimezone(timezone.utc) + timedelta(seconds=lifetime),
            )
            self.issued_tokens[token.token] = token
            self._by_digest[_digest(token.token)] = token
            return token

    def find_issued_token(self, presented: str) -> IssuedToken | None:
        """The access token ``presented`` names, found without comparing it character by character
        with a stored one (:func:`_find`)."""
        found = self._find(presented)
        return found if isinstance(found, IssuedToken) else None

    def find_api_token(self, presented: str) -> ApiToken | None:
        """The static API token ``presented`` names (:func:`_find`)."""
        found = self._find(presented)
        return found if isinstance(found, ApiToken) else None

    def _find(self, presented: str) -> ApiToken | IssuedToken | None:
        """Look a presented token up by its SHA-256 (the time depends on the digest, not on how much
        of a real token the guess shares), then confirm with :func:`hmac.compare_digest`."""
        with self.lock:
            found = self._by_digest.get(_digest(presented))
            if found is None or not hmac.compare_digest(found.token.encode(), presented.encode()):
                return None
            return found

    def use_jti(self, jti: str, expires_at: datetime) -> bool:
        """Record a client-assertion ``jti``; False when it was seen before (a replay)."""
        with self.lock:
            now = self._clock().astimezone(timezone.utc)
            for old in [j for j, exp in self.used_jtis.items() if exp < now]:
                del self.used_jtis[old]
            if jti in self.used_jtis:
                return False
            self.used_jtis[jti] = expires_at
            return True

    def clock_now(self) -> datetime:
        """The clock's time without advancing the change clock (for token checks)."""
        return self._clock().astimezone(timezone.utc)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
