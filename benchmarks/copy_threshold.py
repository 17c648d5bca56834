"""Where PostgreSQL's ``COPY`` starts to beat the multi-row ``INSERT`` of ``bulk_insert``.

    python benchmarks/copy_threshold.py                     # 1 .. 5,000 account rows, best of 7
    python benchmarks/copy_threshold.py --sizes 1,10,100 --repeat 3

Writes N account rows both ways into a scratch database (``StoreFactory``),
each write in its own transaction and deleted after, and prints the best time of
each path per N and their ratio.  ``connector.store.bulk.COPY_MIN_ROWS`` is
chosen from it.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import datetime
from datetime import timezone
from pathlib import Path
from typing import Any

from sqlalchemy import delete
from stores import StoreFactory

from connector.store import Store
from connector.store import tables as t
from connector.store.bulk import bulk_insert

NOW = datetime(2026, 12, 2, tzinfo=timezone.utc)


def _rows(n: int) -> list[dict[str, Any]]:
    return [
        {
            "account_id": f"a{i}",
            "email": f"user{i}@example.com",
            "display_name": f"User\t{i}",
            "given_name": None,
            "family_name": "Smith",
            "status": "active",
            "origin": "sync",
            "created_at": NOW,
            "updated_at": NOW,
        }
        for i in range(n)
    ]


def best(store: Store, rows: list[dict[str, Any]], copy: bool, repeat: int) -> float:
    """The fastest of ``repeat`` writes of ``rows`` (each deleted again, untimed), in seconds."""
    times = []
    for _ in range(repeat):
        with store.transaction() as conn:
            started = time.perf_counter()
            bulk_insert(conn, t.accounts, rows, copy=copy)
            times.append(time.perf_counter() - started)
            conn.execute(delete(t.accounts))
    return min(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,5,10,20,50,100,200,1000,5000")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as work, StoreFactory(Path(work), args.pg_url) as stores:
        store = Store.open(stores.create("postgres", "copy"))
        try:
            print(f"{'rows':>6}  {'INSERT ms':>10}  {'COPY ms':>10}  COPY/INSERT")
            for n in (int(s) for s in args.sizes.split(",")):
                rows = _rows(n)
                insert_s = best(store, rows, False, args.repeat)
                copy_s = best(store, rows, True, args.repeat)
                print(
                    f"{n:>6}  {insert_s * 1e3:>10.2f}  {copy_s * 1e3:>10.2f}  {copy_s / insert_s:>11.2f}",
                    flush=True,
                )
        finally:
            store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
