"""Fidelity with the official ``okta`` SDK (3.4.6): SSWS and PrivateKey modes, paging, 429 retry.

The SDK refuses a non-https org URL unless ``testing.testingDisableHttpsCheck``
is set; a ``Client({...})`` dict only fills the ``client`` section, so the
flag comes from the environment (``OKTA_TESTING_TESTINGDISABLEHTTPSCHECK``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from joserfc.jwk import RSAKey

from mock_idp.server import MockIdpServer
from mock_idp.state.directory import ApiToken
from mock_idp.state.directory import Directory
from mock_idp.state.directory import OAuthClient
from mock_idp.state.generator import generate

okta_client = pytest.importorskip("okta.client")
okta_pagination = pytest.importorskip("okta.pagination")

pytestmark = pytest.mark.e2e

SCOPES = ["okta.users.read", "okta.groups.read"]
SSWS = "00sdk-test-api-token"
CLIENT_ID = "0oasdkservice0000000"
KID = "sdk-key-1"


@pytest.fixture(autouse=True)
def _plain_http_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OKTA_TESTING_TESTINGDISABLEHTTPSCHECK", "true")
    for name in ("OKTA_CLIENT_TOKEN", "OKTA_CLIENT_ORGURL", "OKTA_CLIENT_AUTHORIZATIONMODE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": KID})


@pytest.fixture(scope="module")
def directory(key: RSAKey) -> Directory:
    d = generate(users=45, groups=4, seed=21)
    d.set_status(next(iter(d.users)), "DEPROVISIONED")
    d.add_api_token(ApiToken(SSWS, "okta", name="sdk"))
    jwks = {"keys": [key.as_dict(private=False)]}
    d.add_client(OAuthClient(CLIENT_ID, "okta", "private_key_jwt", tuple(SCOPES), jwks=jwks))
    return d


@pytest.fixture(scope="module")
def server(directory: Directory) -> Iterator[MockIdpServer]:
    with MockIdpServer(directory) as running:
        yield running


def ssws_config(server: MockIdpServer, key: RSAKey) -> dict[str, Any]:
    return {"orgUrl": server.url, "token": SSWS}


def private_key_config(server: MockIdpServer, key: RSAKey) -> dict[str, Any]:
    return {
        "orgUrl": server.url,
        "authorizationMode": "PrivateKey",
        "clientId": CLIENT_ID,
        "scopes": SCOPES,
        "privateKey": key.as_pem(private=True).decode(),
        "kid": KID,
    }


async def collect(method: Any, *args: Any, limit: int) -> list[Any]:
    """Every item of a listing, following the SDK's own cursor extraction."""
    items: list[Any] = []
    after = None
    while True:
        page, response, error = await method(*args, limit=limit, after=after)
        assert error is None, error
        items.extend(page)
        after = okta_pagination.PaginationHelper.extract_next_cursor(response.headers)
        if not after:
            return items


async def read_everything(config: dict[str, Any]) -> tuple[list[Any], list[Any], dict[str, list[Any]]]:
    client = okta_client.Client(config)
    users = await collect(client.list_users, limit=10)
    groups = await collect(client.list_groups, limit=3)
    members = {group.id: await collect(client.list_group_users, group.id, limit=7) for group in groups}
    return users, groups, members


def expected(directory: Directory) -> tuple[set[str], set[str], dict[str, set[str]]]:
    users = {u.okta_id for u in directory.users.values() if u.status != "DEPROVISIONED"}
    groups = {g.okta_id for g in directory.groups.values()}
    members = {
        g.okta_id: {directory.user(uid).okta_id for uid in directory.transitive_user_ids(g.object_id)}
        for g in directory.groups.values()
    }
    return users, groups, members


@pytest.mark.parametrize("mode", ["ssws", "private_key"])
def test_sdk_lists_every_user_group_and_member(server, key, directory, mode):
    config = (ssws_config if mode == "ssws" else private_key_config)(server, key)
    before = len(directory.issued_tokens)
    users, groups, members = asyncio.run(read_everything(config))
    issued = len(directory.issued_tokens) - before
    assert issued == (1 if mode == "private_key" else 0)  # one token from /oauth2/v1/token, reused
    want_users, want_groups, want_members = expected(directory)
    assert [u.id for u in users] == sorted(want_users)
    assert len(users) > 30
    assert {g.id for g in groups} == want_groups
    assert {gid: {u.id for u in found} for gid, found in members.items()} == want_members
    assert any(len(found) > 7 for found in members.values())  # members paged too
    first = next(u for u in users if u.id == min(want_users))
    source = directory.user_by_okta_id(first.id)
    assert first.profile.login == source.user_name
    assert first.profile.email == source.email
    assert first.status.value == source.status


def test_sdk_filter_reaches_deprovisioned_users(server, key, directory):
    async def run() -> list[Any]:
        client = okta_client.Client(ssws_config(server, key))
        users, _, error = await client.list_users(filter='status eq "DEPROVISIONED"')
        assert error is None
        return users

    found = asyncio.run(run())
    assert [u.id for u in found] == [
        u.okta_id for u in directory.users.values() if u.status == "DEPROVISIONED"
    ]


def test_sdk_sees_okta_errors(server, key):
    async def run() -> Any:
        client = okta_client.Client(ssws_config(server, key))
        return await client.get_group("00gdoesnotexist00000")

    _, _, error = asyncio.run(run())
    assert error is not None
    assert "E0000007" in str(error)


def test_sdk_bad_token_is_refused(server):
    async def run() -> Any:
        client = okta_client.Client({"orgUrl": server.url, "token": "00not-a-real-token"})
        return await client.list_users()

    _, _, error = asyncio.run(run())
    assert error is not None and "E0000011" in str(error)


@pytest.mark.slow
def test_sdk_retries_a_429_by_itself(directory, key):
    """One 429 (with ``Date`` and ``X-Rate-Limit-Reset``), then the SDK's retry succeeds."""
    faults = [
        {"kind": "rate_limit", "dialect": "okta", "path": "^/api/v1/groups$", "count": 1, "retry_after": 0}
    ]
    with MockIdpServer(directory, config={"FAULTS": faults}) as running:
        engine = running.app.extensions["mock_idp"].faults

        async def run() -> Any:
            client = okta_client.Client(ssws_config(running, key))
            return await client.list_groups()

        groups, _, error = asyncio.run(run())
        assert error is None, error
        assert {g.id for g in groups} == {g.okta_id for g in directory.groups.values()}
        assert engine.rules[0].fired == 1
