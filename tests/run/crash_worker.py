"""One sync run in a child process, for the crash test (``tests/run/test_crash.py``).

``PYTHONPATH=tests python tests/run/crash_worker.py URL PHASE [PAUSE_AFTER]`` syncs the fake directory
of ``PHASE`` (1: as seeded; 2: after a day of changes) into the store at
``URL`` in batches of 50.  With ``PAUSE_AFTER`` it stops after that many
committed batches and waits to be killed; with env ``KILL_SELF_AFTER``
(seconds) it kills itself that long after its first committed batch, wherever
it then is.  It prints one line per committed batch and a JSON summary.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time

from builders import user
from fakes import FakeProvider

from connector.model import MemberKind
from connector.rules.settings import SyncSettings
from connector.run.sync import sync_directory
from connector.store import Store

SETTINGS = SyncSettings(
    verified_domains=("example.com",), product_grants={"jira-software": ("Group 0", "Group 3")}
)
USERS = 150
GROUPS = 10
BATCH = 50


def directory(phase: int) -> FakeProvider:
    """The same directory in every process: the change log (and so the cursors) match."""
    idp = FakeProvider("crash-dir")
    for n in range(USERS):
        idp.put_user(user(n))
    for g in range(GROUPS):
        idp.put_group(f"g{g}", f"Group {g}")
    for n in range(USERS):
        idp.add_member(f"g{n % GROUPS}", f"u{n}")
    for n in range(0, USERS, 7):
        idp.add_member(f"g{(n + 3) % GROUPS}", f"u{n}")
    idp.add_member("g0", "g1", MemberKind.GROUP)
    if phase >= 2:
        for n in range(0, USERS, 3):
            idp.update_user(f"u{n}", display_name=f"Renamed {n}")
        for n in range(USERS, USERS + 30):
            idp.put_user(user(n))
            idp.add_member("g2", f"u{n}")
        for n in range(1, 5):
            idp.update_user(f"u{n * 30}", active=False, raw_status="SUSPENDED")
        for n in range(5, USERS, 11):
            idp.remove_member(f"g{n % GROUPS}", f"u{n}")
        idp.put_group("g10", "Group 10")
        for n in range(60):
            idp.add_member("g10", f"u{n}")
    return idp


def main() -> None:
    url, phase = sys.argv[1], int(sys.argv[2])
    pause_after = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    kill_after = os.environ.get("KILL_SELF_AFTER")
    store = Store.open(url)
    store.set_verified_domains(SETTINGS.verified_domains)
    store.set_product_grants(SETTINGS.product_grants)
    committed = 0

    def progress(stage: str, done: int, total: int | None) -> None:
        nonlocal committed
        if stage != "apply":
            return
        committed += 1
        print(f"apply {done}/{total}", flush=True)
        if kill_after is not None and committed == 1:
            timer = threading.Timer(float(kill_after), os.kill, (os.getpid(), signal.SIGKILL))
            timer.daemon = True
            timer.start()
        if pause_after and committed == pause_after:
            print("paused", flush=True)
            time.sleep(600)

    report = sync_directory(directory(phase), store, SETTINGS, batch_size=BATCH, progress=progress)
    print(
        json.dumps({"outcome": report.outcome, "full_read": report.full_read, "counts": report.counts}),
        flush=True,
    )
    store.close()


if __name__ == "__main__":
    main()
