"""Build a vendor's client and run one cycle: what ``mock-idp push`` and the tests call."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import requests

from mock_idp.push import entra
from mock_idp.push import okta
from mock_idp.push.client import Report
from mock_idp.push.client import ScimClient
from mock_idp.push.cycle import run_cycle
from mock_idp.push.dialect import Dialect
from mock_idp.push.record import PushRecord
from mock_idp.push.source import Snapshot

VENDORS = ("okta", "entra")


def make_dialect(
    vendor: str,
    url: str,
    token: str,
    *,
    compliant: bool = False,
    match: str = "userName",
    max_wait: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    session: requests.Session | None = None,
) -> Dialect:
    """The vendor's dialect over a client of ``url``; ``max_wait`` caps each retry wait."""
    module = {"okta": okta, "entra": entra}.get(vendor)
    if module is None:
        raise ValueError(f"unknown vendor {vendor!r}; one of {', '.join(VENDORS)}")
    policy = module.RETRY
    if max_wait is not None:
        policy = dataclasses.replace(policy, max_wait=max_wait)
    client = ScimClient(url, token, policy=policy, headers=module.HEADERS, sleep=sleep, session=session)
    if vendor == "okta":
        return okta.Okta(client)
    return entra.Entra(client, compliant=compliant, match=match)


def push(snapshot: Snapshot, record: PushRecord, dialect: Dialect) -> Report:
    """One cycle of ``snapshot`` into the dialect's service; ``record`` is updated in place."""
    return run_cycle(snapshot, record, dialect)
