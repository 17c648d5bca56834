"""Fixtures of the workers' tests: the real Redis and RabbitMQ, as ``pg_server`` is the real PostgreSQL.

``CONNECTOR_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/0``) and
``CONNECTOR_TEST_AMQP_URL`` (default ``amqp://guest:guest@127.0.0.1:5672//``).  Without a server
the tests that need it skip and say why; with ``CI`` set they fail instead (``.ci/run`` starts
both where they are installed).  Every test gets a key prefix and a queue name of its own, so
tests sharing one Redis never see each other's budgets, schedules or tasks.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import redis

REDIS_URL = os.environ.get("CONNECTOR_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
AMQP_URL = os.environ.get("CONNECTOR_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")


def _absent(what: str, reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what}: {reason} (CI is set, so this is a failure, not a skip)")
    pytest.skip(f"{what}: {reason}")


@pytest.fixture(scope="session")
def redis_server() -> str:
    """The Redis URL, once the server has answered PING."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        _absent(f"Redis at {REDIS_URL}", f"does not answer: {exc}")
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture(scope="session")
def rabbitmq_server() -> str:
    """The AMQP URL, once RabbitMQ's port accepts a connection."""
    parts = urlsplit(AMQP_URL)
    try:
        socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5672), timeout=3).close()
    except OSError as exc:
        _absent(f"RabbitMQ at {parts.hostname}:{parts.port or 5672}", f"does not answer: {exc}")
    return AMQP_URL


@pytest.fixture
def prefix(redis_server: str) -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    name = f"idpc-test-{uuid.uuid4().hex[:10]}"
    yield name
    client = redis.Redis.from_url(redis_server)
    try:
        keys = list(client.scan_iter(f"{name}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def redis_client(redis_server: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_server)
    yield client
    client.close()
