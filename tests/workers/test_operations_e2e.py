"""docs/operations.md's production shape, started as written: ``db upgrade``, ``serve``, two
``worker``s and a ``scheduler``, each a process with the environment the document names, over
PostgreSQL, Redis and the mock IdP.  Every scheduled directory is synced once; ``/healthz``,
``/readyz`` and ``/metrics`` answer on serve and the workers' metrics count the runs; the log
lines are JSON with the run's organization, directory and run id; SIGTERM stops every process."""

from __future__ import annotations

import json
import re
import shlex
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from benchmarks import fleet
from connector.api.registry import Registry

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.slow]

DOC = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
BIN = Path(sys.executable).parent


def documented() -> tuple[list[str], list[str]]:
    """The variables the document exports, and the lines of its production shape."""
    text = DOC.read_text(encoding="utf-8")
    exported = re.findall(r"^export (\w+)=", text, re.M)
    block = re.search(
        r"<!-- production-shape[^>]*-->\n```sh\n(.*?)```\n<!-- /production-shape -->", text, re.S
    )
    assert block, "docs/operations.md lost its production-shape block"
    return exported, [line for line in block.group(1).splitlines() if line.strip()]


def free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def test_the_production_shape_as_documented(
    pg_urls: Callable[[], str], redis_server: str, prefix: str, tmp_path: Path
) -> None:
    exported, lines = documented()
    assert [shlex.split(line)[1] for line in lines] == ["db", "serve", "worker", "worker", "scheduler"]
    ports = [int(p) for line in lines for p in re.findall(r"--(?:metrics-)?port (\d+)", line)]
    busy = [p for p in ports if not free(p)]
    if busy:
        pytest.skip(f"the documented ports {busy} are taken on this machine")
    mock = fleet.Mock(30, 4)
    url = pg_urls()
    processes: list[subprocess.Popen[str]] = []
    try:
        fleet.populate(url, mock.url, 2, 2)
        config = fleet.write_config(tmp_path / "connector.toml", url, mock.url)
        env = {
            **fleet.Fleet(config, redis_server, redis_server, "", "", mock.token).env(),
            "CONNECTOR_CONFIG": str(config),
            "CONNECTOR_BROKER_URL": redis_server,
            "CONNECTOR_SECRET_KEYS": Registry.new_key(),
            "CONNECTOR_LOG_FORMAT": "json",
            "CONNECTOR_QUEUE": f"ops-{uuid.uuid4().hex[:8]}",  # apart from other tests on this Redis
            "CONNECTOR_REDIS_PREFIX": prefix,
            "CONNECTOR_SCHEDULER_JITTER": "3",
        }
        assert set(exported) <= set(env)
        upgrade = subprocess.run(
            [str(BIN / "idp-connector"), *shlex.split(lines[0])[1:]], env=env, capture_output=True, text=True,
            timeout=120, check=False,
        )  # fmt: skip
        assert upgrade.returncode == 0, upgrade.stderr
        logs = []
        for n, line in enumerate(lines[1:]):
            log = tmp_path / f"process-{n}.log"
            logs.append(log)
            with log.open("w") as out:
                command = [str(BIN / "idp-connector"), *shlex.split(line)[1:]]
                processes.append(
                    subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, text=True)
                )
        expected = {(org, d): 1 for org in fleet.org_ids(2) for d in fleet.directory_ids(org, 2)}
        runs = fleet.wait_for_runs(url, expected, timeout=120)
        assert all(outcomes == ["applied"] for outcomes in runs.values()), runs

        assert requests.get("http://127.0.0.1:8080/healthz", timeout=5).json() == {"status": "ok"}
        ready = requests.get("http://127.0.0.1:8080/readyz", timeout=5)
        assert ready.status_code == 200 and ready.json()["checks"] == {"store": "ok"}
        assert "python_info" in requests.get("http://127.0.0.1:8080/metrics", timeout=5).text
        applied = 0.0
        for port in (9101, 9102):
            text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
            found = re.search(r'^idp_connector_runs_total\{outcome="applied"\} (\S+)$', text, re.M)
            applied += float(found.group(1)) if found else 0.0
        assert applied == 4  # the two workers' counts together: every run once
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        codes = []
        for process in processes:
            try:
                codes.append(process.wait(timeout=60))
            except subprocess.TimeoutExpired:
                process.kill()
                codes.append("killed")
        mock.stop()
    assert codes == [0, 0, 0, 0], [log.read_text()[-2000:] for log in logs]
    lines_of_runs = [
        json.loads(line)
        for log in logs[1:3]
        for line in log.read_text().splitlines()
        if line.startswith("{") and '"run_id"' in line
    ]
    assert lines_of_runs and all({"org", "directory", "run_id", "message"} <= set(x) for x in lines_of_runs)
    assert mock.token not in "".join(log.read_text() for log in logs)
