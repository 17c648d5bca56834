"""The outbox under a kill -9: a batch that committed has its events, one that did not has none.

The sync runs in a child process (``crash_worker.py``) killed between batches or anywhere; the
events kept must be exactly the audit log's applied changes (both are written in the batch's
transaction), and after the rerun the events of each type equal a clean run's.
"""

from __future__ import annotations

import signal
from collections import Counter

import pytest
from test_crash import both_urls  # noqa: F401  (fixtures)
from test_crash import killed_while_paused
from test_crash import run
from test_crash import synced
from test_crash import urls  # noqa: F401

from connector.rules import events as ev
from connector.rules.plan import Action
from connector.store import Store

pytestmark = pytest.mark.slow


def kept(url: str) -> tuple[Counter[str], Counter[str]]:
    """The events by type, and the audit log's applied changes as the events they make."""
    with Store.open(url, upgrade=False) as store:
        found, after = [], None
        while page := store.events(after, limit=1000):
            found += page
            after = page[-1].event_id
        audited = Counter(
            ev.EVENT_OF_ACTION[Action(a.action)]
            for a in store.audit()
            if a.outcome == "applied" and a.run_id is not None and Action(a.action) in ev.EVENT_OF_ACTION
        )
    return Counter(e.type for e in found), audited


def changes(by_type: Counter[str]) -> Counter[str]:
    return Counter({t: n for t, n in by_type.items() if t in ev.EVENT_OF_ACTION.values()})


def test_killed_between_batches_the_committed_batches_have_their_events_and_no_more(
    both_urls: tuple[str, str],  # noqa: F811
) -> None:
    clean, crashed = both_urls
    synced(clean, 1)
    killed_while_paused(crashed, 1, 3)
    partial, audited = kept(crashed)
    assert changes(partial) == audited and sum(audited.values()) > 0
    assert ev.SYNC_COMPLETED not in partial  # the run never ended
    whole, _ = kept(clean)
    assert changes(partial) != changes(whole)
    synced(crashed, 1)
    assert kept(crashed)[0] == whole  # the rerun wrote the rest, nothing twice


def test_killed_anywhere_the_events_match_the_committed_changes(urls: tuple[str, str]) -> None:  # noqa: F811
    clean, crashed = urls
    synced(clean, 1)
    first = run(crashed, 1, env={"KILL_SELF_AFTER": "0.002"})
    assert first.returncode in (0, -signal.SIGKILL), first.stderr
    by_type, audited = kept(crashed)
    assert changes(by_type) == audited
    synced(crashed, 1)
    assert kept(crashed)[0] == kept(clean)[0]
