"""prefetched: the pages in order, errors where they happened, one page ahead, no thread left."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator

import pytest

from connector.errors import IncompleteReadError
from connector.net.prefetch import prefetched

WAIT = 5.0  # seconds a test waits for the other thread before calling it stuck


class Source:
    """A page generator that records what it fetched, and may be held before a page."""

    def __init__(self, pages: int, *, fail_at: int | None = None, hold_at: int | None = None) -> None:
        self.pages = pages
        self.fail_at = fail_at
        self.hold_at = hold_at
        self.fetched: list[int] = []
        self.closed = threading.Event()
        self.holding = threading.Event()
        self.release = threading.Event()
        self.threads: set[str] = set()
        self.fetched_one = threading.Condition()

    def __iter__(self) -> Iterator[list[int]]:
        try:
            for n in range(self.pages):
                self.threads.add(threading.current_thread().name)
                if n == self.hold_at:
                    self.holding.set()
                    assert self.release.wait(WAIT)
                if n == self.fail_at:
                    raise IncompleteReadError(f"page {n} cut off")
                with self.fetched_one:
                    self.fetched.append(n)
                    self.fetched_one.notify_all()
                yield [n]
        finally:
            self.closed.set()

    def wait_fetched(self, count: int) -> None:
        with self.fetched_one:
            assert self.fetched_one.wait_for(lambda: len(self.fetched) >= count, WAIT)


def _prefetch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "prefetch-test"]


def test_pages_come_in_order_and_from_another_thread() -> None:
    source = Source(50)
    pages = list(prefetched(iter(source), name="prefetch-test"))
    assert pages == [[n] for n in range(50)]
    assert source.threads == {"prefetch-test"}
    assert source.closed.is_set() and not _prefetch_threads()


def test_an_empty_sequence_ends_at_once() -> None:
    assert list(prefetched(iter(Source(0)), name="prefetch-test")) == []
    assert not _prefetch_threads()


def test_an_error_comes_after_the_pages_before_it() -> None:
    source = Source(10, fail_at=4)
    seen: list[list[int]] = []
    consumer = prefetched(iter(source), name="prefetch-test")
    with pytest.raises(IncompleteReadError, match="page 4 cut off"):
        for page in consumer:
            seen.append(page)
    assert seen == [[0], [1], [2], [3]]
    assert source.fetched == [0, 1, 2, 3]
    assert not _prefetch_threads()


def test_never_more_than_one_page_ahead() -> None:
    source = Source(10)
    consumer = prefetched(iter(source), name="prefetch-test")
    for k in range(10):
        page = next(consumer)
        assert page == [k]
        # while page k is held, page k + 1 may be fetched (and is, in time), never k + 2
        if k + 1 < 10:
            source.wait_fetched(k + 2)
        assert len(source.fetched) <= k + 2
    assert list(consumer) == []


def test_closing_early_stops_the_thread_and_closes_the_source() -> None:
    source = Source(1000)
    consumer = prefetched(iter(source), name="prefetch-test")
    assert next(consumer) == [0]
    source.wait_fetched(2)
    consumer.close()
    assert source.closed.is_set()
    assert not _prefetch_threads()
    assert source.fetched == [0, 1]  # page 2 was never asked for


def test_closing_while_a_page_is_in_flight_waits_for_it_then_stops() -> None:
    source = Source(1000, hold_at=1)
    consumer = prefetched(iter(source), name="prefetch-test")
    assert next(consumer) == [0]
    assert source.holding.wait(WAIT)  # page 1's request is "in flight"
    closing = threading.Thread(target=consumer.close)
    closing.start()
    closing.join(0.2)
    assert closing.is_alive()  # close waits for the page in flight ...
    source.release.set()
    closing.join(WAIT)
    assert not closing.is_alive() and not _prefetch_threads()
    assert source.fetched == [0, 1] and source.closed.is_set()  # ... and asks for no more


def test_breaking_out_of_a_for_loop_leaves_no_thread() -> None:
    source = Source(1000)
    for page in prefetched(iter(source), name="prefetch-test"):
        if page == [3]:
            break
    assert not _prefetch_threads()
    assert source.closed.is_set()
    assert source.fetched in ([0, 1, 2, 3], [0, 1, 2, 3, 4])


REQUEST = contextvars.ContextVar("REQUEST", default="none")


def test_the_thread_sees_the_callers_context() -> None:
    def pages() -> Iterator[str]:
        yield REQUEST.get()

    token = REQUEST.set("run 7")
    try:
        assert list(prefetched(pages(), name="prefetch-test")) == ["run 7"]
    finally:
        REQUEST.reset(token)
