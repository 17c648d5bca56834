"""The deliverer and the store's endpoint bookkeeping: order, leases, retries, dead letters,
replay, and the SSRF guard at post time."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta
from datetime import timezone
from typing import Any

import pytest
import requests
from standardwebhooks.webhooks import Webhook

from connector.delivery.deliverer import Deliverer
from connector.delivery.deliverer import secret_context
from connector.net.webhook_post import new_secret
from connector.rules.retry_schedule import RetrySchedule
from connector.store import Store
from connector.store.outbox import EventDraft
from connector.store.outbox import write_events
from connector.vault import Vault

VAULT = Vault.from_keys(Vault.generate_key())
URL = "https://hooks.example.com/in"


class Answer:
    def __init__(self, status: int) -> None:
        self.status_code = status

    def __enter__(self) -> Answer:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class Receiver(requests.Session):
    """Takes posts without a network: answers the scripted statuses first, then 204."""

    def __init__(self, *statuses: int | Exception) -> None:
        super().__init__()
        self.script = list(statuses)
        self.posts: list[dict[str, Any]] = []

    def post(self, url: str, data: bytes = b"", headers: Any = None, **kwargs: Any) -> Any:  # type: ignore[override]
        self.posts.append({"url": url, "body": data.decode(), "headers": dict(headers)})
        step = self.script.pop(0) if self.script else 204
        if isinstance(step, Exception):
            raise step
        return Answer(step)


def public(host: str, port: int) -> list[str]:
    return ["93.184.216.34"]


@pytest.fixture
def hooked(store: Store) -> tuple[Store, str]:
    secret = new_secret()
    sealed = VAULT.seal(secret, context=secret_context(store.org, "we_1"))
    store.add_webhook("we_1", URL, sealed, ())
    return store, secret


def events(store: Store, n: int, kind: str = "account.created") -> list[str]:
    with store.transaction() as conn:
        return write_events(conn, [EventDraft(kind, {"n": i}, "d") for i in range(n)])


def deliverer(store: Store, session: Receiver, **kwargs: Any) -> Deliverer:
    kwargs.setdefault("schedule", RetrySchedule.of([0, 0]))
    return Deliverer(store, VAULT, orgs=[store.org], session=session, resolve=public, **kwargs)


def test_an_endpoint_gets_the_events_written_after_it_was_added_signed_in_order(
    hooked: tuple[Store, str],
) -> None:
    store, secret = hooked
    before = events(store, 2)
    store.add_webhook("we_late", URL, VAULT.seal(secret, context=secret_context(store.org, "we_late")), ())
    ids = events(store, 5)
    session = Receiver()
    assert deliverer(store, session).run_once().delivered == 2 + 5 + 5
    by_endpoint = [p["headers"]["webhook-id"] for p in session.posts]
    assert by_endpoint == before + ids + ids  # we_1 from its start, we_late only the later five
    for post in session.posts:
        assert Webhook(secret).verify(post["body"], post["headers"])["id"] == post["headers"]["webhook-id"]
    assert deliverer(store, Receiver()).run_once().delivered == 0  # nothing twice


def test_a_failure_holds_the_endpoint_until_its_retry_then_the_same_event_goes_first(
    hooked: tuple[Store, str],
) -> None:
    store, _ = hooked
    ids = events(store, 3)
    session = Receiver(500)
    slow = deliverer(store, session, schedule=RetrySchedule.of([3600]))
    assert slow.run_once().failed == 1
    [endpoint] = store.webhooks()
    assert endpoint.attempts == 1 and endpoint.last_error == "answered 500" and endpoint.position is None
    assert slow.run_once().delivered == 0  # waiting: nothing overtakes the failed event
    assert [p["headers"]["webhook-id"] for p in session.posts] == [ids[0]]
    later = datetime.now(timezone.utc) + timedelta(hours=2)
    assert store.lease_webhooks("someone", timedelta(seconds=5), now=later)  # due again then
    store.release_webhook("we_1", "someone")


def test_after_the_last_attempt_the_event_is_dead_lettered_and_replay_sends_it_again(
    hooked: tuple[Store, str],
) -> None:
    store, _ = hooked
    ids = events(store, 3)
    session = Receiver(500, requests.ConnectionError("cut"), 502)
    d = deliverer(store, session)
    for _ in range(5):
        d.run_once()
    [dead] = store.dead_letters()
    assert (dead.event_id, dead.attempts, dead.last_error) == (ids[0], 3, "answered 502")
    sent = [p["headers"]["webhook-id"] for p in session.posts]
    assert sent == [ids[0]] * 3 + ids[1:]
    store.replay_webhook("we_1", ids[0])
    d.run_once()
    assert [p["headers"]["webhook-id"] for p in session.posts][5:] == ids


def test_types_choose_the_events_an_endpoint_gets(store: Store) -> None:
    store.add_webhook(
        "we_t", URL, VAULT.seal(new_secret(), context=secret_context(store.org, "we_t")), ["group.created"]
    )
    events(store, 2)
    wanted = events(store, 2, "group.created")
    session = Receiver()
    deliverer(store, session).run_once()
    assert [p["headers"]["webhook-id"] for p in session.posts] == wanted


def test_a_lease_keeps_a_second_deliverer_off_the_endpoint_until_it_runs_out(
    hooked: tuple[Store, str],
) -> None:
    store, _ = hooked
    lease = timedelta(seconds=30)
    assert [e.endpoint_id for e in store.lease_webhooks("a", lease)] == ["we_1"]
    assert store.lease_webhooks("b", lease) == []
    ids = events(store, 1)
    assert not store.webhook_delivered("we_1", ids[0], "b", lease)  # b holds no lease: no move
    later = datetime.now(timezone.utc) + timedelta(seconds=31)
    assert [e.endpoint_id for e in store.lease_webhooks("b", lease, now=later)] == ["we_1"]
    assert store.webhook_delivered("we_1", ids[0], "b", lease)
    assert not store.webhook_delivered("we_1", ids[0], "a", lease)  # a lost it


def test_the_guard_refuses_a_private_address_at_post_time(store: Store) -> None:
    store.add_webhook(
        "we_p",
        "https://inside.example.com/",
        VAULT.seal(new_secret(), context=secret_context(store.org, "we_p")),
        (),
    )
    events(store, 1)
    session = Receiver()
    d = Deliverer(store, VAULT, orgs=[store.org], session=session, resolve=lambda h, p: ["10.0.0.5"])
    assert d.run_once().failed == 1
    assert session.posts == []
    assert "private" in (store.webhooks()[0].last_error or "")


def test_a_secret_sealed_for_another_endpoint_does_not_open(store: Store) -> None:
    store.add_webhook(
        "we_x", URL, VAULT.seal(new_secret(), context=secret_context(store.org, "we_other")), ()
    )
    events(store, 1)
    session = Receiver()
    assert deliverer(store, session).run_once().delivered == 0 and session.posts == []
