"""One webhook post, signed per the Standard Webhooks specification.

Headers (https://www.standardwebhooks.com/, "Signature scheme"): ``webhook-id`` (the event id:
the same on every retry, so a receiver drops a duplicate), ``webhook-timestamp`` (Unix seconds
of this attempt) and ``webhook-signature`` (``v1,`` and the base64 HMAC-SHA256 of
``id.timestamp.body`` with the endpoint's secret), made with the ``standardwebhooks`` package.
A post follows no redirect, sends no cookie, and takes 2xx as delivered; anything else (another
status, a timeout, a refused or cut connection, a refused destination) is a failure to retry.

The connection goes to the address the guard checked (:class:`PinnedAdapter`), not to a second
resolution of the name: a host whose DNS answers a public address to the check and a private
one to the connection (DNS rebinding) reaches nothing inside.  TLS still verifies the name.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import datetime
from datetime import timezone
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from standardwebhooks.webhooks import Webhook
from urllib3.connectionpool import HTTPConnectionPool
from urllib3.connectionpool import HTTPSConnectionPool

from connector.net.destinations import DestinationRefused
from connector.net.destinations import Resolver
from connector.net.destinations import check_destination
from connector.net.destinations import system_resolver

USER_AGENT = "idp-connector-webhooks/1"
DEFAULT_TIMEOUT = (5.0, 15.0)
"""(connect, read) seconds of one post; a slower receiver is a failed attempt, retried."""


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


@dataclass(frozen=True)
class PostOutcome:
    """What one post came to: delivered (2xx), or why not."""

    delivered: bool
    status: int | None = None
    error: str | None = None


def signed_headers(secret: str, message_id: str, body: str, now: datetime | None = None) -> dict[str, str]:
    """The three Standard Webhooks headers for ``body``, and the content type."""
    moment = now or datetime.now(timezone.utc)
    signature = Webhook(secret).sign(message_id, moment, body)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


def _pinned_pool(pool: type[HTTPConnectionPool], address: str) -> type[HTTPConnectionPool]:
    base: Any = pool.ConnectionCls

    class Connection(base):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._dns_host = address  # the socket goes here; SNI and the certificate check use the name

    return type(f"Pinned{pool.__name__}", (pool,), {"ConnectionCls": Connection})


class PinnedAdapter(HTTPAdapter):
    """An adapter whose connections go to one checked address, whatever the URL's name resolves to."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _pinned_pool(HTTPConnectionPool, self.address),
            "https": _pinned_pool(HTTPSConnectionPool, self.address),
        }


def _pin(session: requests.Session, url: str, address: str) -> None:
    """Route ``url``'s origin through an adapter pinned to ``address`` (kept while it stays the same)."""
    parts = urlsplit(url)
    prefix = f"{parts.scheme}://{parts.netloc}/"
    mounted = session.adapters.get(prefix)
    if isinstance(mounted, PinnedAdapter) and mounted.address == address:
        return
    if mounted is not None:
        mounted.close()
    session.mount(prefix, PinnedAdapter(address))


def post_signed(
    session: requests.Session,
    url: str,
    body: str,
    *,
    message_id: str,
    secret: str,
    allow_private: bool = False,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    resolve: Resolver = system_resolver,
) -> PostOutcome:
    """Post ``body`` to ``url`` signed with ``secret``; never raises for what the receiver does."""
    try:
        addresses = check_destination(url, allow_private=allow_private, resolve=resolve)
    except DestinationRefused as exc:
        return PostOutcome(False, error=f"refused: {exc}")
    _pin(session, url, addresses[0])
    headers = signed_headers(secret, message_id, body)
    try:
        with session.post(
            url,
            data=body.encode("utf-8"),
            headers=headers,
            timeout=timeout,
            allow_redirects=False,
            stream=True,
        ) as answer:
            status = answer.status_code
    except requests.Timeout:
        return PostOutcome(False, error=f"no answer within {timeout[1]:g} s")
    except requests.RequestException as exc:
        return PostOutcome(False, error=f"the connection failed: {type(exc).__name__}")
    if 200 <= status < 300:
        return PostOutcome(True, status)
    return PostOutcome(False, status, f"answered {status}")
