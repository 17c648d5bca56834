"""Layered fixtures for the mock IdP's core: directory -> app -> client / live server.

The app here carries three tiny test dialects (``/api/v1/...``, ``/v1.0/...``,
``/scim/v2/...``) with a recording renderer, so the fault engine, the rate
limiter and the admin plane are tested apart from the real dialect modules.
"""

from __future__ import annotations

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
from mock_idp.generator import generate
from mock_idp.server import MockIdpServer
from mock_idp.state import Directory

ADMIN_TOKEN = "test-admin-token"
NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)


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
