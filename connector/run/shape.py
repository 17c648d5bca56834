"""The shape of one run, decided once before the read: what it reads, and what it plans.

What it reads: the changes since the stored cursor, when the provider can say
what changed (:meth:`Provider.changes`), or every object.  A full read happens on
a directory's first sync, when asked (``full=True``), when the last full read is
older than ``settings.full_read_interval`` (default a day, well inside Graph's
7-day delta-token life) to catch whatever deltas miss, and with a provider that
cannot say what changed.

What it plans: only the identities the read reaches (*scoped*,
:mod:`connector.store.scope`), when the store is exactly as this directory's last
run left it and the planning settings are the ones it recorded; otherwise the
whole directory against the whole store.  A saved plan is always whole (it
carries a fingerprint of the whole store).

Two things only the run itself can learn change the shape, each by a named
step: the IdP refuses the stored cursor (:meth:`RunShape.cursor_refused`: a full
read instead), and something writes to the store while the run reads
(:meth:`RunShape.planned_whole`).  The run's ``read_reason`` is told from the
final shape (:meth:`RunShape.describe`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from datetime import timezone

from connector import __version__
from connector.model import DirectoryState
from connector.providers.base import Provider
from connector.rules.settings import SyncSettings

CHANGES_SINCE_CURSOR = "changes since the stored cursor"
CURSOR_REFUSED = "the IdP refused the stored cursor"
WHOLE_ASKED = "a whole plan was asked for"


@dataclass(frozen=True)
class RunShape:
    """What a run reads and what it plans, each with its reason."""

    full_read: str | None
    """Why the run reads every object; None when it reads the changes since the cursor."""
    scoped: bool
    """Whether it plans only the identities the read reaches."""
    whole: str | None = None
    """Why it plans the whole directory although it has been synced before (None: no reason to tell)."""

    @property
    def read_reason(self) -> str:
        """Why the run reads what it reads."""
        return self.full_read if self.full_read is not None else CHANGES_SINCE_CURSOR

    def cursor_refused(self) -> RunShape:
        """The IdP refused the stored cursor: a full read instead, planned as before."""
        return dataclasses.replace(self, full_read=CURSOR_REFUSED)

    def planned_whole(self, why: str) -> RunShape:
        """The scoped plan was refused (the store moved during the read): plan the whole directory."""
        return dataclasses.replace(self, scoped=False, whole=why)

    def describe(self, identities: int | None = None) -> str:
        """The run's ``read_reason``: what it read and why, and how it planned.

        ``identities`` is how many a scoped plan planned."""
        if self.scoped:
            reached = "they touch" if self.full_read is None else "that differ from the last read"
            return f"{self.read_reason}; planned only the {identities} identities {reached}"
        if self.whole is not None:
            return f"{self.read_reason}; planned whole: {self.whole}"
        return self.read_reason


def planning_basis(settings: SyncSettings) -> str:
    """A digest of what planning depends on besides the store and the directory.

    Recorded with a run; a later run plans only what changed only while it is
    the same (the verified and managed domains, the missing threshold, the
    connector's version).
    """
    basis = {
        "version": __version__,
        "verified_domains": sorted(settings.verified_domains),
        "missing_threshold": settings.missing_threshold,
        "managed_domains": sorted(settings.managed),
    }
    return hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest()


def full_read_reason(
    provider: Provider, state: DirectoryState | None, settings: SyncSettings, full: bool | None, now: datetime
) -> str | None:
    """Why this run must read everything, or None when changes since the cursor will do."""
    if full:
        return "a full read was asked for"
    if not provider.supports_changes:
        return f"the {provider.name} provider cannot say what changed"
    if state is None or not state.synced_before or not state.cursor:
        return "first sync of this directory"
    last = state.last_full_read_at
    if last is None:
        return "no full read on record"
    if last.tzinfo is None:
        last = last.replace(tzinfo=timezone.utc)
    if now - last >= settings.full_read_interval:
        return f"the last full read is older than {settings.full_read_interval}"
    return None


def decide_shape(
    provider: Provider,
    state: DirectoryState | None,
    settings: SyncSettings,
    *,
    full: bool | None,
    whole: bool,
    saved: bool,
    store_moved: Callable[[], str | None],
    now: datetime,
) -> RunShape:
    """The run's shape, from what the store knows of the directory's last run.

    ``saved``: the plan is to be saved (always whole).  ``whole``: the caller asked
    for a whole plan.  ``store_moved()`` says why the store is not as the last run
    left it (:func:`connector.store.scope.why_whole`), None when it is; it is asked
    only when the answer decides the shape.
    """
    full_read = full_read_reason(provider, state, settings, full, now)
    # only a directory synced before, whose provider keeps a mirror to tell what changed, can be
    # scoped; a saved plan is made whole (it carries the whole store's fingerprint)
    eligible = not saved and state is not None and state.synced_before and provider.supports_changes
    if not eligible:
        return RunShape(full_read, scoped=False)
    if whole:
        return RunShape(full_read, scoped=False, whole=WHOLE_ASKED)
    moved = store_moved()
    return RunShape(full_read, scoped=moved is None, whole=moved)
