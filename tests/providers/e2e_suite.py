"""The end-to-end checks every adapter runs against the live mock (tests/e2e/test_providers_*.py).

Each function takes the dialect name (``okta``, ``graph``, ``scim``) and
starts its own mock on a free port.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from connector.errors import IncompleteReadError
from connector.net.settings import HttpSettings
from connector.providers.base import Provider
from mock_idp.faults import RateLimiter
from mock_idp.server import MockIdpServer
from mock_idp.state.generator import generate

from .mock_support import Admin
from .mock_support import FakeClock
from .mock_support import expected
from .mock_support import make_provider
from .mock_support import minimal_requests
from .mock_support import read

USERS = 230
GROUPS = 9
PAGE = 50
FAST = HttpSettings(max_retries=8, backoff_base=0.0, backoff_max=0.0, max_total_wait=120.0)


@contextmanager
def live(
    dialect: str,
    *,
    oauth: bool = False,
    tls: bool = False,
    config: dict[str, Any] | None = None,
    seed: int = 3,
) -> Iterator[tuple[MockIdpServer, Provider]]:
    with MockIdpServer(generate(users=USERS, groups=GROUPS, seed=seed), tls=tls, config=config) as server:
        provider = make_provider(server, dialect, oauth=oauth, page_size=PAGE, http=FAST)
        try:
            yield server, provider
        finally:
            provider.close()


def token_calls(dialect: str, oauth: bool) -> int:
    return 1 if oauth or dialect == "graph" else 0


def full_read_equals_the_mock(dialect: str, *, oauth: bool = False, tls: bool = False) -> None:
    with live(dialect, oauth=oauth, tls=tls) as (server, provider):
        assert read(provider) == expected(server.directory, dialect)


def request_count_is_minimal(dialect: str, *, oauth: bool = False) -> None:
    with live(dialect, oauth=oauth) as (server, provider):
        read(provider)
        want = minimal_requests(server.directory, dialect, PAGE, token_calls(dialect, oauth))
        assert provider.request_count == want


def read_survives_faults(dialect: str) -> None:
    """30% of answers 429, some 503s, two dropped connections: the read is still exact."""
    faults = [
        {"kind": "rate_limit", "dialect": dialect, "probability": 0.3, "retry_after": 0, "seed": 11},
        {"kind": "status", "status": 503, "dialect": dialect, "probability": 0.1, "seed": 12},
        {"kind": "drop", "dialect": dialect, "probability": 0.05, "count": 2, "seed": 13},
    ]
    with live(dialect, config={"FAULTS": faults}) as (server, provider):
        clock = FakeClock(time.time())
        provider.http._sleep = clock.sleep  # the fault engine draws by chance, not by time: no need to wait
        got = read(provider)
        assert got == expected(server.directory, dialect)
        fired = [rule["fired"] for rule in Admin(server).call("GET", "/faults")["faults"]]
        assert fired[0] > 0 and fired[1] > 0, f"faults did not fire: {fired}"
        assert provider.request_count == minimal_requests(
            server.directory, dialect, PAGE, token_calls(dialect, False)
        ) + sum(fired)


def read_survives_a_per_minute_limit(dialect: str, limit: int = 8) -> tuple[int, float]:
    """A budget of ``limit`` requests a minute, far below the read's needs; windows pass on a fake clock."""
    with live(dialect) as (server, provider):
        clock = FakeClock(time.time())
        server.app.extensions["mock_idp"].faults.limiter = RateLimiter({dialect: limit}, clock=clock.now)
        provider.http._sleep = clock.sleep
        assert read(provider) == expected(server.directory, dialect)
        return provider.request_count, clock.slept


def truncated_sequence_raises(dialect: str, path: str) -> None:
    """A page sequence the mock cuts short (no next link) raises instead of reading fewer objects."""
    faults = [{"kind": "truncate", "dialect": dialect, "path": path}]  # every page: some list has several
    with live(dialect, config={"FAULTS": faults}) as (_, provider):
        with pytest.raises(IncompleteReadError):
            read(provider)


def truncated_member_lists_are_reported(dialect: str, path: str) -> None:
    """Member lists the mock cuts short (fewer than the count it announces) are read, and each such
    group is reported as not known to be complete: its memberships will stay as they are."""
    faults = [{"kind": "truncate", "dialect": dialect, "path": path}]
    with live(dialect, config={"FAULTS": faults}) as (server, provider):
        read(provider)
        reported = {p.object_id for p in provider.problems if p.kind == "members"}
        several = {g.object_id for g in server.directory.groups.values() if len(g.user_ids) > 1}
    assert reported and reported <= several  # only lists long enough to be cut
    assert all(p.kind == "members" for p in provider.problems)


def no_secret_in_logs(dialect: str, caplog: Any, *, oauth: bool = False) -> None:
    """A read with retries over real sockets, logged at DEBUG (urllib3 too): no credential in any line."""
    caplog.set_level(logging.DEBUG)
    faults = [{"kind": "status", "status": 503, "dialect": dialect, "count": 2}]
    with live(dialect, oauth=oauth, config={"FAULTS": faults}) as (server, provider):
        read(provider)
        secrets = [s for s in provider.http.auth.secret_values() if len(s) >= 8]
    assert secrets and caplog.records
    for secret in secrets:
        assert secret not in caplog.text
