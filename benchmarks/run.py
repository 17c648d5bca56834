"""Full, repeated and incremental syncs against the mock IdP, beside the floor and the official SDK.

    python benchmarks/run.py              # 100k users, 1k groups, every dialect, SQLite + PostgreSQL
    python benchmarks/run.py --users 1000000 --groups 10000 --dialects scim --json 1m.json
    tox -e bench -- --users 20000

``mock-idp serve`` runs in its own process; every case runs in a fresh child
(``case.py``) so its peak RSS is the connector's alone.  Per dialect (the
mock is regenerated before each, so all three read the same directory):

* ``floor``: users, groups and memberships paged with plain ``requests``;
* ``sdk``: the official ``okta`` SDK listing the same (Okta only);
* ``full <store>``: the first sync into an empty store (SQLite file, PostgreSQL database);
* ``again <store>``: a second full sync, nothing changed;
* ``delta <store>``: after ``--churn`` (1%) of users and memberships change
  through the admin API, a run that reads only what changed.

Prints a table (wall seconds, users/s, HTTP requests and the minimum, peak
RSS, product changes, data rows written), the ratios, and the targets of
docs/benchmarks.md met or missed.  ``--json FILE`` writes the same.
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from churn import apply_churn
from mockproc import MockProcess
from report import render
from report import users_per_second
from stores import StoreFactory

HERE = Path(__file__).resolve().parent
DIALECTS = ("okta", "azure_ad", "scim")


def run_case(spec: dict[str, Any], label: str, *, profile_dir: Path | None) -> dict[str, Any]:
    """Run one case in a fresh interpreter; its last stdout line is the result."""
    if profile_dir is not None:
        spec = {**spec, "profile": str(profile_dir / f"{label.replace(' ', '-')}.prof")}
    done = subprocess.run(
        [sys.executable, str(HERE / "case.py")],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"case {label} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _say(row: dict[str, Any]) -> None:
    extra = f"  changes={row['changes']}" if "changes" in row else ""
    if "phases" in row:
        extra += "  (" + ", ".join(f"{k} {v:.1f} s" for k, v in row["phases"].items()) + ")"
    if "peak_rss_mb_by_phase" in row:  # VmHWM when each phase ended
        extra += "  peak MB by " + ", ".join(f"{k} {v:.0f}" for k, v in row["peak_rss_mb_by_phase"].items())
    speed = users_per_second(row)
    print(
        f"  {row['dialect']:<8} {row['case']:<16} {row['seconds']:7.1f} s  {speed:9,.0f} users/s"
        f"  {row['requests']:6d} requests  {row['peak_rss_mb']:5.0f} MB{extra}",
        flush=True,
    )


def bench_dialect(
    dialect: str, mock: MockProcess, stores: StoreFactory, args: argparse.Namespace, profile_dir: Path | None
) -> list[dict[str, Any]]:
    tenant = mock.state()["tenant"]["id"]
    base = {"dialect": dialect, "url": mock.url, "tenant": tenant, "creds": mock.credentials()}
    if args.max_deactivations is not None:
        base["max_deactivations"] = args.max_deactivations
    rows: list[dict[str, Any]] = []

    def measure(case: str, label: str, **spec: Any) -> None:
        try:
            result = run_case({**base, "case": case, **spec}, f"{dialect}-{label}", profile_dir=profile_dir)
        except RuntimeError as exc:  # one failed case must not cost the others' figures
            print(f"  {dialect:<8} {label:<16} FAILED: {exc}", flush=True)
            return
        row = {"dialect": dialect, "case": label, **result}
        rows.append(row)
        _say(row)

    # The mock answers its very first listing of a fresh directory slower (its own caches warm
    # up); an untimed floor read first means every timed case, the floor included, sees it warm.
    run_case({**base, "case": "floor"}, f"{dialect}-warmup", profile_dir=None)
    measure("floor", "floor")
    if dialect == "okta" and not args.no_sdk:
        measure("sdk", "sdk")
    urls = {store: stores.create(store, dialect) for store in args.stores}
    for store, url in urls.items():
        measure("sync", f"full {store}", store=url, full=True)
        measure("sync", f"again {store}", store=url, full=True)
    if args.churn > 0:
        started = time.perf_counter()
        churn = apply_churn(mock, args.churn, args.seed)
        print(
            f"  {dialect:<8} churn: {churn.users_changed} users ({churn.users_deactivated} deactivated), "
            f"{churn.memberships_changed} memberships, {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        for store, url in urls.items():
            measure("sync", f"delta {store}", store=url, full=None)
            rows[-1]["churn"] = {"users": churn.users_changed, "memberships": churn.memberships_changed}
    return rows


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dialects", default=",".join(DIALECTS), help="comma-separated: okta,azure_ad,scim")
    parser.add_argument("--stores", default="sqlite,postgres", help="comma-separated: sqlite,postgres")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
        help="a PostgreSQL server to create (and drop) a scratch database on",
    )
    parser.add_argument(
        "--churn", type=float, default=0.01, help="share of users and memberships changed before delta"
    )
    parser.add_argument(
        "--max-deactivations",
        type=int,
        default=None,
        help="the guard's max_deactivations for the sync cases (default: the connector's own); "
        "1%% churn of 1M users deactivates ~1,000, over the default 500",
    )
    parser.add_argument("--no-sdk", action="store_true", help="skip the okta SDK case")
    parser.add_argument("--json", metavar="FILE", help="write the rows and ratios as JSON")
    parser.add_argument("--profile", metavar="DIR", help="cProfile every case into DIR and print the top")
    args = parser.parse_args(argv)
    args.dialects = [d for d in args.dialects.split(",") if d]
    args.stores = [s for s in args.stores.split(",") if s]
    for dialect in args.dialects:
        if dialect not in DIALECTS:
            parser.error(f"unknown dialect {dialect!r}; one of {', '.join(DIALECTS)}")
    for store in args.stores:
        if store not in ("sqlite", "postgres"):
            parser.error(f"unknown store {store!r}; one of sqlite, postgres")
    if not 0 <= args.churn <= 1:
        parser.error("--churn must be between 0 and 1")
    return args


def _print_profiles(profile_dir: Path) -> None:
    for path in sorted(profile_dir.glob("*.prof")):
        print(f"\nprofile {path.stem} (top 12 by own time):")
        pstats.Stats(str(path), stream=sys.stdout).sort_stats("tottime").print_stats(12)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rows: list[dict[str, Any]] = []
    profile_dir = Path(args.profile) if args.profile else None
    if profile_dir is not None:
        profile_dir.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix="idp-bench-") as work,
        StoreFactory(Path(work), args.pg_url) as stores,
    ):
        with MockProcess(args.users, args.groups, args.seed) as mock:
            state = mock.state()
            print(
                f"mock-idp at {mock.url}: {state['users']} users, {state['groups']} groups, "
                f"{state['memberships']} memberships (started in {mock.startup_seconds:.1f} s)",
                flush=True,
            )
            for n, dialect in enumerate(args.dialects):
                if n:
                    mock.reset()
                rows += bench_dialect(dialect, mock, stores, args, profile_dir)
    print()
    print(render(rows))
    if profile_dir is not None:
        _print_profiles(profile_dir)
    if args.json:
        from report import ratios

        sizes = {"users": args.users, "groups": args.groups, "seed": args.seed, "churn": args.churn}
        Path(args.json).write_text(
            json.dumps({"sizes": sizes, "rows": rows, "ratios": ratios(rows)}, indent=2)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
