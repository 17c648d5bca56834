"""Layered fixtures for the mock IdP: clock -> directory -> app -> client / live server.

The ``app`` here carries three tiny test dialects (``/api/v1/...``, ``/v1.0/...``,
``/scim/v2/...``) with a recording renderer, so the fault engine, the rate
limiter and the admin plane are tested apart from the real dialect modules.
Dialect tests override ``directory`` with a seed of their own and build on
``real_app`` (the whole mock, one per module) or ``blueprint_app`` (only the
blueprints under test); ``client_for`` gives a client that sends credentials.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timezone
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Blueprint
from flask import Flask
from flask import Response
from flask import g
from flask import jsonify
from flask.testing import FlaskClient

from mock_idp.app import create_app
from mock_idp.context import MockIdp
from mock_idp.server import MockIdpServer
from mock_idp.state.directory import Directory
from mock_idp.state.generator import generate

ADMIN_TOKEN = "test-admin-token"
NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)
T0 = datetime(2026, 1, 5, 9, 0, 0, tzinfo=timezone.utc)


class Clock:
    """A clock for ``Directory(clock=...)`` that moves only when a test sets ``now``."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class RecordingRenderer:
    """A dialect renderer that answers plainly and remembers what it decorated."""

    dialect: str
    decorated: list[tuple[int, int, int]] = field(default_factory=list)

    def error(self, status: int, message: str, *, code: str | None = None) -> Response:
        response = jsonify({"dialect": self.dialect, "status": status, "message": message, "code": code})
        response.status_code = status
        return response

    def rate_limited(self, *, limit: int, reset_epoch: int, retry_after: int) -> Response:
        response = self.error(429, "rate limited")
        response.headers["Retry-After"] = str(retry_after)
        response.headers["X-Test-Reset"] = str(reset_epoch)
        return response

    def decorate(self, response: Response, *, limit: int, remaining: int, reset_epoch: int) -> None:
        self.decorated.append((limit, remaining, reset_epoch))
        response.headers["X-Test-Limit"] = str(limit)
        response.headers["X-Test-Remaining"] = str(remaining)
        response.headers["X-Test-Reset"] = str(reset_epoch)


def _test_dialect(name: str, prefix: str) -> SimpleNamespace:
    blueprint = Blueprint(f"test_{name}", __name__, url_prefix=prefix)

    @blueprint.get("/ping")
    def ping() -> Any:
        return {"dialect": name}

    @blueprint.get("/users")
    def users() -> Any:
        # a two-page listing whose next link a truncate fault removes
        return {"page": 1, "next": None if g.get("truncate_page") else f"{prefix}/users?page=2"}

    return SimpleNamespace(blueprint=blueprint, renderer=RecordingRenderer(name))


@pytest.fixture
def dialects() -> list[SimpleNamespace]:
    return [
        _test_dialect("okta", "/api/v1"),
        _test_dialect("graph", "/v1.0"),
        _test_dialect("scim", "/scim/v2"),
    ]


@pytest.fixture
def directory() -> Directory:
    """A small seeded directory (40 users, 6 groups)."""
    return generate(40, 6, seed=11, now=NOW)


@pytest.fixture
def app_config(dialects: list[SimpleNamespace]) -> dict[str, Any]:
    return {"ADMIN_TOKEN": ADMIN_TOKEN, "DIALECT_MODULES": dialects}


@pytest.fixture
def app(directory: Directory, app_config: dict[str, Any]) -> Flask:
    app = create_app(directory, config=app_config)
    app.testing = True
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def admin_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def live_server(app: Flask) -> Iterator[MockIdpServer]:
    """The app on a free local port, in a background thread."""
    with MockIdpServer(app) as server:
        yield server


@pytest.fixture
def clock_start() -> datetime:
    """Where ``clock`` starts; a module overrides it to date its directory elsewhere."""
    return T0


@pytest.fixture
def clock(clock_start: datetime) -> Clock:
    return Clock(clock_start)


@pytest.fixture(scope="module")
def mock_app() -> Flask:
    """The whole mock without default credentials, built once per module (one costs ~50 ms)."""
    return create_app(Directory(), config={"DEFAULT_CREDENTIALS": False})


@pytest.fixture
def real_app(mock_app: Flask, directory: Directory) -> Flask:
    """The module's whole mock, serving this test's ``directory``."""
    mock_app.extensions["mock_idp"].directory = directory
    return mock_app


@pytest.fixture
def blueprint_app(directory: Directory) -> Callable[..., Flask]:
    """Make a bare app serving only the given blueprints over ``directory`` (no faults, no limits)."""

    def make(*blueprints: Blueprint) -> Flask:
        app = Flask("mock-idp-blueprints")
        for blueprint in blueprints:
            app.register_blueprint(blueprint)
        app.extensions["mock_idp"] = MockIdp(directory, admin_token=ADMIN_TOKEN)
        return app

    return make


@pytest.fixture
def client_for() -> Callable[[Flask, str], FlaskClient]:
    """Make a test client of ``app`` that sends ``Authorization: <authorization>`` every time."""

    def make(app: Flask, authorization: str) -> FlaskClient:
        client = app.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = authorization
        return client

    return make
