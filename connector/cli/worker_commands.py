"""``idp-connector worker`` and ``idp-connector scheduler``: the two processes of the workers.

A worker is a Celery worker with the connector's app (:mod:`connector.workers.app`): it takes
directory syncs from the queue, each in a child process under the task's time limits.  The
scheduler enqueues each scheduled directory of the store when its schedule says
(:mod:`connector.workers.scheduler`).  Both read the broker, Redis and queue from their options
or the environment (docs/operations.md); neither prints or logs a secret.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import socket
import sys
import tempfile
import threading
from pathlib import Path
from types import FrameType

import click

from connector.cli.common import AppContext
from connector.cli.common import pass_app
from connector.workers.settings import BROKER_ENV
from connector.workers.settings import DEFAULT_BROKER
from connector.workers.settings import DEFAULT_QUEUE
from connector.workers.settings import DEFAULT_TIME_LIMIT
from connector.workers.settings import QUEUE_ENV
from connector.workers.settings import REDIS_ENV
from connector.workers.settings import WorkerSettings

log = logging.getLogger("connector.cli.workers")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
PREFIX_ENV = "CONNECTOR_REDIS_PREFIX"
JITTER_ENV = "CONNECTOR_SCHEDULER_JITTER"


def _shared_options(command: click.Command) -> click.Command:
    for option in reversed(
        [
            click.option("--broker", envvar=BROKER_ENV, default=DEFAULT_BROKER, show_default=True,
                         metavar="URL", help=f"The Celery broker: redis:// or amqp:// (env {BROKER_ENV})."),
            click.option("--redis", "redis_url", envvar=REDIS_ENV, metavar="URL",
                         help=f"Redis of the request budget and the schedule (env {REDIS_ENV}; "
                         "default: the broker, when it is Redis)."),
            click.option("--queue", envvar=QUEUE_ENV, default=DEFAULT_QUEUE, show_default=True,
                         help=f"The queue of the sync tasks (env {QUEUE_ENV})."),
            click.option("--prefix", envvar=PREFIX_ENV, default="idpc", show_default=True,
                         help=f"Prefix of the Redis keys (env {PREFIX_ENV})."),
            click.option("--time-limit", type=click.FloatRange(min=10), default=DEFAULT_TIME_LIMIT,
                         show_default=True, help="Seconds a run may take (a soft stop a minute before)."),
            click.option("--log-json", is_flag=True,
                         help="Log lines as JSON with org, directory and run id."),
        ]
    ):  # fmt: skip
        command = option(command)
    return command


def _settings(
    app: AppContext, broker: str, redis_url: str | None, queue: str, prefix: str, time_limit: float
) -> WorkerSettings:
    return WorkerSettings(
        config_path=str(Path(app.config_path).resolve()),
        broker_url=broker,
        redis_url=redis_url,
        queue=queue,
        prefix=prefix,
        time_limit=time_limit,
    )


def _json_logs(log_json: bool) -> None:
    if log_json:
        from connector.ops.logs import use_json_logs

        use_json_logs()


@click.command("worker")
@_shared_options
@click.option("--concurrency", "-n", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Runs at once (child processes).")  # fmt: skip
@click.option("--default-limit", type=click.IntRange(min=1), default=600, show_default=True,
              help="Requests a minute assumed of an IdP until it announces its limit.")  # fmt: skip
@click.option("--name", default=None, help="The worker's node name (default: worker-<pid>@<host>).")
@click.option("--metrics-port", type=click.IntRange(0, 65535), default=None,
              help="Serve Prometheus metrics on this port.")  # fmt: skip
@pass_app
def worker(
    app: AppContext,
    broker: str,
    redis_url: str | None,
    queue: str,
    prefix: str,
    time_limit: float,
    log_json: bool,
    concurrency: int,
    default_limit: int,
    name: str | None,
    metrics_port: int | None,
) -> None:
    """Run directory syncs from the queue until SIGTERM or Ctrl-C (docs/operations.md)."""
    if metrics_port is not None and not os.environ.get(MULTIPROC_ENV):
        # prometheus-client's multiprocess mode must be chosen before it is imported: start again with it
        os.environ[MULTIPROC_ENV] = tempfile.mkdtemp(prefix="idp-connector-metrics-")
        os.execv(sys.executable, [sys.executable, "-m", "connector", *sys.argv[1:]])
    _json_logs(log_json)
    logging.getLogger("connector").setLevel(logging.INFO if app.verbose == 0 else logging.DEBUG)
    from connector.workers.app import create_celery
    from connector.workers.tasks import prepare_process

    settings = dataclasses.replace(
        _settings(app, broker, redis_url, queue, prefix, time_limit), default_limit=default_limit
    )
    if metrics_port is not None:
        _serve_metrics(metrics_port)
    prepare_process(settings)
    celery = create_celery(settings)
    node = name or f"worker-{os.getpid()}@{socket.gethostname()}"
    budget = "Redis" if settings.shared_redis else "in-process pacing only (no Redis)"
    click.echo(
        f"idp-connector worker {node}: queue {queue}, {concurrency} at once, budget: {budget}", err=True
    )
    argv = ["worker", "--loglevel", "INFO", "--concurrency", str(concurrency), "--pool", "prefork",
            "--queues", queue, "--hostname", node, "--without-gossip", "--without-mingle"]  # fmt: skip
    celery.worker_main(argv)


def _serve_metrics(port: int) -> None:
    from prometheus_client import CollectorRegistry
    from prometheus_client import multiprocess
    from prometheus_client import start_http_server

    directory = Path(os.environ[MULTIPROC_ENV])
    for stale in directory.glob("*.db"):
        stale.unlink()
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    start_http_server(port, registry=registry)
    click.echo(f"idp-connector worker: metrics on http://0.0.0.0:{port}/metrics", err=True)


@click.command("scheduler")
@_shared_options
@click.option("--jitter", type=click.FloatRange(min=0), default=60.0, show_default=True, envvar=JITTER_ENV,
              help="Start each directory up to this many seconds after its cron time "
              f"or its first sight (env {JITTER_ENV}).")  # fmt: skip
@click.option("--refresh", type=click.FloatRange(min=1), default=30.0, show_default=True,
              help="Seconds between two readings of the scheduled directories.")  # fmt: skip
@click.option("--deliver-every", type=click.FloatRange(min=0), default=5.0, show_default=True,
              help="Seconds between two webhook delivery tasks (0: none; run deliver instead).")  # fmt: skip
@click.option("--once", is_flag=True, help="Send what is due now, then stop (for cron and scripts).")
@pass_app
def scheduler(
    app: AppContext,
    broker: str,
    redis_url: str | None,
    queue: str,
    prefix: str,
    time_limit: float,
    log_json: bool,
    jitter: float,
    refresh: float,
    deliver_every: float,
    once: bool,
) -> None:
    """Enqueue each scheduled directory when its schedule says, until SIGTERM or Ctrl-C."""
    _json_logs(log_json)
    logging.getLogger("connector").setLevel(logging.INFO if app.verbose == 0 else logging.DEBUG)
    import redis

    from connector.api.opening import open_store
    from connector.config.loader import load_config_file
    from connector.workers.app import DELIVER_TASK
    from connector.workers.app import SYNC_TASK
    from connector.workers.app import create_celery
    from connector.workers.marks import Marks
    from connector.workers.scheduler import Scheduler

    settings = _settings(app, broker, redis_url, queue, prefix, time_limit)
    if not settings.shared_redis:
        raise click.UsageError("the scheduler keeps its marks in Redis: give --redis (or a redis:// broker)")
    whole = load_config_file(app.config_path, secrets=False)
    celery = create_celery(settings)
    client = redis.Redis.from_url(settings.shared_redis)
    store = open_store(whole)
    try:

        def send(org: str, directory_id: str) -> None:
            celery.send_task(SYNC_TASK, args=[org, directory_id], queue=queue)

        def deliver() -> None:
            celery.send_task(DELIVER_TASK, queue=queue)

        schedule = Scheduler(
            store,
            Marks(client, prefix=prefix),
            send,
            settings,
            jitter=jitter,
            refresh=refresh,
            deliver=deliver,
            deliver_every=deliver_every,
        )
        if once:
            sent = schedule.tick()
            click.echo(f"idp-connector scheduler: {len(sent)} directories enqueued", err=True)
            return
        stop = threading.Event()

        def _stop(signum: int, frame: FrameType | None) -> None:
            stop.set()

        previous = signal.signal(signal.SIGTERM, _stop)
        click.echo(f"idp-connector scheduler: queue {queue}; Ctrl-C stops it", err=True)
        try:
            schedule.run(stop)
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
        click.echo(f"idp-connector scheduler: stopped ({schedule.tally.counts})", err=True)
    finally:
        store.close()
        client.close()
        celery.close()
