"""Read the next page while the current one is mapped: a bounded prefetch on one thread.

:func:`prefetched` wraps a page generator (:mod:`connector.net.paging`): a
background thread runs it, and hands each page over as soon as the consumer
has taken the one before, so the request for page *k + 1* is in flight while
page *k* is mapped into records.  Never more than one page is fetched ahead
of the one the consumer holds: memory stays two pages, and the rate budget
sees the same requests in the same order as without the thread.

What the consumer sees is what it would see iterating the generator itself:
the same pages in the same order, and an error the generator raises comes
out of the consumer's ``next()`` after every page before it.  Closing the
consumer early (``break``, an error of its own, ``generator.close()``) stops
the thread: it closes the wrapped generator on its own thread after the page
in flight, if any, and the consumer waits for it (a request in flight ends
within the client's timeouts).

The thread runs in a copy of the caller's context (:mod:`contextvars`), so
log records name the same directory and run.  Everything the wrapped
generator uses must be safe from a second thread: the
:class:`~connector.net.http.HttpClient` is.
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Generic
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class _Failed:
    """What the wrapped generator raised, to be raised again on the consumer's side."""

    error: BaseException


class _End:
    """The wrapped generator is done."""


_END = _End()


class _Handoff(Generic[T]):
    """The producer's side: one page handed over at a time, one more fetched once it is taken."""

    def __init__(self, pages: Iterator[T]) -> None:
        self._pages = pages
        self.out: queue.Queue[T | _Failed | _End] = queue.Queue()
        self._taken = threading.Semaphore(0)
        self._stopped = threading.Event()

    def produce(self) -> None:
        try:
            for page in self._pages:
                self.out.put(page)
                self._taken.acquire()  # the next request waits until the consumer holds this page
                if self._stopped.is_set():
                    return
            self.out.put(_END)
        except BaseException as exc:  # handed to the consumer, raised there
            self.out.put(_Failed(exc))
        finally:
            close = getattr(self._pages, "close", None)
            if close is not None:
                close()  # on this thread, the one that ran it

    def taken(self) -> None:
        self._taken.release()

    def stop(self) -> None:
        self._stopped.set()
        self._taken.release()  # wakes the producer if it waits for a take


def prefetched(pages: Iterator[T], *, name: str = "prefetch") -> Iterator[T]:
    """``pages``, fetched one page ahead on a background thread named ``name``; see the module."""
    handoff: _Handoff[T] = _Handoff(pages)
    context = contextvars.copy_context()
    thread = threading.Thread(target=context.run, args=(handoff.produce,), name=name, daemon=True)
    thread.start()
    try:
        while True:
            item = handoff.out.get()
            if isinstance(item, _End):
                return
            if isinstance(item, _Failed):
                raise item.error
            handoff.taken()
            yield item
    finally:
        handoff.stop()
        thread.join()
