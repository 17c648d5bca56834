"""The Celery app of the workers: one task per directory sync, acknowledged late.

A task's message is acknowledged only when the task is done (``task_acks_late``), and a worker
process that dies mid-run gives its message back (``task_reject_on_worker_lost``): another
worker runs it again, and the run lock plus the crash-safe apply make that rerun exact.  Each
worker takes one message at a time (``worker_prefetch_multiplier = 1``), so a long run holds up
no message behind it.  No result backend: a run's outcome is in the store's run records.

On Redis, a message whose worker vanished whole (not only its child process) comes back after the
transport's ``visibility_timeout``, set here above the task's hard time limit so that a run still
going is never handed out twice; RabbitMQ gives it back as soon as the connection drops.
"""

from __future__ import annotations

from celery import Celery

from connector.workers.settings import WorkerSettings

SYNC_TASK = "idp_connector.sync_directory"
DELIVER_TASK = "idp_connector.deliver_webhooks"
"""One pass of webhook deliveries over every organization (:mod:`connector.delivery`)."""


def create_celery(settings: WorkerSettings) -> Celery:
    """A Celery app for ``settings``; its tasks are registered by :mod:`connector.workers.tasks`."""
    from connector.workers import tasks

    app = Celery("idp_connector", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        result_backend=None,
        task_default_queue=settings.queue,
        task_time_limit=settings.time_limit,
        task_soft_time_limit=settings.soft_time_limit,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": int(settings.time_limit + 300)},
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        worker_send_task_events=False,
        task_serializer="json",
        accept_content=["json"],
    )
    app.conf.idp_connector = settings
    tasks.register(app)
    return app
