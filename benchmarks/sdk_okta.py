"""What a user would write instead: the official ``okta`` SDK (3.x) listing the same directory.

Users with the same ``lastUpdated`` filter as the adapter (a plain list
hides ``DEPROVISIONED`` users), groups, then every group's users, each paged
at 200 by the SDK's own cursor (``PaginationHelper.extract_next_cursor``).
The SDK refuses plain http unless ``OKTA_TESTING_TESTINGDISABLEHTTPSCHECK``
is set, which this module does for its own process only.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from floor import FloorCount
from okta.client import Client
from okta.pagination import PaginationHelper

from connector.providers.okta import ALL_USERS_FILTER


async def _collect(method: Any, *args: Any, counter: list[int], **kwargs: Any) -> int:
    seen, after = 0, None
    while True:
        page, response, error = await method(*args, limit=200, after=after, **kwargs)
        counter[0] += 1
        if error is not None:
            raise RuntimeError(f"okta SDK: {error}")
        seen += len(page)
        after = PaginationHelper.extract_next_cursor(response.headers)
        if not after:
            return seen


async def _read(url: str, token: str) -> FloorCount:
    client = Client({"orgUrl": url, "token": token})
    counter = [0]
    count = FloorCount()
    count.users = await _collect(client.list_users, counter=counter, filter=ALL_USERS_FILTER)
    group_ids: list[str] = []
    after = None
    while True:
        page, response, error = await client.list_groups(limit=200, after=after)
        counter[0] += 1
        if error is not None:
            raise RuntimeError(f"okta SDK: {error}")
        group_ids += [g.id for g in page]
        after = PaginationHelper.extract_next_cursor(response.headers)
        if not after:
            break
    for group_id in group_ids:
        count.member_counts.append(await _collect(client.list_group_users, group_id, counter=counter))
    count.groups = len(group_ids)
    count.memberships = sum(count.member_counts)
    count.requests = counter[0]
    return count


def read_okta_sdk(url: str, token: str) -> FloorCount:
    """Every user, group and group membership through ``okta.client.Client`` (SSWS)."""
    os.environ["OKTA_TESTING_TESTINGDISABLEHTTPSCHECK"] = "true"
    for name in ("OKTA_CLIENT_TOKEN", "OKTA_CLIENT_ORGURL", "OKTA_CLIENT_AUTHORIZATIONMODE"):
        os.environ.pop(name, None)
    return asyncio.run(_read(url, token))
