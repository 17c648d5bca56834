"""The mock IdP in its own process (``python -m mock_idp serve``), and its admin plane.

The benchmark never imports the mock's state: it starts ``serve`` on a free
port, reads the base URL from the banner's first line, and talks to it over
HTTP only, so the connector's process holds nothing of the mock.
"""

from __future__ import annotations

import dataclasses
import secrets
import signal
import subprocess
import sys
import time
from typing import Any

import requests

from mock_idp.state.credentials import default_credentials

BANNER = "mock-idp listening on "


MOCK_DIALECTS = ("okta", "graph", "scim")
UNLIMITED_PER_MINUTE = 100_000_000
"""The benchmark's mock budget: its default (10,000 a minute) is real enough to pace a 1M-user
read, and a floor read, which never retries, would stop at the first 429."""


class MockProcess:
    """``mock-idp serve --users N --groups M --seed S`` on a free port; a context manager."""

    def __init__(self, users: int, groups: int, seed: int, *, startup_timeout: float = 900.0) -> None:
        self.users, self.groups, self.seed = users, groups, seed
        self.admin_token = "bench-" + secrets.token_hex(12)
        self.startup_timeout = startup_timeout
        self.url = ""
        self.startup_seconds = 0.0
        self._proc: subprocess.Popen[str] | None = None
        self._credentials: dict[str, str] | None = None
        self._admin = requests.Session()
        self._admin.headers["Authorization"] = f"Bearer {self.admin_token}"

    def start(self) -> MockProcess:
        args = [sys.executable, "-m", "mock_idp", "serve", "--port", "0", "--seed", str(self.seed)]
        args += ["--users", str(self.users), "--groups", str(self.groups), "--admin-token", self.admin_token]
        for dialect in MOCK_DIALECTS:  # the mock's own per-minute budget is not what is measured
            args += ["--rate-limit", f"{dialect}={UNLIMITED_PER_MINUTE}"]
        started = time.perf_counter()
        self._proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1
        )
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()  # blocks until the directory is generated and the port bound
        if not line.startswith(BANNER):
            self.stop()
            raise RuntimeError(f"mock-idp serve did not start (first line {line!r})")
        self.url = line[len(BANNER) :].strip()
        self.startup_seconds = time.perf_counter() - started
        return self

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        # Ctrl-C first (the server's own path removes its temporary files), then firmer.
        for stop in (lambda: proc.send_signal(signal.SIGINT), proc.terminate, proc.kill):
            if proc.poll() is not None:
                break
            stop()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                continue
        if proc.stdout is not None:
            proc.stdout.close()
        self._admin.close()

    def __enter__(self) -> MockProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        """One ``/_admin`` call; a non-2xx answer raises with the mock's error detail."""
        response = self._admin.request(method, f"{self.url}/_admin{path}", json=body, timeout=600)
        if response.status_code >= 400:
            raise RuntimeError(f"{method} /_admin{path}: {response.status_code} {response.text[:300]}")
        return response.json() if response.content else None

    def reset(self) -> dict[str, Any]:
        """Regenerate the same directory (same sizes and seed): every dialect starts alike."""
        return self.admin("POST", "/reset", {"users": self.users, "groups": self.groups, "seed": self.seed})

    def credentials(self) -> dict[str, str]:
        """The default test credentials of the mock's seed (``DefaultCredentials`` as a dict)."""
        if self._credentials is None:
            self._credentials = dataclasses.asdict(default_credentials(self.seed))
        return self._credentials

    def state(self) -> dict[str, Any]:
        return self.admin("GET", "/state")
