"""``idp-connector serve``: the push service under waitress as a real subprocess on a free port."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.cli.test_cli_push_tokens import config  # noqa: F401  (the fixture)
from tests.cli.test_cli_push_tokens import run

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"


class Served:
    """An ``idp-connector serve --port 0`` child and the banner it printed."""

    def __init__(self, config_path: Path, *args: str, verbose: int = 0) -> None:
        loud = ["-" + "v" * verbose] if verbose else []
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "connector",
                "--config",
                str(config_path),
                *loud,
                "serve",
                "--port",
                "0",
                *args,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        watchdog = threading.Timer(60, self.proc.kill)  # a child that never prints must not hang the run
        watchdog.start()
        lines = []
        for line in self.proc.stdout:
            lines.append(line.rstrip("\n"))
            if "Ctrl-C" in line:
                break
        watchdog.cancel()
        self.banner = "\n".join(lines)
        found = re.match(r"idp-connector serving on (http://\S+)", self.banner)
        if not found:
            self.proc.kill()
            _, err = self.proc.communicate()
            raise AssertionError(self.banner + err)
        self.url = found.group(1)

    def stop(self, sig: int) -> tuple[int, str, str]:
        self.proc.send_signal(sig)
        out, err = self.proc.communicate(timeout=30)
        return self.proc.returncode, out, err


@pytest.fixture
def started() -> Iterator[list[Served]]:
    children: list[Served] = []
    yield children
    for child in children:
        if child.proc.poll() is None:
            child.proc.kill()
            child.proc.communicate()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "ctrl-c"])
def test_serve_answers_with_issued_tokens_and_stops_cleanly(
    config: Path,  # noqa: F811
    started: list[Served],
    sig: int,
) -> None:
    token = run(config, "directories", "token", "hook").stdout.strip()
    served = Served(config, "--threads", "2")
    started.append(served)
    base = f"{served.url}/scim/v2/acme/hook"
    assert f"  SCIM base: {base}/" in served.banner and token not in served.banner
    auth = {"Authorization": f"Bearer {token}"}
    body = {"schemas": [USER_SCHEMA], "userName": "ann@example.com", "active": True}
    created = requests.post(f"{base}/Users", json=body, headers=auth, timeout=30)
    assert created.status_code == 201, created.text
    assert created.headers["Location"].startswith(f"{base}/Users/")
    assert (
        requests.get(f"{base}/Users", headers={"Authorization": "Bearer nope"}, timeout=30).status_code == 401
    )
    assert requests.get(f"{served.url}/scim/v2/acme/main/Users", headers=auth, timeout=30).status_code == 404
    code, out, err = served.stop(sig)
    assert code == 0 and "stopped" in err
    assert token not in out + err


def test_serve_with_debug_logging_never_logs_the_token(config: Path, started: list[Served]) -> None:  # noqa: F811
    token = run(config, "directories", "token", "hook").stdout.strip()
    served = Served(config, verbose=2)
    started.append(served)
    base = f"{served.url}/scim/v2/acme/hook"
    for header in (f"Bearer {token}", token, f"Bearer {token}x"):
        requests.get(f'{base}/Users?filter=userName eq "x"', headers={"Authorization": header}, timeout=30)
    code, out, err = served.stop(signal.SIGTERM)
    assert code == 0
    secret = token.rsplit("_", 1)[1]
    assert secret not in out and secret not in err


def test_serve_refuses_a_port_in_use(config: Path, started: list[Served]) -> None:  # noqa: F811
    served = Served(config)
    started.append(served)
    port = served.url.rsplit(":", 1)[1]
    refused = subprocess.run(
        [sys.executable, "-m", "connector", "--config", str(config), "serve", "--port", port],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 1 and "cannot listen" in refused.stderr
    served.stop(signal.SIGTERM)
