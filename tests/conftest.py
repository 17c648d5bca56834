"""Shared fixtures: a product store on SQLite and on the real PostgreSQL.

``store`` is parametrised ``sqlite`` / ``postgresql``.  PostgreSQL runs at
``CONNECTOR_TEST_PG_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``);
every test gets a schema of its own, dropped afterwards.  Without a server
the PostgreSQL cases skip and say why; with ``CI`` set they fail instead.

``redis_server`` and ``rabbitmq_server`` are the real Redis and RabbitMQ of the workers' tests
(``CONNECTOR_TEST_REDIS_URL``, ``CONNECTOR_TEST_AMQP_URL``), skipped or failed as PostgreSQL is.

``rsa_key`` and ``fast_http`` serve the adapters' tests and the network layer's.

Hypothesis runs under one of two profiles: ``ci`` (with ``CI`` set, as in CI:
today's example counts, derandomized, as Hypothesis' own CI profile) and
``local`` (otherwise: a fifth of the examples).  ``HYPOTHESIS_PROFILE`` names
another.  Tests that set their own ``max_examples`` scale with it
(``hypothesis_profiles.examples``).  The report header names the profile.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from collections.abc import Iterator
from urllib.parse import quote
from urllib.parse import urlsplit

import pytest
import redis
from hypothesis import HealthCheck
from hypothesis import settings
from hypothesis_profiles import CI
from hypothesis_profiles import LOCAL
from joserfc.jwk import RSAKey
from sqlalchemy import create_engine
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from connector.net.settings import HttpSettings
from connector.store import Store

settings.register_profile(
    CI,
    settings.get_profile("default"),
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(LOCAL, settings.get_profile("default"), max_examples=20)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or (CI if os.environ.get("CI") else LOCAL))


def pytest_report_header(config: pytest.Config) -> str:
    active = settings()
    return (
        f"hypothesis profile: {settings.get_current_profile_name()} (max_examples={active.max_examples}, "
        f"derandomize={active.derandomize}; chosen by HYPOTHESIS_PROFILE, else by CI)"
    )


PG_URL = os.environ.get("CONNECTOR_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """The PostgreSQL URL, once the server has answered."""
    engine = create_engine(make_url(PG_URL), connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        reason = f"PostgreSQL at {make_url(PG_URL).render_as_string()} does not answer: {exc.orig}"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)")
        pytest.skip(reason)
    finally:
        engine.dispose()
    yield PG_URL


@pytest.fixture
def pg_urls(pg_server: str) -> Iterator[Callable[[], str]]:
    """A factory of URLs whose connections land in a fresh schema each, dropped afterwards."""
    admin = create_engine(make_url(pg_server))
    schemas: list[str] = []

    def make() -> str:
        schema = f"t_{uuid.uuid4().hex[:12]}"
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        schemas.append(schema)
        sep = "&" if "?" in pg_server else "?"
        return f"{pg_server}{sep}options={quote(f'-csearch_path={schema}')}"

    try:
        yield make
    finally:
        with admin.begin() as conn:
            for schema in schemas:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def pg_url(pg_urls: Callable[[], str]) -> str:
    """A URL whose connections land in a fresh schema of their own."""
    return pg_urls()


@pytest.fixture
def sqlite_url(tmp_path: os.PathLike[str]) -> str:
    return f"sqlite:///{tmp_path}/store.sqlite"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest) -> str:
    """A database URL for an empty store, on each backend."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("pg_url")


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """An open store at the newest schema, on each backend."""
    opened = Store.open(store_url)
    try:
        yield opened
    finally:
        opened.close()


REDIS_URL = os.environ.get("CONNECTOR_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
AMQP_URL = os.environ.get("CONNECTOR_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")


def _absent(what: str, reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what}: {reason} (CI is set, so this is a failure, not a skip)")
    pytest.skip(f"{what}: {reason}")


@pytest.fixture(scope="session")
def redis_server() -> str:
    """The Redis URL (``CONNECTOR_TEST_REDIS_URL``), once the server has answered PING; skips
    without one, fails with ``CI`` set (as ``pg_server``)."""
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
    """The AMQP URL (``CONNECTOR_TEST_AMQP_URL``), once RabbitMQ's port accepts a connection."""
    parts = urlsplit(AMQP_URL)
    try:
        socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5672), timeout=3).close()
    except OSError as exc:
        _absent(f"RabbitMQ at {parts.hostname}:{parts.port or 5672}", f"does not answer: {exc}")
    return AMQP_URL


@pytest.fixture(scope="session")
def rsa_key() -> RSAKey:
    return RSAKey.generate_key(2048, private=True)


@pytest.fixture
def fast_http() -> HttpSettings:
    return HttpSettings(max_retries=2, backoff_base=0.01, backoff_max=0.05, max_total_wait=30.0)
