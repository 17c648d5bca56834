"""Webhook deliveries as Celery work: the task's body posts every organization's events (one pass,
as ``deliver --once``), and the scheduler sends the task once per period across schedulers."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import redis
from standardwebhooks.webhooks import Webhook

from connector.delivery.deliverer import secret_context
from connector.net.webhook_post import new_secret
from connector.store import Store
from connector.store.outbox import EventDraft
from connector.store.outbox import write_events
from connector.store.registry import DirectoryEntry
from connector.store.registry import OrganizationEntry
from connector.vault import Vault
from connector.workers.marks import Marks
from connector.workers.scheduler import Scheduler
from connector.workers.settings import WorkerSettings
from connector.workers.tasks import run_delivery
from mock_idp.sink import Sink
from mock_idp.sink import SinkServer

CONFIG = """
[store]
url = "{url}"

[[organizations]]
id = "operator"
verified_domains = ["operator.example.com"]

[[organizations.directories]]
id = "main"
provider = "scim"
base_url = "https://operator.example.com/scim/v2"
auth = {{ method = "bearer", token_env = "DELIVERY_TEST_TOKEN" }}
"""


def test_the_task_posts_every_organizations_events(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = Vault.generate_key()
    monkeypatch.setenv("CONNECTOR_SECRET_KEYS", key)
    config = tmp_path / "connector.toml"
    config.write_text(CONFIG.format(url=sqlite_url))
    vault = Vault.from_keys(key)
    written: dict[str, list[str]] = {}
    with SinkServer(Sink("whsec_" + "A" * 43)) as server, Store.open(sqlite_url) as store:
        secret = new_secret()
        server.sink.webhook = Webhook(secret)
        for org in ("acme", "globex"):
            store.save_organization(OrganizationEntry(org, org.title()))
            store.save_directory(DirectoryEntry(org, "d", "scim", mode="push"))
            scoped = store.for_org(org)
            sealed = vault.seal(secret, context=secret_context(org, f"we_{org}"))
            scoped.add_webhook(f"we_{org}", server.url, sealed, (), allow_private=True)
            with scoped.transaction() as conn:
                written[org] = write_events(
                    conn, [EventDraft("account.created", {"n": i}, "d") for i in range(3)]
                )
            scoped.close()
        done = run_delivery(WorkerSettings(config_path=str(config)))
        assert done == {"outcome": "delivered", "delivered": 6, "failed": 0, "dead_lettered": 0}
        assert sorted(server.sink.delivered_ids()) == sorted(written["acme"] + written["globex"])
        again = run_delivery(WorkerSettings(config_path=str(config)))
        assert again == {"outcome": "nothing_waiting"}  # nothing twice
        monkeypatch.delenv("CONNECTOR_SECRET_KEYS")
        with store.for_org("acme").transaction() as conn:
            write_events(conn, [EventDraft("account.created", {"n": 9}, "d")])
        failed = run_delivery(WorkerSettings(config_path=str(config)))
        assert failed["outcome"] == "failed" and "CONNECTOR_SECRET_KEYS" in failed["error"]


def test_the_scheduler_sends_one_delivery_task_per_period_across_schedulers(
    sqlite_url: str, redis_client: redis.Redis, prefix: str
) -> None:
    sent: list[str] = []
    with Store.open(sqlite_url) as store:
        settings = WorkerSettings(config_path="connector.toml")
        schedulers = [
            Scheduler(
                store,
                Marks(redis_client, prefix=prefix),
                lambda org, d: None,
                settings,
                deliver=lambda: sent.append("deliver"),
                deliver_every=0.5,
            )
            for _ in range(2)
        ]
        for scheduler in schedulers:
            scheduler.tick()
        assert sent == ["deliver"]
        time.sleep(0.6)
        schedulers[1].tick()
        schedulers[0].tick()
        assert sent == ["deliver", "deliver"]
        off = Scheduler(store, Marks(redis_client, prefix=prefix + "x"), lambda o, d: None, settings)
        off.tick()  # without a deliver function, nothing is sent
        assert sent == ["deliver", "deliver"]
