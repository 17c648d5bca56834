"""What a worker and the scheduler are configured with: the broker, Redis, the queue, time limits.

Every value comes from the command line or its environment variable (docs/operations.md), so the
three processes of a deployment (``serve``, ``worker``, ``scheduler``) share one configuration
file (the store, the organizations) and one environment.
"""

from __future__ import annotations

from dataclasses import dataclass

BROKER_ENV = "CONNECTOR_BROKER_URL"
REDIS_ENV = "CONNECTOR_REDIS_URL"
QUEUE_ENV = "CONNECTOR_QUEUE"
DEFAULT_BROKER = "redis://127.0.0.1:6379/0"
DEFAULT_QUEUE = "idp-connector"
DEFAULT_TIME_LIMIT = 3600.0
"""Seconds a run may take before its worker process is killed (the soft limit stops it a minute before)."""


@dataclass(frozen=True)
class WorkerSettings:
    """The broker, the Redis of the shared state, and the task's habits."""

    config_path: str
    broker_url: str = DEFAULT_BROKER
    redis_url: str | None = None
    """Redis for the request budget and the scheduler's marks; None: the broker's, if it is Redis."""
    queue: str = DEFAULT_QUEUE
    prefix: str = "idpc"
    """Prefix of every Redis key (budgets, schedule marks): deployments sharing one Redis keep apart."""
    time_limit: float = DEFAULT_TIME_LIMIT
    default_limit: int = 600
    """Requests a minute the shared budget assumes of an IdP until it announces its limit."""

    @property
    def shared_redis(self) -> str | None:
        """The Redis URL of the shared state, or None when there is none."""
        if self.redis_url:
            return self.redis_url
        if self.broker_url.startswith(("redis://", "rediss://", "unix://")):
            return self.broker_url
        return None

    @property
    def soft_time_limit(self) -> float:
        return max(1.0, self.time_limit - min(60.0, self.time_limit / 10))
