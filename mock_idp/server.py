"""The mock's HTTP server: cheroot in a background thread, for tests, QA and in-process demos.

::

    with MockIdpServer(generate(users=50, groups=5, seed=1), tls=True) as server:
        requests.get(f"{server.url}/api/v1/users", headers=..., verify=server.ca_file)

It binds a free port (``port=0``), tells the app its base URL (Okta and
Graph build absolute next links from it), and stops cleanly.

Why cheroot (CherryPy's WSGI server, ``cheroot.wsgi.Server``): real IdPs keep
connections alive, so the mock must too, or every request pays a new TCP
connection (and, with ``tls=True``, a new TLS handshake) that no client pays in
production, and the benchmarks measure the wrong thing. werkzeug's development
server closes the connection after every answer. cheroot speaks HTTP/1.1 with
keep-alive (idle connections wait in a selector, not in a worker thread), serves
TLS from an :class:`ssl.SSLContext` (``BuiltinSSLAdapter``), runs embedded in a
thread of the calling process with a clean ``stop()``, is pure Python and has
been maintained for over a decade. Waitress has no TLS; gunicorn and uvicorn
run their own processes or event loops rather than a thread of ours.

Two things the app needs from the server come through :class:`_Gateway`: the
connection's socket in the WSGI environ (``mock_idp.socket``: the ``drop``
fault shuts it so the client gets no answer at all), and the access log of
``log_requests=True``. cheroot adds a ``Date`` header only when the app set
none, so an answer has exactly one (Okta's blueprint sets its own: its SDK reads
the rate-limit headers against it).
"""

from __future__ import annotations

import logging
import shutil
import ssl
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from cheroot.ssl.builtin import BuiltinSSLAdapter
from cheroot.wsgi import Gateway_10
from cheroot.wsgi import Server
from flask import Flask

from mock_idp.app import SOCKET_ENVIRON_KEY
from mock_idp.app import create_app
from mock_idp.state.directory import Directory
from mock_idp.tls import make_certificates

log = logging.getLogger(__name__)

WORKER_THREADS = 16
"""Requests answered at once; an idle keep-alive connection holds no worker."""

IDLE_TIMEOUT = 10
"""Seconds an idle keep-alive connection (or a stalled read) is kept before the server closes it."""

POLL_INTERVAL = 0.05
"""Seconds between the serving loop's looks at whether :meth:`MockIdpServer.stop` was called."""


class _Gateway(Gateway_10):
    """WSGI 1.0 as cheroot serves it, plus the connection's socket in the environ and an
    access log line per request when the server's ``log_requests`` is set."""

    def get_environ(self) -> dict[str, Any]:
        environ: dict[str, Any] = super().get_environ()
        environ[SOCKET_ENVIRON_KEY] = self.req.conn.socket
        return environ

    def respond(self) -> None:
        if self.req.chunked_read:
            # cheroot skips an unread chunked body; the next request would start inside it
            self.req.close_connection = True
        try:
            super().respond()
        finally:
            if getattr(self.req.server, "log_requests", False):
                self._log_request()

    def _log_request(self) -> None:
        """One line on stderr, as werkzeug's development server writes it."""
        env = self.env
        target = env["PATH_INFO"] + (f"?{env['QUERY_STRING']}" if env.get("QUERY_STRING") else "")
        status = (self.req.status or b"-").decode("latin-1").split(" ", 1)[0]
        when = time.strftime("%d/%b/%Y %H:%M:%S")
        request_line = f"{env['REQUEST_METHOD']} {target} {env['SERVER_PROTOCOL']}"
        print(f'{env["REMOTE_ADDR"]} - - [{when}] "{request_line}" {status} -', file=sys.stderr, flush=True)


