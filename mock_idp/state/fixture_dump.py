"""Dumping a directory as a fixture: ``load_fixture(dump_fixture(d))`` rebuilds it."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from mock_idp.state.directory import Directory
from mock_idp.state.directory import Group
from mock_idp.state.directory import User
from mock_idp.state.fixture_fields import USER_SPEC


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def user_to_json(user: User) -> dict[str, Any]:
    """A user as fixture JSON (never its password); ``None`` and empty values left out."""
    out: dict[str, Any] = {"id": user.object_id, "okta_id": user.okta_id, "user_name": user.user_name}
    for key in USER_SPEC:
        if key in ("ref", "id", "okta_id", "user_name"):
            continue
        value = getattr(user, key)
        if value is None or value == []:
            continue
        out[key] = _iso(value) if isinstance(value, datetime) else value
    return out


def group_to_json(group: Group, directory: Directory, unique_names: set[str]) -> dict[str, Any]:
    """A group as fixture JSON: user members by user name, child groups by name (or id if names clash);
    a built-in group is ``"built_in": true`` and lists no members (it holds every user)."""
    out: dict[str, Any] = {"id": group.object_id, "okta_id": group.okta_id, "name": group.name}
    for key in ("description", "external_id"):
        if getattr(group, key) is not None:
            out[key] = getattr(group, key)
    out["created"] = _iso(group.created)
    if group.built_in:
        out["built_in"] = True
        return out
    out["members"] = [directory.users[uid].user_name for uid in group.user_ids]
    children = [directory.groups[cid] for cid in group.group_ids]
    out["groups"] = [c.name if c.name.lower() in unique_names else c.object_id for c in children]
    return out


def _drop_empty(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v not in (None, "")}


def dump_fixture(directory: Directory) -> dict[str, Any]:
    """The whole directory as a fixture; ``load_fixture(dump_fixture(d))`` rebuilds it."""
    with directory.lock:
        groups = directory.groups_snapshot()
        counts = Counter(g.name.lower() for g in groups)
        unique = {name for name, n in counts.items() if n == 1}
        clients = [
            _drop_empty(
                {
                    "client_id": c.client_id,
                    "dialect": c.dialect,
                    "auth_method": c.auth_method,
                    "scopes": list(c.scopes),
                    "client_secret": c.client_secret,
                    "jwks": c.jwks,
                    "certificates": list(c.certificates) or None,
                    "name": c.name,
                }
            )
            for c in directory.clients.values()
        ]
        tokens = [
            _drop_empty({"dialect": t.dialect, "token": t.token, "scopes": list(t.scopes), "name": t.name})
            for t in directory.api_tokens.values()
        ]
        return {
            "tenant": {"id": directory.tenant_id, "domain": directory.tenant_domain, "seed": directory.seed},
            "users": [user_to_json(u) for u in directory.users_snapshot()],
            "groups": [group_to_json(g, directory, unique) for g in groups],
            "clients": clients,
            "api_tokens": tokens,
        }
