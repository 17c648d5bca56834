"""The figures as a table, the ratios, and the issue's targets checked beside them (never asserted)."""

from __future__ import annotations

from typing import Any

# Tables holding the directory's data; runs, the audit log and the cursor (directories) are bookkeeping.
DATA_TABLES = frozenset(
    {"accounts", "links", "groups", "memberships", "idp_users", "idp_groups", "idp_members"}
)
FULL_MAX_SECONDS = 60.0
FULL_MAX_FLOOR_RATIO = 1.5
MIN_USERS_PER_SECOND = 1000.0
AGAIN_MAX_FLOOR_RATIO = 1.2
MAX_RSS_MB = 256.0
DELTA_MAX_FULL_RATIO = 0.1  # at a 1% change: "proportional" read as at most ten times the share changed

COLUMNS = (
    "dialect", "case", "seconds", "read/plan/apply s", "users/s", "requests", "min req", "rss MB", "changes",
    "data rows",
)  # fmt: skip


def data_rows(row: dict[str, Any]) -> int | None:
    written = row.get("written")
    if written is None:
        return None
    return sum(n for table, n in written.items() if table in DATA_TABLES)


def users_per_second(row: dict[str, Any]) -> float:
    return row["users"] / row["seconds"] if row.get("seconds") else 0.0


def ratios(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per dialect and store: full/floor, full/sdk, again/full, again/floor, delta/full."""
    by = {(r["dialect"], r["case"]): r for r in rows}
    out: dict[str, dict[str, float]] = {}
    for dialect in dict.fromkeys(r["dialect"] for r in rows):
        floor, sdk = by.get((dialect, "floor")), by.get((dialect, "sdk"))
        for store in ("sqlite", "postgres"):
            full = by.get((dialect, f"full {store}"))
            if full is None:
                continue
            again, delta = by.get((dialect, f"again {store}")), by.get((dialect, f"delta {store}"))
            found: dict[str, float] = {}
            if floor:
                found["full/floor"] = full["seconds"] / floor["seconds"]
            if sdk:
                found["full/sdk"] = full["seconds"] / sdk["seconds"]
            if again:
                found["again/full"] = again["seconds"] / full["seconds"]
                if floor:
                    found["again/floor"] = again["seconds"] / floor["seconds"]
            if delta:
                found["delta/full"] = delta["seconds"] / full["seconds"]
            out[f"{dialect} {store}"] = found
    return out


def targets(rows: list[dict[str, Any]], ratio: dict[str, dict[str, float]]) -> list[tuple[str, bool, str]]:
    """``(target, met, figure)`` for every full, again and delta case measured."""
    checks: list[tuple[str, bool, str]] = []
    by = {(r["dialect"], r["case"]): r for r in rows}
    for key, found in ratio.items():
        dialect, store = key.split(" ")
        full, again = by[(dialect, f"full {store}")], by.get((dialect, f"again {store}"))
        delta, floor = by.get((dialect, f"delta {store}")), by.get((dialect, "floor"))
        checks.append(
            (
                f"{key}: full <= {FULL_MAX_SECONDS:.0f} s",
                full["seconds"] <= FULL_MAX_SECONDS,
                f"{full['seconds']:.1f} s",
            )
        )
        if "full/floor" in found:
            checks.append(
                (
                    f"{key}: full <= {FULL_MAX_FLOOR_RATIO}x floor",
                    found["full/floor"] <= FULL_MAX_FLOOR_RATIO,
                    f"{found['full/floor']:.2f}x",
                )
            )
        speed = users_per_second(full)
        checks.append(
            (
                f"{key}: >= {MIN_USERS_PER_SECOND:.0f} users/s",
                speed >= MIN_USERS_PER_SECOND,
                f"{speed:.0f} users/s",
            )
        )
        if again is not None and "again/floor" in found:
            checks.append(
                (
                    f"{key}: again <= {AGAIN_MAX_FLOOR_RATIO}x floor",
                    found["again/floor"] <= AGAIN_MAX_FLOOR_RATIO,
                    f"{found['again/floor']:.2f}x",
                )
            )
        if again is not None:
            rows_written = data_rows(again) or 0
            checks.append(
                (
                    f"{key}: again writes nothing",
                    again["changes"] == 0 and rows_written == 0,
                    f"{again['changes']} changes, {rows_written} data rows",
                )
            )
        if delta is not None:
            checks.append(
                (
                    f"{key}: delta <= {DELTA_MAX_FULL_RATIO}x full",
                    found["delta/full"] <= DELTA_MAX_FULL_RATIO,
                    f"{found['delta/full']:.3f}x",
                )
            )
        for case in (full, again, delta):
            if case is not None:
                checks.append(
                    (
                        f"{key}: {case['case']} peak RSS <= {MAX_RSS_MB:.0f} MB",
                        case["peak_rss_mb"] <= MAX_RSS_MB,
                        f"{case['peak_rss_mb']:.0f} MB",
                    )
                )
        if floor is not None:
            extra = full["requests"] - floor["minimum_requests"]
            checks.append(
                (
                    f"{key}: full requests = minimum + cursor calls",
                    0 <= extra <= 3,
                    f"{full['requests']} = {floor['minimum_requests']} + {extra}",
                )
            )
    return checks


def table(rows: list[dict[str, Any]]) -> str:
    """The rows as an aligned text table."""
    lines = [COLUMNS]
    for r in rows:
        rows_written = data_rows(r)
        lines.append(
            (
                r["dialect"],
                r["case"],
                f"{r['seconds']:.1f}",
                "/".join(f"{v:.1f}" for v in r["phases"].values()) if "phases" in r else "",
                f"{users_per_second(r):,.0f}",
                str(r["requests"]),
                str(r.get("minimum_requests", "")),
                f"{r['peak_rss_mb']:.0f}",
                str(r.get("changes", "")),
                "" if rows_written is None else str(rows_written),
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(COLUMNS))]
    text = ("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)) for line in lines)
    return "\n".join(line.rstrip() for line in text)


def render(rows: list[dict[str, Any]]) -> str:
    """Table, ratios and targets, as printed at the end of a run."""
    ratio = ratios(rows)
    out = [table(rows), "", "ratios:"]
    for key, found in ratio.items():
        out.append(f"  {key}: " + ", ".join(f"{name} {value:.2f}" for name, value in found.items()))
    out += ["", "targets:"]
    for name, met, figure in targets(rows, ratio):
        out.append(f"  [{'met' if met else 'MISSED'}] {name}: {figure}")
    later = [r for r in rows if r.get("read_reason") and not str(r.get("case", "")).startswith("full")]
    if later:  # planned only what changed, or the whole directory and why
        out += ["", "how the runs after the first planned:"]
        out += [f"  {r['dialect']} {r['case']}: {r['read_reason']}" for r in later]
    troubled = [r for r in rows if r.get("failed") or r.get("outcome") not in (None, "applied")]
    if troubled:
        out += ["", "runs that did not simply apply (their figures are not comparable):"]
        out += [
            f"  {r['dialect']} {r['case']}: {r.get('outcome')}, {r.get('failed', 0)} change(s) failed"
            for r in troubled
        ]
    return "\n".join(out)
