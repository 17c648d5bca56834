"""What planning a run needs from the store, loaded on a worker thread while the IdP is read.

:func:`connector.run.sync` plans from three things the store holds: the snapshot
of accounts, links, groups and memberships, the mirror of the last read, and
(for a sync's report) the billing figures before it.  Reading them takes
seconds at 100k users, and the IdP read mostly waits on the network, so
:class:`StoreInputs` starts them on a worker thread first and hands each over
when planning asks for it.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import ThreadPoolExecutor
from typing import Literal
from typing import TypeVar

from connector.model import DirectoryView
from connector.model import StoreSnapshot
from connector.rules.billing import BillingReport
from connector.rules.mirror import MirrorIndex
from connector.run.read_differences import MirrorDigests
from connector.store import Store

T = TypeVar("T")
MirrorForm = Literal["view", "index"]
"""``view``: the whole mirror as records, for an incremental run to lay its changes over;
``index``: its digests only, for a full read to be compared with."""


def _load_mirror(store: Store, directory_id: str, *, whole: bool) -> MirrorIndex | DirectoryView:
    """The mirror as a view (``whole``, for an incremental run to overlay) or as its index."""
    return store.mirror(directory_id) if whole else store.mirror_index(directory_id)


class StoreInputs:
    """What planning needs from the store, loaded on a worker thread while the IdP is read.

    The read mostly waits on the IdP, so loading the snapshot, the mirror and
    the billing figures alongside it hides their cost.  The run lock is held
    and nothing writes to the store until they are in, so they describe the
    store the plan is applied to.  An in-memory SQLite store shares one
    connection between threads, so it is loaded on the caller's thread.
    """

    def __init__(
        self,
        store: Store,
        directory_id: str,
        *,
        fingerprint: bool,
        mirror: MirrorForm | None,
        billing: bool,
        scoped: bool = False,
        later_billing: bool = False,
    ) -> None:
        self._pool: ThreadPoolExecutor | None = None
        if not store.threads_share_one_connection:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="store-inputs")
        self.store = store
        self.directory_id = directory_id
        self.scoped = scoped  # the store is as the last run left it: this run may plan only what changed
        self._digests: MirrorDigests | None = None
        self._billing: Future[BillingReport] | None = None
        self._load_billing = store.billing if billing else None
        if not later_billing:
            self._start_billing()
        self._snapshot: Future[tuple[StoreSnapshot, str, int]] | None = None
        self._mirror: Future[MirrorIndex | DirectoryView] | None = None
        self._load_snapshot = lambda: store.planning_input(directory_id, fingerprint=fingerprint)
        whole = mirror == "view"
        self._load_mirror = (lambda: _load_mirror(store, directory_id, whole=whole)) if mirror else None
        if not scoped:  # else they load only if the run turns out to need them
            self._start()

    def _start(self) -> None:
        if self._snapshot is None:
            self._snapshot = self._submit(self._load_snapshot)
        if self._mirror is None and self._load_mirror is not None:
            self._mirror = self._submit(self._load_mirror)

    def _start_billing(self) -> None:
        if self._billing is None and self._load_billing is not None:
            self._billing = self._submit(self._load_billing)

    def _submit(self, load: Callable[[], T]) -> Future[T]:
        if self._pool is not None:
            return self._pool.submit(load)
        done: Future[T] = Future()
        done.set_result(load())
        return done

    def snapshot(self) -> tuple[StoreSnapshot, str, int]:
        """The snapshot, its fingerprint (or ``""``) and the store revision it was read at."""
        self._start()
        assert self._snapshot is not None
        return self._snapshot.result()

    def mirror(self) -> MirrorIndex | DirectoryView | None:
        """The mirror as asked for: a view when an incremental run was expected, else its index."""
        self._start()
        return self._mirror.result() if self._mirror is not None else None

    def mirror_digests(self) -> MirrorDigests:
        """The mirror's digests, loading alone on the worker thread (the users' first), for a full
        read to compare itself with as it goes (:mod:`connector.run.read_differences`)."""
        if self._digests is None:
            d = self.directory_id
            self._digests = MirrorDigests(
                self._submit(lambda: self.store.mirror_user_digests(d)),
                self._submit(lambda: self.store.mirror_lists(d)),
            )
        return self._digests

    def billing(self) -> BillingReport | None:
        """The billing figures before the run (``later_billing``: counted now, on first ask)."""
        self._start_billing()
        return self._billing.result() if self._billing is not None else None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
