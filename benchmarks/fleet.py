"""A fleet of workers over one store, as production runs it: what the workers' tests and
``benchmarks/workers.py`` start.

* one ``mock-idp serve`` process (its Okta dialect: the one that announces ``X-Rate-Limit-*``);
* a store (PostgreSQL) holding ``orgs`` organizations of ``per_org`` directories each, as data,
  every directory reading the mock's Okta API with one API token (``token_env``: the workers
  read it from their environment);
* ``idp-connector worker`` processes and ``idp-connector scheduler --once``, each a process of
  its own, on a broker (Redis or RabbitMQ) and Redis for the budget and the schedule marks.

:func:`canonical` reads an organization's store as plain, id-free data, so a store the fleet
synced can be compared with one synced serially.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

import requests

from connector.api.registry import Registry
from connector.api.registry_records import DirectorySpec
from connector.store import Store
from mock_idp.state.credentials import default_credentials

TOKEN_ENV = "FLEET_OKTA_TOKEN"
ADMIN_TOKEN = "fleet-admin-token"
SEED = 7


def org_ids(count: int) -> list[str]:
    return [f"org-{n:03d}" for n in range(count)]


def directory_ids(org: str, per_org: int) -> list[str]:
    return [f"{org}-okta-{n:03d}" for n in range(per_org)]


class Mock:
    """``mock-idp serve`` in its own process; ``rate_limit`` is the Okta per-minute budget."""

    def __init__(
        self, users: int, groups: int, *, rate_limit: int | None = None, extra: tuple[str, ...] = ()
    ) -> None:
        command = [sys.executable, "-m", "mock_idp", "serve", "--port", "0", "--seed", str(SEED),
                   "--users", str(users), "--groups", str(groups), "--admin-token", ADMIN_TOKEN]  # fmt: skip
        command += ["--rate-limit", f"okta={rate_limit or 100_000_000}", *extra]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self.process.stdout is not None
        match = re.match(r"mock-idp listening on (\S+)", self.process.stdout.readline())
        if not match:
            self.stop()
            raise RuntimeError("mock-idp did not start")
        self.url = match.group(1)
        self.token = default_credentials(SEED).okta_api_token

    def rate_windows(self) -> dict[str, Any]:
        """The mock's per-minute windows: ``{"okta:users": {"used", "reset"}, ...}``."""
        answer = requests.get(
            f"{self.url}/_admin/state", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=10
        )
        answer.raise_for_status()
        return answer.json()["rate_limits"]["windows"]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()


def populate(store_url: str, mock_url: str, orgs: int, per_org: int, *, schedule: str = "every 1h") -> None:
    """``orgs`` organizations of ``per_org`` Okta directories each, as data, in the store."""
    with Store.open(store_url, org="operator") as store:
        registry = Registry(store)
        for n, org in enumerate(org_ids(orgs)):
            domain = "example.com" if n == 0 else f"{org}.example.net"
            registry.add_organization(
                org, verified_domains=[domain], product_grants={"confluence": ["Everyone"]}
            )
            for directory_id in directory_ids(org, per_org):
                spec = DirectorySpec(
                    directory_id=directory_id,
                    provider="okta",
                    base_url=mock_url,
                    method="ssws",
                    secret_env=TOKEN_ENV,
                    schedule=schedule,
                )
                registry.add_directory(org, spec)


def write_config(path: Path, store_url: str, mock_url: str) -> Path:
    """The deployment's configuration file: the store, and an organization of the operator's own
    (a file declares one with a directory); the customers' organizations are the store's."""
    path.write_text(
        '[organization]\nid = "operator"\nverified_domains = ["operator.example.net"]\n\n'
        f'[store]\nurl = "{store_url}"\n\n'
        f'[[directories]]\nid = "operator-okta"\nprovider = "okta"\nbase_url = "{mock_url}"\n'
        f'auth = {{ method = "ssws", token_env = "{TOKEN_ENV}" }}\n',
        encoding="utf-8",
    )
    return path


