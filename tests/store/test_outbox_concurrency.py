"""Two writers of one organization: the ids follow the commits, so a reader that saw the second
writer's events can never have a first writer's event appear behind its cursor."""

from __future__ import annotations

import threading
import time

from connector.store import Store
from connector.store.outbox import EventDraft
from connector.store.outbox import write_events


def test_a_second_writer_waits_for_the_first_and_its_ids_come_after(store: Store) -> None:
    other = store.for_org(store.org)
    first_ids: list[str] = []
    second_ids: list[str] = []
    second_done = threading.Event()

    def second() -> None:
        with other.transaction() as conn:
            second_ids.extend(write_events(conn, [EventDraft("group.created", {"n": 2})]))
        second_done.set()

    with store.transaction() as conn:
        first_ids.extend(write_events(conn, [EventDraft("group.created", {"n": 1})]))
        writer = threading.Thread(target=second)
        writer.start()
        time.sleep(0.5)
        assert not second_done.is_set()  # it waits for this transaction's commit
        assert store.events() == []  # and nothing of this one is readable before it commits
    writer.join(30)
    assert second_done.is_set()
    assert first_ids[0] < second_ids[0]
    assert [e.event_id for e in store.events()] == first_ids + second_ids


def test_a_rolled_back_transaction_leaves_no_event(store: Store) -> None:
    try:
        with store.transaction() as conn:
            write_events(conn, [EventDraft("group.created", {"n": 1})])
            raise RuntimeError("the change failed")
    except RuntimeError:
        pass
    assert store.events() == [] and store.newest_event_id() is None
