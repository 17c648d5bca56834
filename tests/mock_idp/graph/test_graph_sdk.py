"""Fidelity with the official Microsoft Graph SDK (``msgraph-sdk`` with ``azure-identity``).

Run with ``tox -e graph-sdk`` (or ``pip install -e '.[test,graph-sdk]' && pytest -m
graph_sdk``); without ``msgraph`` installed the module skips.  The mock serves
https (azure-identity refuses a non-https authority, protocols file §2.1); the
SDK's httpx client trusts the mock's CA through ``verify=``, the credentials
through ``connection_verify``.  The aio credential posts straight to the token
endpoint; the sync one (MSAL) reads the tenant's OpenID configuration first
and skips instance discovery.  The request adapter's ``base_url`` is the
mock's ``/v1.0``; ``allowed_hosts`` lets the token go to 127.0.0.1 and the
scope stays Graph's ``.default`` (the SDK would derive one from the host).

The generated request builders warn about their own deprecated classes when
first imported, hence the narrow ``filterwarnings``.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from collections.abc import Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import requests

from mock_idp.server import MockIdpServer
from mock_idp.state.credentials import default_credentials
from mock_idp.state.directory import Directory
from mock_idp.state.generator import generate

msgraph = pytest.importorskip("msgraph")
identity = pytest.importorskip("azure.identity")
identity_aio = pytest.importorskip("azure.identity.aio")
httpx = pytest.importorskip("httpx")
graph_adapter = pytest.importorskip("msgraph.graph_request_adapter")
graph_core = pytest.importorskip("msgraph_core")
graph_auth = pytest.importorskip("msgraph_core.authentication")
request_configuration = pytest.importorskip("kiota_abstractions.base_request_configuration")

pytestmark = [
    pytest.mark.graph_sdk,
    pytest.mark.e2e,
    pytest.mark.filterwarnings("ignore:This class is deprecated. Please use the generic:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:GetQueryParameters is deprecated:DeprecationWarning"),
]

SEED = 5
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
SELECTED = ["id", "mail", "otherMails", "userType", "accountEnabled", "externalUserState"]


def make_directory() -> Directory:
    """45 users (guests, disabled accounts, odd-case mail) and 8 groups, three of them nested."""
    return generate(users=45, groups=8, seed=SEED)


@pytest.fixture(scope="module")
def directory() -> Directory:
    return make_directory()


@pytest.fixture(scope="module")
def server(directory: Directory) -> Iterator[MockIdpServer]:
    """The mock over https, shared by the tests that only read."""
    with MockIdpServer(directory, tls=True) as running:
        yield running


@pytest.fixture
def own_server() -> Iterator[MockIdpServer]:
    """The mock over https with a directory of its own, for tests that change it or set faults."""
    with MockIdpServer(make_directory(), tls=True) as running:
        yield running


def credential(server: MockIdpServer, kind: str) -> Any:
    creds = default_credentials(SEED)
    tenant = server.directory.tenant_id
    if kind == "aio":
        return identity_aio.ClientSecretCredential(
            tenant,
            creds.graph_client_id,
            creds.graph_client_secret,
            authority=server.url,
            connection_verify=str(server.ca_file),
        )
    return identity.ClientSecretCredential(
        tenant,
        creds.graph_client_id,
        creds.graph_client_secret,
        authority=server.url,
        connection_verify=str(server.ca_file),
        disable_instance_discovery=True,
    )


@asynccontextmanager
async def graph_client(server: MockIdpServer, kind: str = "aio") -> AsyncIterator[Any]:
    """A ``GraphServiceClient`` with the SDK's default middleware (retry included) aimed at the mock."""
    cred = credential(server, kind)
    http = httpx.AsyncClient(verify=ssl.create_default_context(cafile=str(server.ca_file)), http2=True)
    http = graph_core.GraphClientFactory.create_with_default_middleware(
        client=http, options=graph_adapter.options
    )
    auth = graph_auth.AzureIdentityAuthenticationProvider(
        cred, scopes=[GRAPH_SCOPE], allowed_hosts=["127.0.0.1"]
    )
    adapter = graph_adapter.GraphRequestAdapter(auth, http)
    adapter.base_url = f"{server.url}/v1.0"
    try:
        yield msgraph.GraphServiceClient(request_adapter=adapter)
    finally:
        await http.aclose()
        closed = cred.close()
        if closed is not None:
            await closed


