"""Events and webhooks of one organization, as plain data (docs/events.md).

:class:`Events` is what the CLI's ``events`` and ``webhooks`` commands and the Python API share:
reading events after a cursor, pruning, API keys of ``GET /events``, and webhook endpoints
(added with a new secret sealed by the vault and shown once, listed, removed, tested, replayed).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Collection
from collections.abc import Sequence
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from typing import Any

import requests

from connector.delivery.deliverer import secret_context
from connector.errors import ConfigError
from connector.net.destinations import Resolver
from connector.net.destinations import check_destination
from connector.net.destinations import check_url
from connector.net.destinations import system_resolver
from connector.net.webhook_post import DEFAULT_TIMEOUT
from connector.net.webhook_post import new_secret
from connector.net.webhook_post import post_signed
from connector.rules.events import check_types
from connector.store import Store
from connector.store.event_ids import next_ids
from connector.store.outbox import DEFAULT_RETENTION
from connector.store.outbox import check_cursor
from connector.vault import Vault

TEST_EVENT_TYPE = "webhook.test"


def _types(types: Collection[str]) -> tuple[str, ...]:
    try:
        return check_types(types)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc


class Events:
    """One organization's events and webhook endpoints."""

    def __init__(
        self, store: Store, vault: Vault | None = None, *, resolve: Resolver = system_resolver
    ) -> None:
        self.store = store
        self._vault = vault
        self.resolve = resolve

    @property
    def vault(self) -> Vault:
        """The vault of ``CONNECTOR_SECRET_KEYS(_FILE)``, read on first use."""
        if self._vault is None:
            self._vault = Vault.from_environment()
        return self._vault

    # ------------------------------------------------------------------ pull

    def list(
        self, after: str | None = None, *, limit: int = 100, types: Collection[str] = ()
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` events after ``after``, in order (docs/events.md, "Pull")."""
        return [e.to_dict() for e in self.store.events(after, limit=limit, types=_types(types))]

    def newest(self) -> str | None:
        """The newest event id: where a consumer that has just read the store whole starts."""
        return self.store.newest_event_id()

    def prune(self, retention: timedelta = DEFAULT_RETENTION) -> int:
        """Delete the events older than ``retention``; how many."""
        return self.store.prune_events(retention)

    def issue_api_key(self) -> str:
        """A new key of ``GET /events`` for the organization (shown once, kept as a hash)."""
        return self.store.issue_api_key()

    # ------------------------------------------------------------------ webhooks

    def add_webhook(
        self,
        url: str,
        *,
        types: Sequence[str] = (),
        allow_http: bool = False,
        allow_private: bool = False,
    ) -> tuple[dict[str, Any], str]:
        """Add an endpoint; its record and its new secret (``whsec_...``), which is shown to the
        caller once and stored only sealed.  The URL is checked now (https, a public host unless
        ``allow_private``) and again before every post."""
        check_url(url, allow_http=allow_http)
        check_destination(url, allow_private=allow_private, resolve=self.resolve)
        endpoint_id = f"we_{secrets.token_hex(6)}"
        secret = new_secret()
        sealed = self.vault.seal(secret, context=secret_context(self.store.org, endpoint_id))
        endpoint = self.store.add_webhook(
            endpoint_id, url, sealed, _types(types), allow_private=allow_private
        )
        return endpoint.to_dict(), secret

    def webhooks(self) -> list[dict[str, Any]]:
        return [e.to_dict() for e in self.store.webhooks()]

    def remove_webhook(self, endpoint_id: str) -> None:
        self.store.remove_webhook(endpoint_id)

    def replay(self, endpoint_id: str, from_id: str) -> dict[str, Any]:
        """Deliver the endpoint's events again from ``from_id`` (included) on."""
        check_cursor(from_id)
        return self.store.replay_webhook(endpoint_id, from_id).to_dict()

    def dead_letters(self, endpoint_id: str | None = None) -> list[dict[str, Any]]:
        return [d.to_dict() for d in self.store.dead_letters(endpoint_id)]

    def test_webhook(
        self, endpoint_id: str, *, timeout: tuple[float, float] = DEFAULT_TIMEOUT
    ) -> dict[str, Any]:
        """Post one signed ``webhook.test`` event to the endpoint now (not stored, not retried)."""
        endpoint = self.store.webhook(endpoint_id)
        sealed = self.store.webhook_secret(endpoint_id)
        secret = self.vault.unseal(sealed, context=secret_context(self.store.org, endpoint_id))
        event_id = next_ids(1)[0]
        body = {
            "id": event_id,
            "type": TEST_EVENT_TYPE,
            "organization": self.store.org,
            "directory": None,
            "run_id": None,
            "occurred_at": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"),
            "data": {"endpoint_id": endpoint_id},
        }
        session = requests.Session()
        session.trust_env = False
        with session:
            outcome = post_signed(
                session,
                endpoint.url,
                json.dumps(body, sort_keys=True, separators=(",", ":")),
                message_id=event_id,
                secret=secret,
                allow_private=endpoint.allow_private,
                timeout=timeout,
                resolve=self.resolve,
            )
        return {
            "endpoint_id": endpoint_id,
            "event_id": event_id,
            "delivered": outcome.delivered,
            "status": outcome.status,
            "error": outcome.error,
        }
