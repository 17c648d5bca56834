"""One measured case, run in a fresh process: ``python benchmarks/case.py < spec.json``.

The spec (JSON on stdin, so the mock's test credentials stay off the command
line) names the ``case`` (``floor``, ``sdk`` or ``sync``), the ``dialect``
(``okta``, ``azure_ad``, ``scim``), the mock's ``url`` and ``tenant``, and
``creds`` (the mock's default credentials of its seed); a sync also names its
``store`` URL and ``full`` (True for a full read, None to let the connector
choose: incremental when it can).  The last stdout line is the result as
JSON: wall seconds, objects read, HTTP requests, and the peak RSS of this
process (``VmHWM``), so the figures are the connector's own.  A sync also
reports the rows it wrote per table.
"""

from __future__ import annotations

import cProfile
import importlib
import json
import resource
import sys
import time
from collections import Counter
from typing import Any

from sqlalchemy import event

from connector.net.settings import AuthSettings
from connector.net.settings import Secret
from connector.providers import registry
from connector.providers.base import ProviderSettings
from connector.rules.settings import GuardSettings
from connector.rules.settings import SyncSettings
from connector.run import sync as sync_module
from connector.run.sync import sync_directory
from connector.store import Store

VERIFIED_DOMAINS = ("example.com",)  # the generator's own domain


def provider_settings(dialect: str, url: str, tenant: str, creds: dict[str, str]) -> ProviderSettings:
    """The adapter's settings for the mock's default credentials (``DefaultCredentials`` fields)."""
    if dialect == "okta":
        return ProviderSettings(
            "bench-okta", url, AuthSettings("ssws", token=Secret(creds["okta_api_token"]))
        )
    if dialect == "azure_ad":
        auth = AuthSettings(
            "client_secret",
            client_id=creds["graph_client_id"],
            client_secret=Secret(creds["graph_client_secret"]),
        )
        options = {"tenant": tenant, "authority": url}
        return ProviderSettings("bench-graph", f"{url}/v1.0", auth, options=options)
    if dialect == "scim":
        return ProviderSettings(
            "bench-scim", f"{url}/scim/v2", AuthSettings("bearer", token=Secret(creds["scim_token"]))
        )
    raise ValueError(f"unknown dialect {dialect!r}; one of okta, azure_ad, scim")


def run_floor(spec: dict[str, Any]) -> dict[str, Any]:
    from floor import READERS

    creds, dialect, url = spec["creds"], spec["dialect"], spec["url"]
    if dialect == "okta":
        count = READERS[dialect](url, creds["okta_api_token"])
    elif dialect == "azure_ad":
        count = READERS[dialect](url, spec["tenant"], creds["graph_client_id"], creds["graph_client_secret"])
    else:
        count = READERS[dialect](url, creds["scim_token"])
    return {
        "users": count.users,
        "groups": count.groups,
        "memberships": count.memberships,
        "requests": count.requests,
        "minimum_requests": count.minimum_requests(dialect),
    }


def run_sdk(spec: dict[str, Any]) -> dict[str, Any]:
    if spec["dialect"] != "okta":
        raise ValueError("only the Okta dialect has an SDK case")
    from sdk_okta import read_okta_sdk

    count = read_okta_sdk(spec["url"], spec["creds"]["okta_api_token"])
    return {
        "users": count.users,
        "groups": count.groups,
        "memberships": count.memberships,
        "requests": count.requests,
    }


