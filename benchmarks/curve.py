"""Time and peak memory against directory size, from the ``--json`` files of ``run.py``, as a table and a PNG.

    python benchmarks/run.py --users 10000 --groups 100 --dialects okta --json 10k.json
    python benchmarks/run.py --users 100000 --dialects okta --json 100k-1.json   # ... and so on
    python benchmarks/curve.py 10k.json 30k.json 100k-*.json --png docs/first-sync-curve.png

Each file is one run at one size (``sizes.users``); several runs of one size
give the best of them (the fastest wall time, and the lowest peak RSS, of each
case).  Prints one line per case and size; with ``--png`` also draws two
panels, wall seconds and peak RSS against users, one line per case (log
scales), and ``--title`` above them.  Needs matplotlib (the ``bench`` extra).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

Curves = dict[str, dict[int, dict[str, Any]]]
"""``"okta full sqlite"`` -> users -> the best figures at that size and how many runs gave them."""


def best_of(files: list[Path]) -> Curves:
    """Per case and size: the fastest wall time and lowest peak RSS of the runs in ``files``."""
    curves: Curves = defaultdict(dict)
    for path in files:
        data = json.loads(path.read_text())
        users = int(data["sizes"]["users"])
        for row in data["rows"]:
            name = f"{row['dialect']} {row['case']}"
            seen = curves[name].get(users)
            if seen is None:
                curves[name][users] = {"seconds": row["seconds"], "rss_mb": row["peak_rss_mb"], "runs": 1}
                continue
            seen["seconds"] = min(seen["seconds"], row["seconds"])
            seen["rss_mb"] = min(seen["rss_mb"], row["peak_rss_mb"])
            seen["runs"] += 1
    return dict(curves)


def table(curves: Curves) -> str:
    lines = [f"{'case':<22} {'users':>9} {'seconds':>9} {'peak RSS MB':>12} {'runs':>5}"]
    for name, sizes in sorted(curves.items()):
        for users, figures in sorted(sizes.items()):
            lines.append(
                f"{name:<22} {users:>9,} {figures['seconds']:>9.1f} {figures['rss_mb']:>12.0f} "
                f"{figures['runs']:>5}"
            )
    return "\n".join(lines)


def plot(curves: Curves, png: Path, title: str) -> None:
    """Two panels (seconds, peak RSS) against users, one line per case, into ``png``."""
    import matplotlib

    matplotlib.use("Agg")  # no display: a file only
    from matplotlib import pyplot

    figure, (left, right) = pyplot.subplots(1, 2, figsize=(11, 4.5))
    for name, sizes in sorted(curves.items()):
        users = sorted(sizes)
        left.plot(users, [sizes[u]["seconds"] for u in users], marker="o", label=name)
        right.plot(users, [sizes[u]["rss_mb"] for u in users], marker="o", label=name)
    for axes, label in ((left, "wall seconds (best of the runs)"), (right, "peak RSS, MB")):
        axes.set_xscale("log")
        axes.set_yscale("log")
        axes.set_xlabel("users in the directory")
        axes.set_ylabel(label)
        axes.grid(True, which="both", alpha=0.3)
    right.legend(fontsize="small")
    figure.suptitle(title)
    figure.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(png, dpi=110)
    pyplot.close(figure)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path, help="JSON files written by run.py --json")
    parser.add_argument("--png", type=Path, help="draw the curves into this PNG")
    parser.add_argument("--title", default="time and peak memory against directory size")
    args = parser.parse_args(argv)
    curves = best_of(args.files)
    print(table(curves))
    if args.png is not None:
        plot(curves, args.png, args.title)
        print(f"wrote {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
