"""How a run reports progress: one callback type for every stage (read, plan, apply).

``progress(stage, done, total)`` is called as a stage advances; ``total`` is
None while it is unknown (a read before its last page).  The CLI draws bars or
logs lines from it (:mod:`connector.cli.output`); the engine only calls it.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str, int, "int | None"], None]
"""``progress(stage, done, total)``."""