def config(query_parameters: Any = None, headers: dict[str, str] | None = None) -> Any:
    built = request_configuration.RequestConfiguration(query_parameters=query_parameters)
    for name, value in (headers or {}).items():
        built.headers.add(name, value)
    return built


async def every_page(builder: Any, first: Any) -> tuple[list[Any], int]:
    """Every item of a collection, following ``odata_next_link``; and how many pages it took."""
    page = await builder.get(request_configuration=first)
    items, pages = list(page.value), 1
    while page.odata_next_link:
        page = await builder.with_url(page.odata_next_link).get()
        items.extend(page.value)
        pages += 1
    return items, pages


def admin(server: MockIdpServer, method: str, path: str, **kwargs: Any) -> requests.Response:
    response = requests.request(
        method,
        f"{server.url}/_admin{path}",
        headers={"Authorization": f"Bearer {server.admin_token}"},
        verify=server.ca_file,
        timeout=10,
        **kwargs,
    )
    response.raise_for_status()
    return response


# ---------------------------------------------------------------- reads


@pytest.mark.parametrize("kind", ["aio", "msal"])
def test_sdk_lists_every_user_through_next_links(server, directory, kind):
    from msgraph.generated.users.users_request_builder import UsersRequestBuilder

    async def read() -> tuple[list[Any], int]:
        async with graph_client(server, kind) as client:
            top = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(top=7)
            return await every_page(client.users, config(top))

    before = len(directory.issued_tokens)
    users, pages = asyncio.run(read())
    assert len(directory.issued_tokens) - before == 1  # one token, reused on every page
    assert pages == 7  # 45 users, 7 a page
    assert sorted(u.id for u in users) == sorted(directory.users)
    by_id = {u.id: u for u in users}
    for user in directory.users.values():
        got = by_id[user.object_id]
        assert (got.user_principal_name, got.mail, got.display_name) == (
            user.upn,
            user.email,
            user.display_name,
        )
        assert got.account_enabled is None  # returned only on $select (protocols file §2.4)


