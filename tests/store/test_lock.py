"""One run per directory at a time, on both backends, and across processes."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time

import pytest

from connector.errors import RunInProgressError
from connector.store import Store

HOLDER = """
import sys, time
from connector.store import Store
store = Store.open(sys.argv[1])
with store.run_lock(sys.argv[2]):
    print("locked", flush=True)
    time.sleep(120)
"""


def test_a_second_run_of_the_same_directory_is_refused(store: Store, store_url: str) -> None:
    other = Store.open(store_url)
    try:
        with store.run_lock("okta"):
            with pytest.raises(RunInProgressError, match="another run is in progress for directory 'okta'"):
                with other.run_lock("okta"):
                    pass
            with other.run_lock("entra"):  # another directory runs alongside
                pass
        with other.run_lock("okta"):  # released on exit
            pass
    finally:
        other.close()


def test_the_lock_is_released_when_the_run_fails(store: Store) -> None:
    with pytest.raises(ValueError), store.run_lock("okta"):
        raise ValueError("boom")
    with store.run_lock("okta"):
        pass


def test_wait_queues_behind_the_holder(store: Store, store_url: str) -> None:
    other = Store.open(store_url)
    released = threading.Event()
    seen_released: list[bool] = []

    def second() -> None:
        with other.run_lock("okta", wait=True):
            seen_released.append(released.is_set())

    try:
        with store.run_lock("okta"):
            waiter = threading.Thread(target=second)
            waiter.start()
            waiter.join(0.3)  # give it the chance to jump the queue, if it could
            released.set()
        waiter.join(30)
        assert seen_released == [True]
    finally:
        other.close()


def test_in_memory_store_has_a_process_local_lock() -> None:
    with Store.open("sqlite://") as store:
        with store.run_lock("d"), pytest.raises(RunInProgressError):
            with store.run_lock("d"):
                pass


def test_a_killed_holder_leaves_no_lock_behind(store: Store, store_url: str) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, store_url, "okta"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "locked"
        with pytest.raises(RunInProgressError):
            with store.run_lock("okta"):
                pass
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(30)
        child.stdout.close()  # type: ignore[union-attr]
    # the OS (SQLite) or the server (PostgreSQL, on seeing the session end) drops it
    for _ in range(100):
        try:
            with store.run_lock("okta"):
                return
        except RunInProgressError:
            time.sleep(0.1)
    pytest.fail("the lock outlived the process that held it")


@pytest.mark.postgres
def test_two_stores_in_two_schemas_of_one_server_do_not_block_each_other(pg_urls) -> None:
    first, second = Store.open(pg_urls()), Store.open(pg_urls())
    try:
        with first.run_lock("okta"), second.run_lock("okta"):
            pass
    finally:
        first.close()
        second.close()


def test_a_run_of_another_directory_of_the_organization_waits_for_the_first(
    store: Store, store_url: str
) -> None:
    """The organization's directories share its accounts: one writing run of it at a time."""
    from connector.errors import OrganizationBusyError
    from connector.store.registry import OrganizationEntry

    store.save_organization(OrganizationEntry("other", "Other"))
    same = Store.open(store_url)
    elsewhere = Store.open(store_url, org="other")
    try:
        with store.writing_run("okta"):
            with pytest.raises(OrganizationBusyError, match="another run of this organization"):
                with same.writing_run("entra"):
                    pass
            started = time.monotonic()
            with pytest.raises(OrganizationBusyError):
                with same.writing_run("entra", wait=0.3):
                    pass
            assert time.monotonic() - started >= 0.3  # kept trying for the time given
            with elsewhere.writing_run("okta"):  # another organization runs alongside
                pass
        with same.writing_run("entra", wait=0.3):  # released on exit
            pass
        released = threading.Event()

        def hold_briefly() -> None:
            with store.writing_run("okta"):
                released.wait(5)
                time.sleep(0.1)

        holder = threading.Thread(target=hold_briefly)
        holder.start()
        time.sleep(0.1)
        released.set()
        with same.writing_run("entra", wait=5.0):  # taken once the holder is done
            pass
        holder.join()
    finally:
        same.close()
        elsewhere.close()
