"""The push service's throughput: SCIM requests into ``/scim/v2/<org>/<directory>/`` under waitress.

    python benchmarks/push.py                                   # SQLite and PostgreSQL, full size
    python benchmarks/push.py --store sqlite --users 200 --groups 4 --push-users 300

The service (:func:`connector.push.create_app` on waitress, as ``idp-connector serve`` runs it)
listens in a thread of this process; one client sends one request at a time, as Okta and Entra
do for a directory.  Figures, each best of ``--repeat`` runs on a fresh store:

- ``creates``: user creates per second (``POST /Users``, ``--users`` of them);
- ``patches``: group PATCHes of 100 members per second (``--groups`` groups, each one PATCH
  adding 100 of those users, Okta's ``add`` of ``members``);
- ``initial push``: the seconds of ``mock-idp push --as entra`` of a ``--push-users`` directory
  into an empty push directory (its look-ups, creates and groups, 10 of them by default).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests
from stores import StoreFactory

from connector.push import create_app
from connector.store import Store
from connector.store.registry import DirectoryEntry
from connector.store.registry import OrganizationEntry

PG_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ORG = "bench"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
MEMBERS_PER_PATCH = 100


class Service:
    """The push app under waitress in a thread, over a store with push directories ``api``, ``push``."""

    def __init__(self, store_url: str) -> None:
        from waitress.server import create_server

        self.store = Store.open(store_url, register=False)
        self.store.save_organization(OrganizationEntry(ORG, "Bench", ("example.com",)))
        self.tokens: dict[str, str] = {}
        scoped = self.store.for_org(ORG)
        for directory in ("api", "push"):
            self.store.save_directory(
                DirectoryEntry(ORG, directory, "scim", mode="push", settings={"domains": ["example.com"]})
            )
            self.tokens[directory] = scoped.issue_push_token(directory)
        self.server: Any = create_server(create_app(self.store), host="127.0.0.1", port=0, threads=4)
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()

    def base(self, directory: str) -> str:
        return f"{self.url}/scim/v2/{ORG}/{directory}"

    def close(self) -> None:
        self.server.close()
        self.store.close()


def _session(token: str) -> requests.Session:
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"})
    return session


def creates_and_patches(service: Service, users: int, groups: int) -> dict[str, float]:
    """Users created per second, then group PATCHes of 100 members per second."""
    session, base = _session(service.tokens["api"]), service.base("api")
    ids: list[str] = []
    started = time.perf_counter()
    for i in range(users):
        body = {
            "schemas": [USER_SCHEMA],
            "userName": f"user{i:06d}@example.com",
            "name": {"givenName": "User", "familyName": f"{i:06d}"},
            "emails": [{"value": f"user{i:06d}@example.com", "type": "work", "primary": True}],
            "active": True,
        }
        answer = session.post(f"{base}/Users", data=json.dumps(body), timeout=120)
        answer.raise_for_status()
        ids.append(answer.json()["id"])
    create_seconds = time.perf_counter() - started
    group_ids = []
    for g in range(groups):
        body = {"schemas": [GROUP_SCHEMA], "displayName": f"Group {g:04d}", "members": []}
        answer = session.post(f"{base}/Groups", data=json.dumps(body), timeout=120)
        answer.raise_for_status()
        group_ids.append(answer.json()["id"])
    started = time.perf_counter()
    for g, group_id in enumerate(group_ids):
        first = (g * MEMBERS_PER_PATCH) % max(len(ids) - MEMBERS_PER_PATCH + 1, 1)
        members = [{"value": v} for v in ids[first : first + MEMBERS_PER_PATCH]]
        body = {"schemas": [PATCH_SCHEMA], "Operations": [{"op": "add", "path": "members", "value": members}]}
        session.patch(f"{base}/Groups/{group_id}", data=json.dumps(body), timeout=120).raise_for_status()
    patch_seconds = time.perf_counter() - started
    return {
        "creates_per_second": users / create_seconds if users else 0.0,
        "patches_per_second": groups / patch_seconds if groups else 0.0,
    }


def initial_push(service: Service, users: int) -> dict[str, Any]:
    """``mock-idp push --as entra`` of a generated directory of ``users`` users (10 groups)."""
    command = [sys.executable, "-m", "mock_idp", "push", "--as", "entra", "--to", service.base("push"),
               "--users", str(users), "--groups", "10", "--seed", "16", "--json"]  # fmt: skip
    env = {**os.environ, "MOCK_IDP_PUSH_TOKEN": service.tokens["push"]}
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"mock-idp push failed: {done.stdout[-2000:]}{done.stderr[-2000:]}")
    report = json.loads(done.stdout)
    return {"seconds": seconds, "requests": report["requests"], "actions": report["actions"]}


def one_run(factory: StoreFactory, kind: str, args: argparse.Namespace) -> dict[str, Any]:
    service = Service(factory.create(kind, "push"))
    try:
        figures: dict[str, Any] = creates_and_patches(service, args.users, args.groups)
        figures["initial_push"] = initial_push(service, args.push_users)
        return figures
    finally:
        service.close()


def best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "creates_per_second": max(r["creates_per_second"] for r in runs),
        "patches_per_second": max(r["patches_per_second"] for r in runs),
        "initial_push": min((r["initial_push"] for r in runs), key=lambda p: p["seconds"]),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--store", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--users", type=int, default=1000, help="users created by POST")
    parser.add_argument("--groups", type=int, default=50, help="group PATCHes of 100 members")
    parser.add_argument("--push-users", type=int, default=10_000, help="the initial push's directory size")
    parser.add_argument("--repeat", type=int, default=2, help="runs per store; the best is kept")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args(argv)
    kinds = ["sqlite", "postgres"] if args.store == "both" else [args.store]
    results: dict[str, Any] = {}
    with (
        tempfile.TemporaryDirectory(prefix="bench-push-") as work,
        StoreFactory(Path(work), PG_URL) as factory,
    ):
        for kind in kinds:
            results[kind] = best([one_run(factory, kind, args) for _ in range(args.repeat)])
            r = results[kind]
            print(
                f"{kind}: {r['creates_per_second']:.1f} user creates/s ({args.users}), "
                f"{r['patches_per_second']:.1f} group PATCHes of {MEMBERS_PER_PATCH} members/s "
                f"({args.groups}), "
                f"initial push of {args.push_users} users {r['initial_push']['seconds']:.1f} s "
                f"(best of {args.repeat})",
                flush=True,
            )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
