"""Fixtures of the workers' tests, over ``redis_server`` (tests/conftest.py): every test gets a key
prefix of its own, so tests sharing one Redis never see each other's budgets or schedule marks."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis


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
