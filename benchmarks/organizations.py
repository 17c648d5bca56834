"""Many organizations in one store: N organizations of U users each, synced one after another.

    python benchmarks/organizations.py                      # 100 organizations x 1,000 users, PostgreSQL
    python benchmarks/organizations.py --orgs 10 --users 500 --store sqlite

One ``mock-idp serve`` process serves a directory of ``--users`` users; every organization reads it
as its own SCIM directory (same id, ``scim``, in each: directory ids are each organization's own)
into its own scope of one store.  The people are the same in every organization on purpose: the
store must keep N accounts per address apart.  Prints, per pass, the wall time (all organizations,
one after another, in this process) and per organization, then the store's size on disk and its
rows.  Passes: ``first`` (every organization's first sync), ``again`` (a second full sync, nothing
changed).  Figures only, no target: docs/benchmarks.md records them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from mockproc import MockProcess
from sqlalchemy import text
from stores import StoreFactory

from connector.api.connector import Connector
from connector.config.loader import config_from_dict
from connector.store import Store

PG_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def org_config(org_id: str, mock: MockProcess, store_url: str) -> Any:
    """One organization's configuration: the mock's SCIM dialect; the first organization verifies the
    mock's example.com (a domain is verified by one organization), each other one a domain of its own,
    so the same people are staff in one organization and external everywhere else."""
    domain = "example.com" if org_id.endswith("0000") else f"{org_id}.example.net"
    return config_from_dict(
        {
            "organization": {"id": org_id, "verified_domains": [domain]},
            "store": {"url": store_url},
            "products": {"confluence": ["Everyone"]},
            "directories": [
                {
                    "id": "scim",
                    "provider": "scim",
                    "base_url": f"{mock.url}/scim/v2",
                    "auth": {"method": "bearer", "token_env": "BENCH_SCIM_TOKEN"},
                }
            ],
        },
        env={"BENCH_SCIM_TOKEN": mock.credentials()["scim_token"]},
    )


def sync_every_organization(orgs: list[str], mock: MockProcess, store: Store) -> dict[str, Any]:
    """A full sync of each organization in turn; wall seconds in all and per organization."""
    seconds, changes = [], 0
    started = time.perf_counter()
    for org_id in orgs:
        one = time.perf_counter()
        with Connector(
            org_config(org_id, mock, str(store.engine.url.render_as_string(False))), store=store
        ) as c:
            report = c.sync("scim", full=True)
        seconds.append(time.perf_counter() - one)
        changes += sum(report.counts.values())
    return {
        "wall": time.perf_counter() - started,
        "per_org_median": statistics.median(seconds),
        "per_org_max": max(seconds),
        "changes": changes,
    }


def store_size(store: Store) -> dict[str, Any]:
    """Bytes on disk and rows of the main tables."""
    with store.engine.connect() as conn:
        if store.engine.dialect.name == "postgresql":
            size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
        else:
            path = Path(store.engine.url.database or "")
            size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
        rows = {
            table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("organizations", "accounts", "links", "memberships", "idp_users", "audit_log")
        }
    return {"bytes": int(size), "rows": rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, default=100)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--groups", type=int, default=20)
    parser.add_argument("--store", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    orgs = [f"org-{n:04d}" for n in range(args.orgs)]
    result: dict[str, Any] = {"orgs": args.orgs, "users_per_org": args.users, "store": args.store}
    with tempfile.TemporaryDirectory() as work, StoreFactory(Path(work), PG_URL) as stores:
        url = stores.create(args.store, "organizations")
        with MockProcess(args.users, args.groups, seed=1) as mock:
            with Store.open(url, org=orgs[0]) as store:
                for label in ("first", "again"):
                    result[label] = sync_every_organization(orgs, mock, store)
                    row = result[label]
                    print(
                        f"{label:>6}: {args.orgs} organizations x {args.users} users in {row['wall']:.1f} s "
                        f"({row['per_org_median']:.2f} s median, {row['per_org_max']:.2f} s max "
                        f"per organization; {row['changes']} changes)",
                        flush=True,
                    )
                result["size"] = store_size(store)
    size = result["size"]
    print(f"  store: {size['bytes'] / 2**20:.1f} MiB; rows {json.dumps(size['rows'])}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