def test_sdk_lists_every_group_and_types_each_member(server, directory):
    from msgraph.generated.groups.item.members.members_request_builder import MembersRequestBuilder
    from msgraph.generated.models.group import Group
    from msgraph.generated.models.user import User

    async def read() -> tuple[list[Any], dict[str, tuple[list[Any], int]]]:
        async with graph_client(server) as client:
            groups, _ = await every_page(client.groups, None)
            top = MembersRequestBuilder.MembersRequestBuilderGetQueryParameters(top=5)
            members = {
                g.id: await every_page(client.groups.by_group_id(g.id).members, config(top)) for g in groups
            }
            return groups, members

    groups, members = asyncio.run(read())
    assert {g.id: g.display_name for g in groups} == {g.object_id: g.name for g in directory.groups.values()}
    nested = 0
    for group in directory.groups.values():
        found, pages = members[group.object_id]
        assert pages == -(-(len(group.user_ids) + len(group.group_ids)) // 5)
        users = [m for m in found if isinstance(m, User)]
        children = [m for m in found if isinstance(m, Group)]
        assert len(users) + len(children) == len(found)  # never a bare DirectoryObject
        assert sorted(u.id for u in users) == sorted(group.user_ids)
        assert {u.user_principal_name for u in users} == {directory.users[u].upn for u in group.user_ids}
        assert {(c.id, c.display_name) for c in children} == {
            (x, directory.groups[x].name) for x in group.group_ids
        }
        nested += len(children)
    assert nested >= 2


def test_sdk_reads_guests_and_disabled_accounts_with_select(server, directory):
    from msgraph.generated.users.item.user_item_request_builder import UserItemRequestBuilder
    from msgraph.generated.users.users_request_builder import UsersRequestBuilder

    guests = [u for u in directory.users.values() if u.user_type == "Guest"]
    guest = next(u for u in guests if u.external_user_state == "PendingAcceptance")

    async def read() -> tuple[list[Any], Any]:
        async with graph_client(server) as client:
            listing = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(select=SELECTED, top=20)
            users, _ = await every_page(client.users, config(listing))
            one = UserItemRequestBuilder.UserItemRequestBuilderGetQueryParameters(select=SELECTED)
            return users, await client.users.by_user_id(guest.object_id).get(config(one))

    users, one = asyncio.run(read())
    assert one.id == guest.object_id
    assert one.mail == guest.email
    assert one.other_mails == list(guest.other_mails) != []
    assert (one.user_type, one.account_enabled, one.external_user_state) == (
        "Guest",
        True,
        "PendingAcceptance",
    )
    assert one.display_name is None  # not selected
    seen = {
        u.id: (u.mail, u.other_mails, u.user_type, u.account_enabled, u.external_user_state) for u in users
    }
    assert seen == {
        u.object_id: (u.email, list(u.other_mails), u.user_type, u.active, u.external_user_state)
        for u in directory.users.values()
    }
    states = {v[4] for v in seen.values()}
    assert {"PendingAcceptance", "Accepted", None} <= states
    assert {v[3] for v in seen.values()} == {True, False}


def test_sdk_casts_members_with_the_graph_alias(server, directory):
    """msgraph-sdk casts as ``/members/graph.user`` (the CSDL alias of ``microsoft.graph``)."""
    from msgraph.generated.models.group import Group
    from msgraph.generated.models.user import User

    group = next(g for g in directory.groups.values() if g.group_ids)

    async def read() -> tuple[Any, Any, Any]:
        async with graph_client(server) as client:
            item = client.groups.by_group_id(group.object_id)
            users = await item.members.graph_user.get()
            groups = await item.members.graph_group.get()
            transitive = await item.transitive_members.graph_user.get()
            return users.value, groups.value, transitive.value

    users, groups, transitive = asyncio.run(read())
    assert all(isinstance(u, User) for u in users + transitive)
    assert all(isinstance(x, Group) for x in groups)
    assert sorted(u.id for u in users) == sorted(group.user_ids)
    assert sorted(x.id for x in groups) == sorted(group.group_ids)
    assert sorted(u.id for u in transitive) == sorted(directory.transitive_user_ids(group.object_id))
    assert len(transitive) > len(users)


def test_sdk_counts_with_consistency_level(server, directory):
    """``/users/$count`` and ``/groups/{id}/members/$count`` answer a plain-text number (user-list.md)."""
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError
    from msgraph.generated.users.count.count_request_builder import CountRequestBuilder

    group = next(g for g in directory.groups.values() if g.group_ids)
    eventual = {"ConsistencyLevel": "eventual"}

    async def read() -> tuple[int, int, int]:
        async with graph_client(server) as client:
            guests = CountRequestBuilder.CountRequestBuilderGetQueryParameters(filter="userType eq 'Guest'")
            return (
                await client.users.count.get(config(headers=eventual)),
                await client.users.count.get(config(guests, eventual)),
                await client.groups.by_group_id(group.object_id).members.count.get(config(headers=eventual)),
            )

    async def without_header() -> None:
        async with graph_client(server) as client:
            await client.users.count.get()

    users, guests, members = asyncio.run(read())
    assert users == len(directory.users)
    assert guests == sum(u.user_type == "Guest" for u in directory.users.values()) > 0
    assert members == len(group.user_ids) + len(group.group_ids)
    with pytest.raises(ODataError) as caught:
        asyncio.run(without_header())
    assert caught.value.response_status_code == 400


def test_sdk_sees_graph_errors_as_odata_errors(server):
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError

    async def read() -> None:
        async with graph_client(server) as client:
            await client.users.by_user_id("00000000-0000-0000-0000-000000000000").get()

    with pytest.raises(ODataError) as caught:
        asyncio.run(read())
    assert caught.value.response_status_code == 404
    assert caught.value.error.code == "Request_ResourceNotFound"
    assert "00000000-0000-0000-0000-000000000000" in caught.value.error.message


# ---------------------------------------------------------------- delta and throttling


def test_sdk_delta_round_returns_only_what_changed(own_server):
    from msgraph.generated.users.delta.delta_request_builder import DeltaRequestBuilder

    directory = own_server.directory
    changed, deleted = sorted(directory.users)[3], sorted(directory.users)[8]
    page_size = {"Prefer": "odata.maxpagesize=10"}

    async def follow(client: Any, first: Any, url: str | None = None) -> tuple[list[Any], int, str]:
        builder = client.users.delta if url is None else client.users.delta.with_url(url)
        page = await builder.get(request_configuration=first)
        items, pages = list(page.value), 1
        while page.odata_next_link:
            page = await client.users.delta.with_url(page.odata_next_link).get(config(headers=page_size))
            items.extend(page.value)
            pages += 1
        assert page.odata_delta_link, "the last page of a round carries the deltaLink"
        return items, pages, page.odata_delta_link

    async def rounds() -> list[tuple[list[Any], int, str]]:
        async with graph_client(own_server) as client:
            select = DeltaRequestBuilder.DeltaRequestBuilderGetQueryParameters(
                select=["displayName", "jobTitle", "accountEnabled"]
            )
            initial = await follow(client, config(select, page_size))
            admin(own_server, "PATCH", f"/users/{changed}", json={"title": "Chief Cartographer"})
            after_patch = await follow(client, None, initial[2])
            admin(own_server, "DELETE", f"/users/{deleted}")
            after_delete = await follow(client, None, after_patch[2])
            quiet = await follow(client, None, after_delete[2])
            return [initial, after_patch, after_delete, quiet]

    initial, after_patch, after_delete, quiet = asyncio.run(rounds())
    assert initial[1] == 5  # 45 users, 10 a page
    assert sorted(u.id for u in initial[0]) == sorted([*directory.users, deleted])
    assert all(u.user_principal_name is None for u in initial[0])  # $select kept by the tokens
    [patched] = after_patch[0]
    assert (patched.id, patched.job_title) == (changed, "Chief Cartographer")
    assert patched.display_name == directory.users[changed].display_name
    [removed] = after_delete[0]
    assert removed.id == deleted
    assert removed.additional_data["@removed"] == {"reason": "deleted"}
    assert quiet[0] == []


def test_sdk_groups_delta_carries_membership_changes(own_server):
    """``members@delta`` is no property of the SDK's ``Group``: it lands in ``additional_data``
    (ids parsed as UUIDs), the full member list first, then the net changes (protocols file §2.6)."""
    directory = own_server.directory
    group = next(g for g in directory.groups.values() if g.group_ids)
    joiner = next(u for u in sorted(directory.users) if u not in group.user_ids)
    leaver = sorted(group.user_ids)[0]

    def refs(item: Any) -> list[tuple[str, str, bool]]:
        return sorted(
            (str(r["id"]), r["@odata.type"], "@removed" in r) for r in item.additional_data["members@delta"]
        )

    async def rounds() -> tuple[list[Any], list[Any]]:
        async with graph_client(own_server) as client:
            initial = await client.groups.delta.get()
            assert initial.odata_next_link is None
            admin(own_server, "POST", f"/groups/{group.object_id}/members/{joiner}")
            admin(own_server, "DELETE", f"/groups/{group.object_id}/members/{leaver}")
            changes = await client.groups.delta.with_url(initial.odata_delta_link).get()
            return list(initial.value), list(changes.value)

    initial, changes = asyncio.run(rounds())
    first = next(x for x in initial if x.id == group.object_id)
    assert refs(first) == sorted(
        [(u, "#microsoft.graph.user", False) for u in {*group.user_ids, leaver} - {joiner}]
        + [(x, "#microsoft.graph.group", False) for x in group.group_ids]
    )
    [changed] = changes
    assert changed.id == group.object_id
    assert refs(changed) == sorted(
        [(joiner, "#microsoft.graph.user", False), (leaver, "#microsoft.graph.user", True)]
    )


def test_sdk_retry_handler_rides_out_a_429(own_server):
    rule = {"kind": "rate_limit", "dialect": "graph", "path": "^/v1.0/groups$", "count": 1, "retry_after": 1}
    admin(own_server, "POST", "/faults", json=rule)

    async def read() -> list[Any]:
        async with graph_client(own_server) as client:
            page = await client.groups.get()
            return list(page.value)

    groups = asyncio.run(read())
    assert sorted(g.id for g in groups) == sorted(own_server.directory.groups)
    [fault] = admin(own_server, "GET", "/faults").json()["faults"]
    assert (fault["fired"], fault["count"]) == (1, 0)


def test_sdk_reads_retry_after_as_seconds(own_server):
    """The retry handler parses ``Retry-After`` with ``int()`` and gives up at 180 s or more; a
    value it could not parse would send it to its ~4 s backoff instead, and the retry would
    pass (the rule fires once).  So an immediate 429 shows the integer was read."""
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError

    rule = {"kind": "rate_limit", "dialect": "graph", "path": "^/v1.0/users$", "count": 1, "retry_after": 180}
    admin(own_server, "POST", "/faults", json=rule)

    async def read() -> None:
        async with graph_client(own_server) as client:
            await client.users.get()

    with pytest.raises(ODataError) as caught:
        asyncio.run(read())
    assert caught.value.response_status_code == 429
    assert caught.value.error.code == "TooManyRequests"
    [fault] = admin(own_server, "GET", "/faults").json()["faults"]
    assert fault["fired"] == 1