@dataclass
class Fleet:
    """Worker and scheduler processes of one deployment."""

    config: Path
    broker: str
    redis: str
    queue: str
    prefix: str
    token: str
    time_limit: float = 600.0
    workers: list[subprocess.Popen[str]] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        return {**os.environ, TOKEN_ENV: self.token, "PYTHONUNBUFFERED": "1"}

    def common(self) -> list[str]:
        return ["--broker", self.broker, "--redis", self.redis, "--queue", self.queue,
                "--prefix", self.prefix, "--time-limit", str(self.time_limit)]  # fmt: skip

    def start_worker(self, *extra: str) -> subprocess.Popen[str]:
        log = self.config.parent / f"worker-{len(self.workers)}.log"
        command = [sys.executable, "-m", "connector", "--config", str(self.config), "worker", *self.common(),
                   "--name", f"w{len(self.workers)}-{self.queue}@localhost", *extra]  # fmt: skip
        with log.open("w") as out:
            process = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, text=True, env=self.env()
            )
        self.workers.append(process)
        self.logs.append(log)
        return process

    def schedule_once(self, *extra: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "connector", "--config", str(self.config), "scheduler", *self.common(),
             "--once", *extra],
            capture_output=True, text=True, timeout=120, env=self.env(), check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"scheduler --once failed: {done.stderr[-2000:]}")
        return done.stderr

    def stop(self) -> None:
        for process in self.workers:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.workers:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

    def output(self) -> str:
        return "\n".join(log.read_text(errors="replace") for log in self.logs if log.exists())


def runs_by_directory(store_url: str, orgs: Iterable[str]) -> dict[tuple[str, str], list[str]]:
    """Each directory's finished runs' outcomes, oldest first (running ones as ``running``)."""
    found: dict[tuple[str, str], list[str]] = {}
    with Store.open(store_url, org="org-000", register=False) as store:
        for org in orgs:
            for run in reversed(store.for_org(org).runs(limit=100_000)):
                found.setdefault((org, run.directory_id), []).append(run.outcome or "running")
    return found


def wait_for_runs(
    store_url: str, expected: dict[tuple[str, str], int], *, timeout: float, fleet: Fleet | None = None
) -> dict[tuple[str, str], list[str]]:
    """Wait until each directory has its expected number of finished runs; the runs."""
    orgs = sorted({org for org, _ in expected})
    deadline = time.monotonic() + timeout
    while True:
        runs = runs_by_directory(store_url, orgs)
        finished = {
            key: [o for o in runs.get(key, []) if o not in ("running", "interrupted")] for key in expected
        }
        if all(len(finished[key]) >= count for key, count in expected.items()):
            return runs
        if time.monotonic() > deadline:
            missing = {k: runs.get(k) for k, n in expected.items() if len(finished[k]) < n}
            tail = fleet.output()[-3000:] if fleet else ""
            raise TimeoutError(f"runs not finished after {timeout}s: {list(missing.items())[:5]}\n{tail}")
        time.sleep(0.5)


def canonical(store_url: str, orgs: Iterable[str]) -> dict[str, Any]:
    """Every organization's accounts, links, groups and memberships, without generated ids."""
    result: dict[str, Any] = {}
    with Store.open(store_url, org="org-000", register=False) as root:
        for org in orgs:
            store = root.for_org(org)
            links = store.links()
            linked: dict[str, list[tuple[str, str]]] = {}
            for link in links:
                linked.setdefault(link.account_id, []).append((link.directory_id, link.idp_user_id))
            accounts = {
                a.account_id: (a.email.lower(), tuple(sorted(linked.get(a.account_id, ()))))
                for a in store.accounts()
            }
            groups = {g.group_id: (g.name, g.directory_id, g.idp_group_id) for g in store.groups()}
            result[org] = {
                "accounts": sorted(
                    (*accounts[a.account_id], a.display_name, str(a.status), str(a.origin))
                    for a in store.accounts()
                ),
                "links": sorted(
                    (k.directory_id, k.idp_user_id, accounts[k.account_id][0], k.missing_count, k.idp_active)
                    for k in links
                ),
                "groups": sorted(groups.values(), key=repr),
                "memberships": sorted(
                    (groups[m.group_id], accounts[m.account_id], m.source) for m in store.memberships()
                ),
            }
    return result
