"""End to end: mock A, changed through its admin API, pushed into mock B's SCIM endpoint.

B must end up holding A's users and groups (by userName and displayName) with the same
memberships, after the initial cycle and again after an incremental one: for Okta (whose
group PATCH names the group's ``id``) and for Entra with and without ``aadOptscim062020``
(whose path-less ``replace`` has dotted keys).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from mock_idp.push.dialect import Dialect
from mock_idp.push.record import PushRecord
from mock_idp.push.run import make_dialect
from mock_idp.push.run import push
from mock_idp.push.source import Snapshot
from mock_idp.push.source import from_admin
from mock_idp.server import MockIdpServer
from mock_idp.state.directory import ApiToken
from mock_idp.state.directory import Directory
from mock_idp.state.generator import generate

ADMIN = "a-admin-token"
SCIM_TOKEN = "b-scim-token"


@pytest.fixture
def mock_a() -> Iterator[MockIdpServer]:
    config = {"ADMIN_TOKEN": ADMIN, "DEFAULT_CREDENTIALS": False}
    with MockIdpServer(generate(30, 5, seed=7), config=config) as server:
        yield server


@pytest.fixture
def mock_b() -> Iterator[MockIdpServer]:
    directory = Directory(seed=99)
    directory.add_api_token(ApiToken(SCIM_TOKEN, "scim", ("scim.read", "scim.write")))
    with MockIdpServer(directory, config={"DEFAULT_CREDENTIALS": False}) as server:
        yield server


class Admin:
    """A few admin API calls on mock A."""

    def __init__(self, server: MockIdpServer) -> None:
        self.base = server.url + "/_admin"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {ADMIN}"

    def __call__(self, method: str, path: str, **body: Any) -> Any:
        response = self.session.request(method, self.base + path, json=body or None)
        assert response.status_code < 300, response.text
        return response.json() if response.content else None


def _push(a: MockIdpServer, b: MockIdpServer, record: PushRecord, **options: Any) -> tuple[Snapshot, Dialect]:
    snapshot = from_admin(a.url, ADMIN)
    dialect = make_dialect(record.dialect, record.target, SCIM_TOKEN, sleep=lambda s: None, **options)
    report = push(snapshot, record, dialect)
    assert report.failures == [], report.failures
    return snapshot, dialect


def _expected_users(snapshot: Snapshot, dialect: Dialect, record: PushRecord) -> dict[str, bool]:
    """userName -> active, for every user B should hold: A's, and those left deactivated."""
    out = {dialect.attributes(u)["userName"]: bool(u["active"]) for u in snapshot.users.values()}
    for object_id, link in record.users.items():
        if object_id not in snapshot.users:
            out[link.sent["userName"]] = False
    return out


def _assert_converged(snapshot: Snapshot, dialect: Dialect, record: PushRecord, b: MockIdpServer) -> None:
    held = {u.user_name: u for u in b.directory.users.values()}
    assert {name: u.active for name, u in held.items()} == _expected_users(snapshot, dialect, record)
    for user in snapshot.users.values():
        attrs = dialect.attributes(user)
        pushed = held[attrs["userName"]]
        assert (pushed.given_name, pushed.family_name, pushed.email) == (
            attrs["givenName"],
            attrs["familyName"],
            attrs["email"],
        )
    names = {u["id"]: dialect.attributes(u)["userName"] for u in snapshot.users.values()}
    want = {g.name: sorted(names[u] for u in g.user_ids) for g in snapshot.groups.values()}
    got = {
        g.name: sorted(b.directory.users[u].user_name for u in g.user_ids)
        for g in b.directory.groups.values()
    }
    assert got == want


def _change_a(admin: Admin, snapshot: Snapshot) -> None:
    """An update, a deactivation, a member added and removed, a soft and a hard delete, a rename."""
    users = list(snapshot.users)
    groups = list(snapshot.groups.values())
    admin("PATCH", f"/users/{users[0]}", family_name="Renamed", email="renamed@example.com")
    admin("POST", f"/users/{users[1]}/deactivate")
    in_group = groups[0].user_ids[0]
    admin("DELETE", f"/groups/{groups[0].object_id}/members/{in_group}")
    outsider = next(u for u in users[5:] if u not in groups[1].user_ids)
    admin("POST", f"/groups/{groups[1].object_id}/members/{outsider}")
    admin("DELETE", f"/users/{users[2]}")
    admin("DELETE", f"/users/{users[3]}?permanent=true")
    admin("PATCH", f"/groups/{groups[2].object_id}", name="Renamed group")
    admin("POST", "/users", user_name="newcomer@example.com", email="newcomer@example.com", given_name="New")


@pytest.mark.parametrize(
    "compliant",
    [pytest.param(False, id="entra"), pytest.param(True, id="entra-aadOptscim062020")],
)
def test_entra_push_converges_then_converges_again(
    mock_a: MockIdpServer, mock_b: MockIdpServer, compliant: bool
) -> None:
    record = PushRecord("entra", mock_b.url + "/scim/v2")
    snapshot, dialect = _push(mock_a, mock_b, record, compliant=compliant)
    _assert_converged(snapshot, dialect, record, mock_b)
    _change_a(Admin(mock_a), snapshot)
    snapshot, dialect = _push(mock_a, mock_b, record, compliant=compliant)
    _assert_converged(snapshot, dialect, record, mock_b)
    assert (
        len(record.users) == len(snapshot.users) + 1
    )  # the soft-deleted user, disabled; the purged one gone


def test_okta_push_converges_users(mock_a: MockIdpServer, mock_b: MockIdpServer) -> None:
    record = PushRecord("okta", mock_b.url + "/scim/v2")
    snapshot = from_admin(mock_a.url, ADMIN)
    dialect = make_dialect("okta", record.target, SCIM_TOKEN, sleep=lambda s: None)
    push(snapshot, record, dialect)
    held = {u.user_name: u.active for u in mock_b.directory.users.values()}
    assert held == _expected_users(snapshot, dialect, record)


def test_okta_push_converges_then_converges_again(mock_a: MockIdpServer, mock_b: MockIdpServer) -> None:
    record = PushRecord("okta", mock_b.url + "/scim/v2")
    snapshot, dialect = _push(mock_a, mock_b, record)
    _assert_converged(snapshot, dialect, record, mock_b)
    _change_a(Admin(mock_a), snapshot)
    snapshot, dialect = _push(mock_a, mock_b, record)
    _assert_converged(snapshot, dialect, record, mock_b)
