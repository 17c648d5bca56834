"""Read a large mock directory through each built-in adapter; print requests, seconds and memory.

    python benchmarks/read_providers.py --users 100000 --groups 1000

The mock runs in a child process (so its memory is not counted); this
process reads users, groups and every group's members through the adapter,
keeping nothing but counts, under ``tracemalloc``.  Figures per adapter:
objects read, HTTP requests (and the minimum ⌈U/page⌉ + ⌈G/page⌉ +
Σ⌈members/page⌉ + token calls), wall seconds, and tracemalloc's peak.
``--no-trace`` times without tracemalloc's overhead.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import time
import tracemalloc
from typing import Any

from connector.net.settings import AuthSettings
from connector.net.settings import Secret
from connector.providers import registry
from connector.providers.base import ProviderSettings

PAGES = {"okta": 200, "azure_ad": 999, "scim": 1000}


def _serve(users: int, groups: int, seed: int, queue: Any, stop: Any) -> None:
    from mock_idp.server import MockIdpServer
    from mock_idp.state.generator import generate

    directory = generate(users=users, groups=groups, seed=seed)
    sizes = {
        "okta": [len(directory.transitive_user_ids(g)) for g in directory.groups],
        "azure_ad": [len(g.user_ids) + len(g.group_ids) for g in directory.groups.values()],
        "scim": [0 for _ in directory.groups],
    }
    with MockIdpServer(directory) as server:
        queue.put(
            {"url": server.url, "tenant": directory.tenant_id, "sizes": sizes, "users": len(directory.users)}
        )
        stop.wait()


def _settings(name: str, info: dict[str, Any], seed: int) -> ProviderSettings:
    from mock_idp.state.credentials import default_credentials

    creds = default_credentials(seed)
    url = info["url"]
    if name == "okta":
        return ProviderSettings("bench-okta", url, AuthSettings("ssws", token=Secret(creds.okta_api_token)))
    if name == "azure_ad":
        auth = AuthSettings(
            "client_secret", client_id=creds.graph_client_id, client_secret=Secret(creds.graph_client_secret)
        )
        return ProviderSettings(
            "bench-graph", f"{url}/v1.0", auth, options={"tenant": info["tenant"], "authority": url}
        )
    return ProviderSettings(
        "bench-scim", f"{url}/scim/v2", AuthSettings("bearer", token=Secret(creds.scim_token))
    )


def _minimum(name: str, info: dict[str, Any], groups: int) -> int:
    page = PAGES[name]

    def pages(n: int) -> int:
        confirm = 1 if name == "okta" and n and n % page == 0 else 0  # Okta confirms a full last page
        return max(1, math.ceil(n / page)) + confirm

    members = sum(1 if name == "scim" else pages(n) for n in info["sizes"][name])
    return pages(info["users"]) + pages(groups) + members + (1 if name == "azure_ad" else 0)


def read_one(name: str, info: dict[str, Any], seed: int, groups: int, trace: bool) -> dict[str, Any]:
    provider = registry.create(name, _settings(name, info, seed))
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    users = sum(1 for _ in provider.iter_users())
    group_ids = [g.idp_group_id for g in provider.iter_groups()]
    members = sum(1 for gid in group_ids for _ in provider.iter_members(gid))
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if trace else 0
    if trace:
        tracemalloc.stop()
    provider.close()
    return {
        "provider": name,
        "users": users,
        "groups": len(group_ids),
        "memberships": members,
        "requests": provider.request_count,
        "minimum": _minimum(name, info, groups),
        "seconds": round(seconds, 1),
        "peak_mib": round(peak / 2**20, 1),
        "waited": round(provider.http.waited, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--providers", default="okta,azure_ad,scim")
    parser.add_argument("--no-trace", action="store_true", help="time without tracemalloc")
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    queue, stop = context.Queue(), context.Event()
    child = context.Process(
        target=_serve, args=(args.users, args.groups, args.seed, queue, stop), daemon=True
    )
    child.start()
    try:
        info = queue.get(timeout=600)
        for name in args.providers.split(","):
            row = read_one(name, info, args.seed, args.groups, not args.no_trace)
            print("  ".join(f"{k}={v}" for k, v in row.items()), flush=True)
    finally:
        stop.set()
        child.join(timeout=30)


if __name__ == "__main__":
    main()
