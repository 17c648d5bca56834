"""When a read's malformed objects make the read itself a fault of the source.

docs/contract.md, "2. Map": a malformed object is skipped and reported and the run goes on;
when more than 1% of a read's objects are malformed, the read is a fault of the source and the
run stops before planning (the next run reads again).
"""

from __future__ import annotations

from collections.abc import Iterable

from connector.model import ReadProblem

MAX_MALFORMED_SHARE = 0.01


def malformed_fault(problems: Iterable[ReadProblem], objects_read: int) -> str | None:
    """Why the read must not be planned from, or None.  ``objects_read`` counts the users and
    groups the read returned readable; the malformed ones are added to it."""
    malformed = [p for p in problems if p.malformed]
    total = objects_read + len(malformed)
    if not malformed or len(malformed) <= total * MAX_MALFORMED_SHARE:
        return None
    shown = "; ".join(p.reason for p in malformed[:3])
    more = f" (and {len(malformed) - 3} more)" if len(malformed) > 3 else ""
    return (
        f"{len(malformed)} of the {total} objects read are malformed, over "
        f"{MAX_MALFORMED_SHARE:.0%}: a fault of the source, nothing was planned; {shown}{more}"
    )
