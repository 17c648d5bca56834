"""A threaded werkzeug server in a background thread, for tests and in-process demos.

::

    with MockIdpServer(generate(users=50, groups=5, seed=1), tls=True) as server:
        requests.get(f"{server.url}/api/v1/users", headers=..., verify=server.ca_file)

It binds a free port (``port=0``), tells the app its base URL (Okta and
Graph build absolute next links from it), and stops cleanly.
"""

from __future__ import annotations

import shutil
import ssl
import tempfile
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

from flask import Flask
from werkzeug.serving import BaseWSGIServer
from werkzeug.serving import WSGIRequestHandler
from werkzeug.serving import make_server

from mock_idp.app import create_app
from mock_idp.state.directory import Directory
from mock_idp.tls import make_certificates


class _QuietHandler(WSGIRequestHandler):
    """No access log lines on stderr (``log_requests=True`` brings them back), and one ``Date``
    header an answer: the server's, not a second one from a dialect that sets its own (Okta's
    rate-limit headers are read against ``Date``, so its blueprint sets one for test clients)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if getattr(self.server, "log_requests", False):
            super().log_request(code, size)

    def send_response(self, code: int, message: str | None = None) -> None:
        self._dated = False
        super().send_response(code, message)

    def send_header(self, keyword: str, value: str) -> None:
        if keyword.lower() == "date":
            if getattr(self, "_dated", False):
                return
            self._dated = True
        super().send_header(keyword, value)


class MockIdpServer:
    """Serve a mock IdP app (or a directory, wrapped with :func:`create_app`) on ``host:port``.

    ``tls=True`` makes a throwaway CA and server certificate (see
    :mod:`mock_idp.tls`) in ``cert_dir`` (a temporary directory, removed on
    stop, if None); ``ca_file`` is the CA clients must trust.
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
        ssl_context = None
        if tls:
            if cert_dir is None:
                self._own_cert_dir = cert_dir = tempfile.mkdtemp(prefix="mock-idp-tls-")
            files = make_certificates(cert_dir, [host])
            ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ssl_context.load_cert_chain(files.cert_file, files.key_file)
            self.ca_file = files.ca_file
        self._server: BaseWSGIServer = make_server(
            host, port, self.app, threaded=True, request_handler=_QuietHandler, ssl_context=ssl_context
        )
        self._server.log_requests = log_requests  # type: ignore[attr-defined]
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
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="mock-idp",
                daemon=True,
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until :meth:`stop` (from another thread) or Ctrl-C."""
        self._server.serve_forever()

    def stop(self) -> None:
        """Stop serving, close the socket, remove the temporary certificates."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self._server.server_close()
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
