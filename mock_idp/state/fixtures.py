"""The JSON fixture format: load (strictly, all or nothing) and, re-exported, dump.

A fixture is one JSON object (``docs/mock-idp.md`` has a complete example)::

    {"tenant": {"id": GUID, "domain": "contoso.onmicrosoft.com", "seed": 0},
     "users": [{"ref": "alice", "user_name": "alice@example.com", "email": ..., "status": "ACTIVE", ...}],
     "groups": [{"name": "Engineering", "members": ["alice"], "groups": ["Platform"]},
                {"name": "Everyone", "built_in": true}],
     "clients": [{"client_id", "dialect", "auth_method", "scopes", "client_secret" | "jwks",
                  "certificates": [PEM, ...] (Entra apps only)}],
     "api_tokens": [{"dialect": "okta" | "scim", "token": "..."}]}

A user is referred to by its ``ref``, ``id``, ``okta_id`` or ``user_name``
(case-insensitively); a group by its ``ref``, ``id``, ``okta_id`` or
``name``.  A ``"built_in": true`` group is Okta's ``Everyone``: it holds every user
by itself, so it lists no ``members`` and no ``groups``.  Every key is checked: an error names the item, e.g.
``users[3].status: unknown status 'ACTIV'`` (the checks are in
:mod:`mock_idp.state.fixture_fields`, the dump in :mod:`mock_idp.state.fixture_dump`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mock_idp.state.directory import ApiToken
from mock_idp.state.directory import Directory
from mock_idp.state.directory import Group
from mock_idp.state.directory import OAuthClient
from mock_idp.state.directory import User
from mock_idp.state.fixture_dump import dump_fixture
from mock_idp.state.fixture_dump import group_to_json
from mock_idp.state.fixture_dump import user_to_json
from mock_idp.state.fixture_fields import CLIENT_SPEC
from mock_idp.state.fixture_fields import GROUP_SPEC
from mock_idp.state.fixture_fields import TENANT_SPEC
from mock_idp.state.fixture_fields import TOKEN_SPEC
from mock_idp.state.fixture_fields import USER_SPEC
from mock_idp.state.fixture_fields import FixtureError
from mock_idp.state.fixture_fields import check_fields
from mock_idp.state.fixture_fields import check_list

__all__ = [
    "GROUP_SPEC",
    "SAMPLE_FIXTURE",
    "USER_SPEC",
    "FixtureError",
    "add_group_from",
    "add_user_from",
    "check_fields",
    "dump_fixture",
    "group_to_json",
    "load_fixture",
    "read_fixture",
    "user_to_json",
]

SAMPLE_FIXTURE = Path(__file__).parents[1] / "fixtures" / "sample.json"


# ---------------------------------------------------------------------------- field checks


def read_fixture(data_or_path: Mapping[str, Any] | str | os.PathLike[str]) -> Mapping[str, Any]:
    """The fixture object from a mapping, a path, or JSON text."""
    if isinstance(data_or_path, Mapping):
        return data_or_path
    if not isinstance(data_or_path, (str, os.PathLike)):
        raise FixtureError("", "a fixture must be a JSON object")
    text = str(data_or_path)
    if not text.lstrip().startswith("{"):
        try:
            text = Path(text).read_text(encoding="utf-8")
        except OSError as exc:
            raise FixtureError("", f"cannot read fixture file {data_or_path}: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FixtureError("", f"not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise FixtureError("", "a fixture must be a JSON object")
    return data


def _index(items: list[dict[str, Any]], kind: str, keys: tuple[str, ...]) -> dict[str, int]:
    """Reference -> item index; a reference two items claim is ambiguous (-1)."""
    index: dict[str, int] = {}
    for key in keys:
        for i, item in enumerate(items):
            value = item.get(key)
            if value is None:
                continue
            value = value.lower() if key in ("user_name", "name") else value
            if key in ("ref", "id", "okta_id", "user_name") and index.get(value, i) != i:
                raise FixtureError(f"{kind}[{i}].{key}", f"duplicate {key} {item[key]!r}")
            index[value] = i if index.get(value, i) == i else -1
    return index


def _resolve(index: dict[str, int], ref: str, path: str, kind: str) -> int:
    found = index.get(ref, index.get(ref.lower()))
    if found is None:
        raise FixtureError(path, f"unknown {kind} reference {ref!r}")
    if found == -1:
        raise FixtureError(path, f"ambiguous {kind} reference {ref!r}; give the {kind} a ref")
    return found


def load_fixture(
    data_or_path: Mapping[str, Any] | str | os.PathLike[str], directory: Directory | None = None
) -> Directory:
    """Load a fixture into ``directory`` (a new one, from the fixture's tenant, if None).

    Everything is checked before anything changes, including clashes with what
    ``directory`` already holds, so a bad fixture leaves it untouched.
    """
    data = check_fields(
        read_fixture(data_or_path),
        "",
        {
            "tenant": lambda v, p: v,
            "users": check_list,
            "groups": check_list,
            "clients": check_list,
            "api_tokens": check_list,
        },
    )
    tenant = check_fields(data.get("tenant", {}), "tenant", TENANT_SPEC)
    users = [
        check_fields(u, f"users[{i}]", USER_SPEC, required=("user_name",))
        for i, u in enumerate(data.get("users", []))
    ]
    groups = [
        check_fields(g, f"groups[{i}]", GROUP_SPEC, required=("name",))
        for i, g in enumerate(data.get("groups", []))
    ]
    clients = [
        check_fields(c, f"clients[{i}]", CLIENT_SPEC, required=("client_id", "dialect", "auth_method"))
        for i, c in enumerate(data.get("clients", []))
    ]
    tokens = [
        check_fields(t, f"api_tokens[{i}]", TOKEN_SPEC, required=("dialect", "token"))
        for i, t in enumerate(data.get("api_tokens", []))
    ]
    user_index = _index(users, "users", ("user_name", "okta_id", "id", "ref"))
    group_index = _index(groups, "groups", ("name", "okta_id", "id", "ref"))
    edges: list[tuple[int, int, str]] = []
    for gi, group in enumerate(groups):
        for key in ("members", "groups"):
            if group.get("built_in") and group.get(key):
                raise FixtureError(
                    f"groups[{gi}].{key}",
                    f"group {group['name']!r} is built in: its members are every user, so it lists none",
                )
        for mi, ref in enumerate(group.get("members", [])):
            edges.append((gi, _resolve(user_index, ref, f"groups[{gi}].members[{mi}]", "user"), "user"))
        for ci, ref in enumerate(group.get("groups", [])):
            child = _resolve(group_index, ref, f"groups[{gi}].groups[{ci}]", "group")
            if child == gi:
                raise FixtureError(f"groups[{gi}].groups[{ci}]", "a group cannot contain itself")
            edges.append((gi, child, "group"))
    for i, client in enumerate(clients):
        secret, jwks = client.get("client_secret"), client.get("jwks")
        if client["auth_method"] == "client_secret" and not secret:
            raise FixtureError(f"clients[{i}].client_secret", "is required for auth_method client_secret")
        certificates = client.get("certificates", ())
        if client["auth_method"] == "private_key_jwt" and not jwks and not certificates:
            raise FixtureError(f"clients[{i}].jwks", "is required for auth_method private_key_jwt")
        if certificates and client["dialect"] != "graph":
            raise FixtureError(f"clients[{i}].certificates", "are Entra's: only for dialect graph")

    if directory is None:
        directory = Directory(seed=tenant.get("seed", 0), tenant_id=tenant.get("id"))
        directory.tenant_domain = tenant.get("domain", directory.tenant_domain)
    with directory.lock:
        for i, user in enumerate(users):
            if directory.user_by_name(user["user_name"]) is not None:
                raise FixtureError(
                    f"users[{i}].user_name", f"{user['user_name']!r} is already in the directory"
                )
            if user.get("id") in directory.users:
                raise FixtureError(f"users[{i}].id", f"{user['id']!r} is already in the directory")
        for i, group in enumerate(groups):
            if group.get("id") in directory.groups:
                raise FixtureError(f"groups[{i}].id", f"{group['id']!r} is already in the directory")
        user_ids = [add_user_from(directory, user).object_id for user in users]
        group_ids = [add_group_from(directory, group).object_id for group in groups]
        for gi, member, kind in edges:
            member_id = user_ids[member] if kind == "user" else group_ids[member]
            directory.add_member(group_ids[gi], member_id, kind=kind)  # type: ignore[arg-type]
        for client in clients:
            directory.add_client(
                OAuthClient(
                    client_id=client["client_id"],
                    dialect=client["dialect"],
                    auth_method=client["auth_method"],
                    scopes=client.get("scopes", ()),
                    client_secret=client.get("client_secret"),
                    jwks=client.get("jwks"),
                    name=client.get("name") or "",
                    certificates=client.get("certificates", ()),
                )
            )
        for token in tokens:
            directory.add_api_token(
                ApiToken(token["token"], token["dialect"], token.get("scopes", ()), token.get("name") or "")
            )
    return directory


def add_user_from(directory: Directory, user: Mapping[str, Any]) -> User:
    """Add the user a checked ``USER_SPEC`` item describes (a fixture's or an admin request's).

    ``id``, ``okta_id`` and ``created`` are kept when given; ``ref`` only names
    the user inside a fixture and is not stored.
    """
    fields = {
        k: v for k, v in user.items() if k not in ("ref", "id", "okta_id", "user_name", "email", "created")
    }
    return directory.add_user(
        user["user_name"],
        email=user.get("email"),
        object_id=user.get("id"),
        okta_id=user.get("okta_id"),
        created=user.get("created"),
        **fields,
    )


def add_group_from(directory: Directory, group: Mapping[str, Any]) -> Group:
    """Add the group a checked ``GROUP_SPEC`` item describes; its members are added apart
    (a ``built_in`` group's are every user, from the start)."""
    return directory.add_group(
        group["name"],
        description=group.get("description"),
        object_id=group.get("id"),
        okta_id=group.get("okta_id"),
        external_id=group.get("external_id"),
        created=group.get("created"),
        built_in=group.get("built_in", False),
    )
