"""What a push reads from the mock: users, groups with their user members, soft-deleted users.

A :class:`Snapshot` comes from a :class:`~mock_idp.state.directory.Directory` in this
process (:func:`from_directory`) or from a running ``mock-idp serve`` over its admin API
(:func:`from_admin`); both give the same fields, those of the admin API's user JSON.
Built-in groups (Okta's ``Everyone``) are left out: neither vendor pushes them by default.
Nested groups are left out of members: both vendors push direct user members only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any

import requests

from mock_idp.state.directory import Directory
from mock_idp.state.fixture_dump import user_to_json


@dataclass(frozen=True)
class PushGroup:
    """A group as pushed: its ids, name and direct user members (mock object ids, in order)."""

    object_id: str
    okta_id: str
    name: str
    user_ids: tuple[str, ...]


@dataclass
class Snapshot:
    """The directory at one moment, in the admin API's vocabulary.

    ``users`` maps a mock object id to the admin API's user JSON (``user_name``, ``okta_id``,
    ``email``, ``given_name``, ``active``, ...); ``soft_deleted`` holds the object ids in
    Entra's deleted items; ``last_seq`` is the newest change-log entry.
    """

    tenant_id: str
    last_seq: int
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[str, PushGroup] = field(default_factory=dict)
    soft_deleted: frozenset[str] = frozenset()


def _group(data: Mapping[str, Any]) -> PushGroup:
    return PushGroup(data["id"], data["okta_id"], data["name"], tuple(data.get("members", ())))


def from_directory(directory: Directory) -> Snapshot:
    """A snapshot of a directory held in this process."""
    with directory.lock:
        users = {u.object_id: {**user_to_json(u), "active": u.active} for u in directory.users_snapshot()}
        groups = {
            g.object_id: PushGroup(g.object_id, g.okta_id, g.name, tuple(g.user_ids))
            for g in directory.groups_snapshot()
            if not g.built_in
        }
        return Snapshot(
            directory.tenant_id, directory.last_seq, users, groups, frozenset(directory.deleted_users)
        )


class AdminReadError(Exception):
    """The running mock's admin API did not answer as expected."""


def from_admin(base_url: str, admin_token: str, *, session: requests.Session | None = None) -> Snapshot:
    """A snapshot of a running mock, read from ``/_admin`` (users, groups, deleted users, state)."""
    http = session or requests.Session()
    headers = {"Authorization": f"Bearer {admin_token}"}

    def get(path: str) -> Any:
        try:
            response = http.get(base_url.rstrip("/") + "/_admin" + path, headers=headers, timeout=60)
        except requests.RequestException as exc:
            raise AdminReadError(f"GET /_admin{path}: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise AdminReadError(f"GET /_admin{path}: HTTP {response.status_code} {response.text[:200]}")
        return response.json()

    state = get("/state")
    users = {u["id"]: u for u in get("/users")["users"]}
    groups = {g["id"]: _group(g) for g in get("/groups")["groups"] if not g.get("built_in")}
    deleted = frozenset(d["id"] for d in get("/deleted-users")["deleted_users"])
    return Snapshot(state["tenant"]["id"], int(state["last_seq"]), users, groups, deleted)
