"""The Flask app factory: one directory, three dialects, the admin plane, faults and limits.

``create_app(directory, config=...)`` registers the Okta, Graph and SCIM
blueprints, the token endpoints (``mock_idp.oauth.views``) and ``/_admin``, and
stores a :class:`~mock_idp.context.MockIdp` in ``app.extensions["mock_idp"]``.

Config keys (all optional)::

    ADMIN_TOKEN   token for /_admin (default: derived from the directory's seed)
    BASE_URL      how clients reach the mock (set by MockIdpServer)
    RATE_LIMITS   {"okta": 600, "okta:users": 100, "graph": 2000}  (per minute)
    FAULTS        [{"kind": "status", "path": "^/api/v1/users$", "count": 2}, ...]
    DIALECT_MODULES  modules (or objects) with ``blueprint`` and ``renderer``
    DEFAULT_CREDENTIALS  add the seed's default clients/tokens when none exist (True)

Every request to a dialect path passes the rate limiter and the fault rules
first (``before_request``); every answer of a dialect gets that dialect's
rate-limit headers through ``renderer.decorate`` (``after_request``).
"""

from __future__ import annotations

import importlib
import json
import re
import secrets
import socket
import time
from collections.abc import Iterable
from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask import Response
from flask import g
from flask import request

from mock_idp.admin import views as admin
from mock_idp.context import DialectRenderer
from mock_idp.context import MockIdp
from mock_idp.context import current
from mock_idp.context import dialect_for_path
from mock_idp.faults import FaultEngine
from mock_idp.faults import FaultRule
from mock_idp.faults import RateLimiter
from mock_idp.state.credentials import add_default_credentials
from mock_idp.state.directory import Directory

DEFAULT_DIALECT_MODULES = (
    "mock_idp.okta.views",
    "mock_idp.graph.views",
    "mock_idp.scim.views",
    "mock_idp.oauth.views",
)

_SLASHES = re.compile(r"//+")

SOCKET_ENVIRON_KEY = "mock_idp.socket"
"""Where :class:`~mock_idp.server.MockIdpServer` puts the connection's socket in the WSGI environ."""


class DroppedConnection(ConnectionAbortedError):
    """A ``drop`` fault where the server gives no socket to close (e.g. Flask's test client)."""


class CollapseSlashes:
    """WSGI middleware: ``/v1.0//users`` -> ``/v1.0/users``.

    Graph tolerates doubled slashes and the Graph SDK produces them when its
    base URL ends in a slash (idp-wire-protocols.md §4).
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if "//" in path:
            environ["PATH_INFO"] = _SLASHES.sub("/", path)
        return self.app(environ, start_response)


def default_admin_token() -> str:
    """The admin token a mock gets when none is configured: random, so that knowing the seed (or the
    fixture) gives no way into the control plane; ``serve`` prints it."""
    return "admin-" + secrets.token_hex(16)


def create_app(directory: Directory | None = None, *, config: Mapping[str, Any] | None = None) -> Flask:
    """A mock IdP app serving ``directory`` (an empty seed-0 directory if None)."""
    config = dict(config or {})
    directory = directory if directory is not None else Directory()
    credentials = add_default_credentials(directory) if config.get("DEFAULT_CREDENTIALS", True) else None
    limiter = RateLimiter(config.get("RATE_LIMITS") or {})
    engine = FaultEngine([FaultRule.from_dict(rule) for rule in config.get("FAULTS") or ()], limiter)

    app = Flask("mock_idp")
    app.url_map.strict_slashes = False
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.wsgi_app = CollapseSlashes(app.wsgi_app)  # type: ignore[method-assign]

    renderers: dict[str, DialectRenderer] = {}
    for entry in config.get("DIALECT_MODULES") or DEFAULT_DIALECT_MODULES:
        module = importlib.import_module(entry) if isinstance(entry, str) else entry
        app.register_blueprint(module.blueprint)
        renderer = getattr(module, "renderer", None)
        if renderer is not None:
            renderers[renderer.dialect] = renderer
    app.register_blueprint(admin.blueprint)

    app.extensions["mock_idp"] = MockIdp(
        directory=directory,
        admin_token=config.get("ADMIN_TOKEN") or default_admin_token(),
        faults=engine,
        settings={
            "base_url": config.get("BASE_URL"),
            "tls": bool(config.get("TLS", False)),
            "renderers": renderers,
            "default_credentials": credentials,
        },
    )
    app.before_request(_before_request)
    app.after_request(_after_request)
    return app


def _before_request() -> Response | None:
    """Rate limit, then fault rules, for requests to a dialect path."""
    dialect = dialect_for_path(request.path)
    if dialect is None:
        return None
    mock = current()
    renderer: DialectRenderer | None = mock.settings["renderers"].get(dialect)
    engine: FaultEngine = mock.faults
    decision = engine.limiter.hit(dialect, request.path)
    g.mock_idp_rate = (decision.limit, decision.remaining, decision.reset_epoch)
    if renderer is None:
        return None
    if not decision.allowed:
        retry_after = decision.retry_after(engine.limiter.now())
        return renderer.rate_limited(
            limit=decision.limit, reset_epoch=decision.reset_epoch, retry_after=retry_after
        )
    for rule in engine.select(dialect, request.method, request.path):
        if rule.kind == "latency":
            time.sleep(rule.latency_ms / 1000)
        elif rule.kind == "truncate":
            g.truncate_page = True
        elif rule.kind == "rewrite":
            g.mock_idp_rewrites = [*g.get("mock_idp_rewrites", []), rule]
        elif rule.kind == "status":
            return renderer.error(rule.status, f"Injected fault: HTTP {rule.status}")
        elif rule.kind == "rate_limit":
            reset = int(engine.limiter.now()) + rule.retry_after
            g.mock_idp_rate = (decision.limit, 0, reset)
            return renderer.rate_limited(
                limit=decision.limit, reset_epoch=reset, retry_after=rule.retry_after
            )
        elif rule.kind == "drop":
            return _drop_connection()
    return None


def _drop_connection() -> Response:
    """Shut the client's socket so it gets no answer at all: the mock's server puts the socket in
    the environ (``SOCKET_ENVIRON_KEY``), as werkzeug's development server does (``flask run``)."""
    sock = request.environ.get(SOCKET_ENVIRON_KEY) or request.environ.get("werkzeug.socket")
    if sock is None:
        raise DroppedConnection("drop fault: no socket to close in this server")
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already gone
    return Response(status=500)  # never reaches the client: writing it fails and the server moves on


def _after_request(response: Response) -> Response:
    rewrites = g.get("mock_idp_rewrites")
    if rewrites and response.is_json:
        body = response.get_json()
        for rule in rewrites:
            body = rule.rewrite(body)
        response.set_data(json.dumps(body))
    dialect = dialect_for_path(request.path)
    rate = g.get("mock_idp_rate")
    if dialect is None or rate is None:
        return response
    renderer: DialectRenderer | None = current().settings["renderers"].get(dialect)
    if renderer is not None:
        limit, remaining, reset = rate
        renderer.decorate(response, limit=limit, remaining=remaining, reset_epoch=reset)
    return response