def _count_writes(store: Store) -> Counter[str]:
    """Rows written per table (INSERT/UPDATE/DELETE), counted at the DB-API cursor."""
    written: Counter[str] = Counter()

    @event.listens_for(store.engine, "after_cursor_execute")
    def _after(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        words = statement.lstrip().split(None, 3)
        verb = words[0].upper() if words else ""
        if verb in ("INSERT", "DELETE") and len(words) > 2:
            table = words[2]
        elif verb in ("UPDATE", "COPY") and len(words) > 1:  # COPY: PostgreSQL's bulk_insert
            table = words[1]
        else:
            return
        written[table.strip('"')] += max(cursor.rowcount, 0)

    return written


class _Phases:
    """Seconds spent reading, planning and applying, from the progress events and apply's own time,
    and the peak RSS (``VmHWM``) so far at the end of each: where the sync's memory peaked."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.planning: float | None = None
        self.apply_seconds = 0.0
        self.apply_started: float | None = None
        self.peak_mb: dict[str, float] = {}

    def progress(self, stage: str, done: int, total: int | None) -> None:
        if stage == "plan" and self.planning is None:
            self.planning = time.perf_counter()
            self.peak_mb["read"] = peak_rss_mb()

    def timed_apply(self, apply: Any) -> Any:
        def run(*args: Any, **kwargs: Any) -> Any:
            self.apply_started = time.perf_counter()
            self.peak_mb["plan"] = peak_rss_mb()
            try:
                return apply(*args, **kwargs)
            finally:
                self.apply_seconds = time.perf_counter() - self.apply_started

        return run

    def split(self) -> dict[str, float]:
        end = time.perf_counter()
        planning = self.planning or end
        applying = self.apply_started or end
        return {"read": planning - self.started, "plan": applying - planning, "apply": self.apply_seconds}


def sync_settings(spec: dict[str, Any]) -> SyncSettings:
    """The generator's domain as verified; the guard's deactivation limit from the spec, if it names one."""
    if spec.get("max_deactivations") is None:
        return SyncSettings(verified_domains=VERIFIED_DOMAINS)
    guard = GuardSettings(max_deactivations=int(spec["max_deactivations"]))
    return SyncSettings(verified_domains=VERIFIED_DOMAINS, guard=guard)


def run_sync(spec: dict[str, Any]) -> dict[str, Any]:
    settings = provider_settings(spec["dialect"], spec["url"], spec["tenant"], spec["creds"])
    provider = registry.create(spec["dialect"], settings)
    store = Store.open(spec["store"])
    store.set_verified_domains(VERIFIED_DOMAINS)  # as the CLI does from its config: apply checks them too
    written = _count_writes(store)
    phases = _Phases()
    sync_module.apply_plan = phases.timed_apply(sync_module.apply_plan)
    try:
        report = sync_directory(
            provider,
            store,
            sync_settings(spec),
            full=spec.get("full"),
            progress=phases.progress,
        )
    finally:
        provider.close()
        store.engine.dispose()
    plan = report.plan
    return {
        "phases": phases.split(),
        "peak_rss_mb_by_phase": {**phases.peak_mb, "end": peak_rss_mb()},
        "users": report.users_read,
        "requests": report.requests,
        "full_read": report.full_read,
        "read_reason": report.read_reason,
        "outcome": report.outcome,
        "changes": sum(report.counts.values()),
        "counts": {k: v for k, v in report.counts.items() if v},
        "bookkeeping": {k: v for k, v in report.bookkeeping.items() if v},
        "failed": len(report.failed),
        "plan_changes": len(plan.changes) if plan is not None else 0,
        "written": dict(written),
    }


def peak_rss_mb() -> float:
    """This process's peak RSS in MiB: ``VmHWM``, else ``ru_maxrss``.

    Linux carries ``ru_maxrss`` across ``execve`` from the forking parent, so
    a child of a big parent would report the parent's size; ``VmHWM`` belongs
    to the new address space only.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


CASES = {"floor": run_floor, "sdk": run_sdk, "sync": run_sync}
IMPORTS = {"floor": "floor", "sdk": "sdk_okta", "sync": "connector.apply.applier"}


def main() -> None:
    spec = json.load(sys.stdin)
    case = CASES[spec["case"]]
    importlib.import_module(IMPORTS[spec["case"]])  # import time is not the case's time (okta: seconds)
    profiler = cProfile.Profile() if spec.get("profile") else None
    started = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    result = case(spec)
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(spec["profile"])
    result["seconds"] = time.perf_counter() - started
    result["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
