"""What events cost a first sync, and how fast webhooks go out.

    python benchmarks/events.py                      # 100k users, 1k groups, SCIM, SQLite
    python benchmarks/events.py --stores sqlite,postgres --repeat 2 --json events.json

Two measures:

* **the outbox in a first sync**: ``mock-idp serve`` generates the directory; each case syncs it
  into an empty store in a fresh process (``benchmarks/case.py``'s sync), once as shipped and
  once with the outbox switched off (the events of changes, conflicts and runs not written: the
  connector as it was before events), alternating, best of ``--repeat``.  It prints the events
  written, the events per second of apply, and the cost as ratios (whole sync, apply).
* **deliveries**: ``--deliveries`` events are written to a store, one endpoint posts them to
  ``mock-idp webhook-sink`` (its own process, on this host) through ``Deliverer.run_once``; it
  prints deliveries per second (each one a signed POST answered 204, then the position moved).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests
from mockproc import MockProcess
from stores import StoreFactory

HERE = Path(__file__).resolve().parent
PG_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def child_sync() -> None:
    """In the child: ``case.py``'s sync, with the outbox off when the spec says ``events: false``."""
    sys.path.insert(0, str(HERE))
    import case

    spec = json.load(sys.stdin)
    if not spec.get("events", True):
        from connector.store import change_events
        from connector.store import conflicts
        from connector.store import runs

        change_events.ChangeEvents.begin = lambda self, ctx, batch: None  # type: ignore[method-assign]
        change_events.ChangeEvents.write = lambda self, ctx, applied: None  # type: ignore[method-assign]
        runs.write_events = conflicts.write_events = lambda conn, drafts, now=None: []  # type: ignore[assignment]
    started = time.perf_counter()
    result = case.run_sync(spec)
    result["seconds"] = time.perf_counter() - started
    result["peak_rss_mb"] = case.peak_rss_mb()
    print(json.dumps(result), flush=True)


def sync_case(spec: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child"],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"sync failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def outbox_cost(args: argparse.Namespace, mock: MockProcess, stores: StoreFactory) -> list[dict[str, Any]]:
    rows = []
    for kind in args.stores:
        best: dict[bool, dict[str, Any]] = {}
        for _ in range(args.repeat):
            for events in (True, False):
                spec = {
                    "case": "sync", "dialect": args.dialect, "url": mock.url, "tenant": "bench",
                    "creds": mock.credentials(), "store": stores.create(kind, args.dialect), "full": True,
                    "events": events,
                }  # fmt: skip
                result = sync_case(spec)
                if events not in best or result["seconds"] < best[events]["seconds"]:
                    best[events] = result
        on, off = best[True], best[False]
        written = on["written"].get("events", 0)
        rows.append(
            {
                "store": kind,
                "users": on["users"],
                "changes": on["changes"],
                "events": written,
                "seconds": round(on["seconds"], 2),
                "seconds_without": round(off["seconds"], 2),
                "apply": round(on["phases"]["apply"], 2),
                "apply_without": round(off["phases"]["apply"], 2),
                "events_per_second_of_apply": round(written / on["phases"]["apply"]) if written else 0,
                "ratio": round(on["seconds"] / off["seconds"], 3),
                "apply_ratio": round(on["phases"]["apply"] / off["phases"]["apply"], 3),
                "peak_rss_mb": round(on["peak_rss_mb"]),
                "peak_rss_mb_without": round(off["peak_rss_mb"]),
            }
        )
    return rows


def deliveries(count: int, work: Path) -> dict[str, Any]:
    """``count`` events posted to a webhook sink in its own process; deliveries per second."""
    from connector.delivery.deliverer import Deliverer
    from connector.delivery.deliverer import secret_context
    from connector.net.webhook_post import new_secret
    from connector.store import Store
    from connector.store.outbox import EventDraft
    from connector.store.outbox import write_events
    from connector.vault import Vault

    vault = Vault.from_keys(Vault.generate_key())
    secret = new_secret()
    sink = subprocess.Popen(
        [sys.executable, "-m", "mock_idp", "webhook-sink", "--port", "0"],
        env={**os.environ, "MOCK_IDP_WEBHOOK_SECRET": secret},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert sink.stdout is not None
        banner = re.match(r"mock-idp webhook-sink on (\S+)", sink.stdout.readline())
        assert banner, "the sink did not start"
        url = banner.group(1)
        store = Store.open(f"sqlite:///{work}/deliveries.sqlite")
        store.add_webhook(
            "we_bench",
            url,
            vault.seal(secret, context=secret_context(store.org, "we_bench")),
            (),
            allow_private=True,
        )
        data = {"account": {"id": "a" * 32, "email": "someone@example.com", "display_name": "Some One"}}
        with store.transaction() as conn:
            for start in range(0, count, 5000):
                write_events(conn, [EventDraft("account.created", data, "bench")] * min(5000, count - start))
        deliverer = Deliverer(store, vault, orgs=[store.org], batch=1000)
        started, sent = time.perf_counter(), 0
        while sent < count:
            done = deliverer.run_once()
            if done.failed:
                raise RuntimeError("a delivery failed")
            sent += done.delivered
        seconds = time.perf_counter() - started
        received = len(requests.get(f"{url.rsplit('/', 1)[0]}/_sink/received", timeout=60).json())
        store.close()
    finally:
        sink.terminate()
        sink.wait(10)
    return {
        "deliveries": sent,
        "received": received,
        "seconds": round(seconds, 2),
        "per_second": round(sent / seconds),
    }


def main() -> None:
    if sys.argv[1:] == ["--child"]:
        child_sync()
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dialect", default="scim", choices=("okta", "azure_ad", "scim"))
    parser.add_argument("--stores", default="sqlite", type=lambda v: [s for s in v.split(",") if s])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--deliveries", type=int, default=5_000)
    parser.add_argument("--pg-url", default=PG_URL)
    parser.add_argument("--json", dest="json_out", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch, StoreFactory(Path(scratch), args.pg_url) as stores:
        with MockProcess(args.users, args.groups, args.seed) as mock:
            rows = outbox_cost(args, mock, stores)
        sent = deliveries(args.deliveries, Path(scratch)) if args.deliveries else None
    print("store     users    changes  events   sync s (without)  apply s (without)  events/s  ratio  apply")
    for r in rows:
        print(
            f"{r['store']:<9} {r['users']:<8} {r['changes']:<8} {r['events']:<8} "
            f"{r['seconds']:>6} ({r['seconds_without']:>6})   {r['apply']:>6} ({r['apply_without']:>6})    "
            f"{r['events_per_second_of_apply']:>10,}         {r['ratio']:<6} {r['apply_ratio']}"
        )
    if sent:
        got = f"{sent['deliveries']} in {sent['seconds']} s, {sent['per_second']:,}/s"
        print(f"deliveries: {got} (the sink got {sent['received']})")
    if args.json_out:
        args.json_out.write_text(json.dumps({"outbox": rows, "deliveries": sent}, indent=2))


if __name__ == "__main__":
    main()