class _Server(Server):
    """cheroot's WSGI server with :class:`_Gateway`, its own diagnostics sent to
    :mod:`logging` (a client that hangs up during the TLS handshake is not news on stderr)."""

    log_requests = False
    bind_error: OSError | None = None

    def bind(self, family: int, type: int, proto: int = 0) -> Any:  # noqa: A002 (cheroot's names)
        """Bind as cheroot does, keeping the error: cheroot's own says only "No socket could be
        created", without the errno the CLI reports."""
        try:
            return super().bind(family, type, proto)
        except OSError as exc:
            self.bind_error = exc
            raise

    def error_log(self, msg: str = "", level: int = logging.INFO, traceback: bool = False) -> None:
        log.log(level, "%s", msg, exc_info=traceback)


class MockIdpServer:
    """Serve a mock IdP app (or a directory, wrapped with :func:`create_app`) on ``host:port``.

    ``tls=True`` makes a throwaway CA and server certificate (see
    :mod:`mock_idp.tls`) in ``cert_dir`` (a temporary directory, removed on
    stop, if None); ``ca_file`` is the CA clients must trust. The socket is bound
    (and the worker threads wait) from construction on: :meth:`stop` releases them,
    so use the server as a context manager or stop it.
    """

    def __init__(
        self,
        app_or_directory: Flask | Directory | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: bool = False,
        *,
        config: dict[str, Any] | None = None,
        cert_dir: str | Path | None = None,
        log_requests: bool = False,
    ) -> None:
        if isinstance(app_or_directory, Flask):
            self.app = app_or_directory
        else:
            self.app = create_app(app_or_directory, config=config)
        self.host = host
        self.tls = tls
        self.ca_file: Path | None = None
        self._own_cert_dir: str | None = None
        self._server = _Server((host, port), self.app, numthreads=WORKER_THREADS, timeout=IDLE_TIMEOUT)
        self._server.gateway = _Gateway
        self._server.keep_alive_conn_limit = None  # a mock refuses no client its keep-alive
        self._server.expiration_interval = POLL_INTERVAL
        self._server.log_requests = log_requests
        if tls:
            if cert_dir is None:
                self._own_cert_dir = cert_dir = tempfile.mkdtemp(prefix="mock-idp-tls-")
            files = make_certificates(cert_dir, [host])
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(files.cert_file, files.key_file)
            adapter = BuiltinSSLAdapter(str(files.cert_file), str(files.key_file))
            adapter.context = context
            self._server.ssl_adapter = adapter
            self.ca_file = files.ca_file
        try:
            self._server.prepare()  # binds the socket: the port is known from here on
        except OSError as exc:
            self._remove_own_certificates()
            raise (self._server.bind_error or exc) from None
        self.port: int = self._server.socket.getsockname()[1]
        url_host = f"[{host}]" if ":" in host else host
        self.url = f"{'https' if tls else 'http'}://{url_host}:{self.port}"
        mock = self.app.extensions["mock_idp"]
        mock.settings["base_url"] = self.url
        mock.settings["tls"] = tls
        mock.settings["ca_file"] = str(self.ca_file) if self.ca_file else None
        self._thread: threading.Thread | None = None

    @property
    def directory(self) -> Directory:
        """The directory the app serves now (``/_admin/reset`` swaps it)."""
        return self.app.extensions["mock_idp"].directory

    @property
    def admin_token(self) -> str:
        return self.app.extensions["mock_idp"].admin_token

    def start(self) -> MockIdpServer:
        """Serve in a daemon thread; returns at once."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._server.serve, name="mock-idp", daemon=True)
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until :meth:`stop` (from another thread) or Ctrl-C."""
        try:
            self._server.serve()
        except KeyboardInterrupt:
            pass

    def stop(self) -> None:
        """Stop serving, close the connections and the socket, remove the temporary certificates."""
        self._server.stop()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self._remove_own_certificates()

    def _remove_own_certificates(self) -> None:
        if self._own_cert_dir is not None:
            shutil.rmtree(self._own_cert_dir, ignore_errors=True)
            self._own_cert_dir = None

    def __enter__(self) -> MockIdpServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
