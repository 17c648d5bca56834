"""The task: one sync of one directory of one organization, as the store holds it.

The task opens the organization's connector (the configuration file's, with the directories the
store holds as data), syncs the directory and returns a summary (plain JSON: no result backend
keeps it; the store's run records are the record).  It ends well, with its outcome in the
summary, when the directory is disabled or gone, when another run holds it (``busy``: the run
lock, :mod:`connector.store.lock`) and when the connector fails (``failed``: the next tick tries
again); it lets only a lost worker or the hard time limit stop it.

Runs of one organization go one at a time: its directories share its accounts, and two runs
applying at once could each create an account for one new address (two directories reading one
person).  Every run holds the organization's lock (:data:`~connector.store.lock.ORGANIZATION_LOCK`,
a PostgreSQL advisory lock, released when the worker's session ends), taken by
:func:`connector.run.sync.sync_directory` itself, so a CLI sync and a push request wait on it too;
when another run holds it the task goes back to the queue (``org_busy``) for a few seconds, so the
workers take other organizations' directories meanwhile.  Before the first task, the
process installs the shared request budget (:mod:`connector.workers.budget`) when there is Redis,
and the request counter of the metrics.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import threading
import time
from typing import Any

import redis
from celery import Celery
from celery import Task
from celery.exceptions import SoftTimeLimitExceeded

from connector import log_context
from connector.api.opening import open_connector
from connector.api.opening import open_store
from connector.config.loader import load_config_file
from connector.delivery.deliverer import Deliverer
from connector.errors import ConnectorError
from connector.errors import OrganizationBusyError
from connector.errors import RunInProgressError
from connector.net import shared_budget
from connector.ops import metrics
from connector.vault import Vault
from connector.workers.budget import RedisBudget
from connector.workers.marks import Marks
from connector.workers.settings import WorkerSettings

log = logging.getLogger(__name__)

RETRY_SECONDS = (0.5, 2.0)
"""A task whose organization is busy is sent again after a random delay in this range."""

_prepared = threading.Lock()
_process_state: dict[str, Any] = {}


def register(app: Celery) -> None:
    """Register the sync task (:data:`~connector.workers.app.SYNC_TASK`) and the delivery task
    (:data:`~connector.workers.app.DELIVER_TASK`) on ``app``."""
    from connector.workers.app import DELIVER_TASK
    from connector.workers.app import SYNC_TASK

    @app.task(name=DELIVER_TASK, bind=True)
    def deliver_webhooks(task: Task) -> dict[str, Any]:
        return run_delivery(task.app.conf.idp_connector)

    @app.task(name=SYNC_TASK, bind=True, max_retries=None)
    def sync_directory(task: Task, org: str, directory_id: str) -> dict[str, Any]:
        settings: WorkerSettings = task.app.conf.idp_connector
        summary = run_task(settings, org, directory_id)
        if summary["outcome"] == "org_busy":
            raise task.retry(countdown=random.uniform(*RETRY_SECONDS))
        return summary


def run_delivery(settings: WorkerSettings) -> dict[str, Any]:
    """One pass of webhook deliveries over every organization of the store: what ``idp-connector
    deliver --once`` does (the endpoints' leases keep two passes, in two workers, apart)."""
    whole = load_config_file(settings.config_path, secrets=False)
    store = open_store(whole, upgrade=False)
    try:
        if store.events_waiting() == 0:  # no endpoint, or nothing for one: no key needed
            return {"outcome": "nothing_waiting"}
        try:
            stats = Deliverer(store, Vault.from_environment()).run_once()
        except ConnectorError as exc:  # no key for the endpoints' secrets, the store down: said
            log.error("webhook delivery: %s", exc)
            return {"outcome": "failed", "error": str(exc)}
    finally:
        store.close()
    return {"outcome": "delivered", **dataclasses.asdict(stats)}


def prepare_process(settings: WorkerSettings) -> None:
    """Install the shared budget (with Redis) and the request counter, once per process."""
    with _prepared:
        if _process_state.get("settings") == settings:
            return
        _process_state["settings"] = settings
        shared_budget.listen(metrics.count_request)
        if settings.shared_redis:
            budget = RedisBudget.from_url(
                settings.shared_redis, prefix=settings.prefix, default_per_minute=settings.default_limit
            )
            shared_budget.install(budget)
            _process_state["marks"] = Marks(budget.client, prefix=settings.prefix)


def run_task(settings: WorkerSettings, org: str, directory_id: str) -> dict[str, Any]:
    """Sync ``directory_id`` of ``org``; the run's summary (and its metrics counted)."""
    prepare_process(settings)
    started = time.perf_counter()
    with log_context.about(org, directory_id):
        summary = {"outcome": "failed"}
        try:
            summary = _sync(settings, org, directory_id)
        finally:
            marks: Marks | None = _process_state.get("marks")
            if marks is not None and summary["outcome"] != "org_busy":
                _finished(marks, org, directory_id)
        if summary["outcome"] == "org_busy":
            return summary
        summary.setdefault("seconds", round(time.perf_counter() - started, 3))
        metrics.record_run(summary)
        with log_context.running(summary.get("run_id")):  # the line is about the run it ends
            log.info(
                "directory %s of %s: %s in %.1fs",
                directory_id,
                org,
                summary["outcome"],
                summary["seconds"],
            )
    return summary


def _sync(settings: WorkerSettings, org: str, directory_id: str) -> dict[str, Any]:
    base: dict[str, Any] = {"org": org, "directory_id": directory_id}
    try:
        with open_connector(settings.config_path, org=org, secrets_of=directory_id) as connector:
            if directory_id in connector.disabled:
                return {**base, "outcome": "disabled"}
            if directory_id not in connector.directory_ids():
                return {**base, "outcome": "gone"}
            report = connector.sync(directory_id)
    except OrganizationBusyError:
        return {**base, "outcome": "org_busy"}
    except RunInProgressError:
        return {**base, "outcome": "busy"}
    except SoftTimeLimitExceeded:
        log.error("directory %s of %s: stopped at the soft time limit", directory_id, org)
        return {**base, "outcome": "timeout"}
    except ConnectorError as exc:
        log.error("directory %s of %s failed: %s", directory_id, org, exc)
        return {**base, "outcome": "failed", "error": str(exc)}
    return {
        **base,
        "outcome": report.outcome,
        "run_id": report.run_id,
        "seconds": round(report.seconds, 3),
        "requests": report.requests,
        "counts": dict(report.counts),
    }


def _finished(marks: Marks, org: str, directory_id: str) -> None:
    """Clear the directory's going mark; a Redis out of reach leaves it to its time-to-live."""
    try:
        marks.finished(org, directory_id)
    except redis.RedisError as exc:
        log.warning("directory %s of %s: its going mark stays until it expires (%s)", directory_id, org, exc)
