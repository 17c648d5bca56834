"""Helpers for reading the live mock IdP through each adapter: settings, expectations, admin calls.

The mock's canonical :class:`~mock_idp.state.directory.Directory` is the truth; each
dialect shows it with its own ids (Okta ``okta_id``, Graph and SCIM
``object_id``) and Okta lists a group's users transitively (it has no nesting).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import requests

from connector.model import MemberKind
from connector.net.settings import AuthSettings
from connector.net.settings import HttpSettings
from connector.net.settings import Secret
from connector.providers.azure_ad import AzureADProvider
from connector.providers.base import Provider
from connector.providers.base import ProviderSettings
from connector.providers.okta import OktaProvider
from connector.providers.scim import ScimProvider
from mock_idp.server import MockIdpServer
from mock_idp.state.credentials import default_credentials
from mock_idp.state.directory import Directory

Snapshot = dict[str, Any]


def make_provider(
    server: MockIdpServer,
    dialect: str,
    *,
    oauth: bool = False,
    page_size: int | None = None,
    http: HttpSettings,
) -> Provider:
    """An adapter for ``dialect`` on the running mock, with the seed's default credentials."""
    creds = default_credentials(server.directory.seed)
    if server.ca_file:
        http = HttpSettings(**{**http.__dict__, "ca_bundle": str(server.ca_file)})
    if dialect == "okta":
        auth = (
            AuthSettings(
                "private_key_jwt",
                client_id=creds.okta_client_id,
                private_key=Secret(creds.okta_private_key_pem),
                key_id=creds.okta_key_id,
            )
            if oauth
            else AuthSettings("ssws", token=Secret(creds.okta_api_token))
        )
        return OktaProvider(ProviderSettings("okta-e2e", server.url, auth, page_size=page_size, http=http))
    if dialect == "graph":
        auth = AuthSettings(
            "client_secret", client_id=creds.graph_client_id, client_secret=Secret(creds.graph_client_secret)
        )
        options = {"tenant": server.directory.tenant_id, "authority": server.url}
        return AzureADProvider(
            ProviderSettings(
                "graph-e2e", f"{server.url}/v1.0", auth, page_size=page_size, http=http, options=options
            )
        )
    if oauth:
        auth = AuthSettings(
            "client_secret",
            client_id=creds.scim_client_id,
            client_secret=Secret(creds.scim_client_secret),
            token_url=f"{server.url}/scim/oauth2/token",
            scopes=("scim.read",),
        )
    else:
        auth = AuthSettings("bearer", token=Secret(creds.scim_token))
    return ScimProvider(
        ProviderSettings("scim-e2e", f"{server.url}/scim/v2", auth, page_size=page_size, http=http)
    )


def expected(directory: Directory, dialect: str) -> Snapshot:
    """What a complete read of ``directory`` through ``dialect`` must return."""
    okta = dialect == "okta"
    uid = {u.object_id: (u.okta_id if okta else u.object_id) for u in directory.users.values()}
    gid = {g.object_id: (g.okta_id if okta else g.object_id) for g in directory.groups.values()}
    users = {
        uid[u.object_id]: (u.upn if dialect == "graph" else u.user_name, u.email, u.active)
        for u in directory.users.values()
    }
    members: dict[str, frozenset] = {}
    for g in directory.groups.values():
        if okta:
            found = {(uid[m], MemberKind.USER) for m in directory.transitive_user_ids(g.object_id)}
        else:
            found = {(uid[m], MemberKind.USER) for m in g.user_ids} | {
                (gid[m], MemberKind.GROUP) for m in g.group_ids
            }
        members[gid[g.object_id]] = frozenset(found)
    return {
        "users": users,
        "groups": {gid[g.object_id]: g.name for g in directory.groups.values()},
        "members": members,
    }


def read(provider: Provider) -> Snapshot:
    """A full read through ``provider``, in the shape of :func:`expected`."""
    users = {}
    for u in provider.iter_users():
        assert u.idp_user_id not in users, f"user {u.idp_user_id} read twice"
        users[u.idp_user_id] = (u.user_name, u.email, u.active)
    groups = {g.idp_group_id: g.name for g in provider.iter_groups()}
    members = {g: frozenset((m.member_id, m.kind) for m in provider.iter_members(g)) for g in groups}
    return {"users": users, "groups": groups, "members": members}


def minimal_requests(directory: Directory, dialect: str, page: int, token_calls: int) -> int:
    """⌈U/page⌉ + ⌈G/page⌉ + Σ⌈members/page⌉ + token calls (SCIM: one request a group).

    Okta adds one request to a sequence whose last page is full, to confirm the end.
    """

    def pages(n: int) -> int:
        confirm = 1 if dialect == "okta" and n and n % page == 0 else 0  # a full last page is confirmed
        return max(1, math.ceil(n / page)) + confirm

    total = pages(len(directory.users)) + pages(len(directory.groups)) + token_calls
    for g in directory.groups.values():
        if dialect == "scim":
            total += 1
        elif dialect == "okta":
            total += pages(len(directory.transitive_user_ids(g.object_id)))
        else:
            total += pages(len(g.user_ids) + len(g.group_ids))
    return total


@dataclass
class Admin:
    """The mock's ``/_admin`` plane over HTTP."""

    server: MockIdpServer

    def call(self, method: str, path: str, body: Any = None) -> Any:
        response = requests.request(
            method,
            f"{self.server.url}/_admin{path}",
            json=body,
            headers={"Authorization": f"Bearer {self.server.admin_token}"},
            timeout=10,
            verify=str(self.server.ca_file) if self.server.ca_file else True,
        )
        assert response.status_code < 300, f"admin {method} {path}: {response.status_code} {response.text}"
        return response.json() if response.content else None


class FakeClock:
    """Epoch seconds that move only when the client 'sleeps': rate-limit windows pass instantly."""

    def __init__(self, start: float) -> None:
        self.now_value = start
        self.slept = 0.0

    def now(self) -> float:
        return self.now_value

    def sleep(self, seconds: float) -> None:
        self.now_value += seconds
        self.slept += seconds
