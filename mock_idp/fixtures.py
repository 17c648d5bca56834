"""The JSON fixture format: load (strictly, all or nothing), dump, and default credentials.

A fixture is one JSON object (``docs/mock-idp.md`` has a complete example)::

    {"tenant": {"id": GUID, "domain": "contoso.onmicrosoft.com", "seed": 0},
     "users": [{"ref": "alice", "user_name": "alice@example.com", "email": ..., "status": "ACTIVE", ...}],
     "groups": [{"name": "Engineering", "members": ["alice"], "groups": ["Platform"]}],
     "clients": [{"client_id", "dialect", "auth_method", "scopes", "client_secret" | "jwks"}],
     "api_tokens": [{"dialect": "okta" | "scim", "token": "..."}]}

A user is referred to by its ``ref``, ``id``, ``okta_id`` or ``user_name``
(case-insensitively); a group by its ``ref``, ``id``, ``okta_id`` or
``name``.  Every key is checked: an error names the item, e.g.
``users[3].status: unknown status 'ACTIV'``.
"""

from __future__ import annotations

import json
import os
import uuid
from collections import Counter
from collections.abc import Callable
from collections.abc import Mapping
from datetime import datetime
from datetime import timezone
from pathlib import Path
from typing import Any

from email_validator import EmailNotValidError
from email_validator import validate_email

from mock_idp.state import DIALECTS
from mock_idp.state import OKTA_STATUSES
from mock_idp.state import ApiToken
from mock_idp.state import Directory
from mock_idp.state import Group
from mock_idp.state import OAuthClient
from mock_idp.state import User

SAMPLE_FIXTURE = Path(__file__).with_name("fixtures") / "sample.json"


class FixtureError(ValueError):
    """A fixture that cannot be loaded; ``path`` names the bad item (``users[3].status``)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


# ---------------------------------------------------------------------------- field checks

Check = Callable[[Any, str], Any]


def _text(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise FixtureError(path, "must be a non-empty string")
    return value


def _opt_text(value: Any, path: str) -> str | None:
    return None if value is None else _text(value, path)


def _email(value: Any, path: str) -> str | None:
    if value is None:
        return None
    try:
        validate_email(_text(value, path), check_deliverability=False)
    except EmailNotValidError as exc:
        raise FixtureError(path, f"not an email address: {exc}") from None
    return value


def _emails(value: Any, path: str) -> list[str]:
    if not isinstance(value, list):
        raise FixtureError(path, "must be a list of email addresses")
    return [_email(item, f"{path}[{i}]") for i, item in enumerate(value)]  # type: ignore[misc]


def _time(value: Any, path: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(_text(value, path).replace("Z", "+00:00"))
    except ValueError:
        raise FixtureError(path, f"not an ISO 8601 timestamp: {value!r}") from None
    if parsed.tzinfo is None:
        raise FixtureError(path, f"timestamp needs a time zone (e.g. Z): {value!r}")
    return parsed.astimezone(timezone.utc)


def _one_of(*choices: Any) -> Check:
    def check(value: Any, path: str) -> Any:
        if value not in choices:
            word = path.rsplit(".", 1)[-1].replace("_", " ")
            known = ", ".join(str(c) for c in choices if c is not None)
            raise FixtureError(path, f"unknown {word} {value!r}; one of {known}")
        return value

    return check


def _guid(value: Any, path: str) -> str | None:
    if value is None:
        return None
    try:
        return str(uuid.UUID(_text(value, path)))
    except ValueError:
        raise FixtureError(path, f"not a GUID: {value!r}") from None


def _okta_id(prefix: str) -> Check:
    def check(value: Any, path: str) -> str | None:
        if value is None:
            return None
        if (
            not isinstance(value, str)
            or len(value) != 20
            or not value.startswith(prefix)
            or not value.isalnum()
        ):
            raise FixtureError(path, f"an Okta id is 20 letters and digits starting {prefix!r}: {value!r}")
        return value

    return check


def _refs(value: Any, path: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise FixtureError(path, "must be a list of references (strings)")
    return value


def _scopes(value: Any, path: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = value.split()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise FixtureError(path, "must be a list of scope names")
    return tuple(value)


USER_SPEC: dict[str, Check] = {
    "ref": _text,
    "id": _guid,
    "okta_id": _okta_id("00u"),
    "user_name": _text,
    "email": _email,
    "given_name": _opt_text,
    "family_name": _opt_text,
    "display_name": _opt_text,
    "status": _one_of(*OKTA_STATUSES),
    "upn": _opt_text,
    "created": _time,
    "status_changed": _time,
    "activated": _time,
    "last_login": _time,
    "password_changed": _time,
    "second_email": _email,
    "other_mails": _emails,
    "user_type": _one_of("Member", "Guest"),
    "external_user_state": _one_of(None, "PendingAcceptance", "Accepted"),
    "creation_type": _one_of(None, "Invitation"),
    "external_id": _opt_text,
    "title": _opt_text,
    "department": _opt_text,
    "employee_number": _opt_text,
    "mobile_phone": _opt_text,
}
GROUP_SPEC: dict[str, Check] = {
    "ref": _text,
    "id": _guid,
    "okta_id": _okta_id("00g"),
    "name": _text,
    "description": _opt_text,
    "external_id": _opt_text,
    "created": _time,
    "members": _refs,
    "groups": _refs,
}
CLIENT_SPEC: dict[str, Check] = {
    "client_id": _text,
    "dialect": _one_of(*DIALECTS),
    "auth_method": _one_of("private_key_jwt", "client_secret"),
    "scopes": _scopes,
    "client_secret": _opt_text,
    "jwks": lambda v, p: v if isinstance(v, dict) and isinstance(v.get("keys"), list) else _bad_jwks(p),
    "name": _opt_text,
}
TOKEN_SPEC: dict[str, Check] = {
    "dialect": _one_of("okta", "scim"),
    "token": _text,
    "scopes": _scopes,
    "name": _opt_text,
}
TENANT_SPEC: dict[str, Check] = {"id": _guid, "domain": _text, "seed": lambda v, p: _int(v, p)}


def _bad_jwks(path: str) -> None:
    raise FixtureError(path, 'must be a JWK set: {"keys": [...]}')


def _int(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FixtureError(path, "must be an integer")
    return value


def check_fields(
    data: Any, path: str, spec: Mapping[str, Check], *, required: tuple[str, ...] = ()
) -> dict[str, Any]:
    """``data`` checked against ``spec``: an object, no unknown keys, every value valid."""
    if not isinstance(data, Mapping):
        raise FixtureError(path, "must be a JSON object")
    for key in data:
        if key not in spec:
            raise FixtureError(f"{path}.{key}" if path else key, f"unknown key; known: {', '.join(spec)}")
    for key in required:
        if key not in data:
            raise FixtureError(f"{path}.{key}" if path else key, "is required")
    return {key: spec[key](value, f"{path}.{key}" if path else key) for key, value in data.items()}


# ---------------------------------------------------------------------------- load


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
        {"tenant": lambda v, p: v, "users": _list, "groups": _list, "clients": _list, "api_tokens": _list},
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
        if client["auth_method"] == "private_key_jwt" and not jwks:
            raise FixtureError(f"clients[{i}].jwks", "is required for auth_method private_key_jwt")

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
        user_ids = [_add_user(directory, user) for user in users]
        group_ids = [_add_group(directory, group) for group in groups]
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
                )
            )
        for token in tokens:
            directory.add_api_token(
                ApiToken(token["token"], token["dialect"], token.get("scopes", ()), token.get("name") or "")
            )
    return directory


def _list(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise FixtureError(path, "must be a list")
    return value


def _add_user(directory: Directory, user: dict[str, Any]) -> str:
    fields = {
        k: v for k, v in user.items() if k not in ("ref", "id", "okta_id", "user_name", "email", "created")
    }
    made = directory.add_user(
        user["user_name"],
        email=user.get("email"),
        object_id=user.get("id"),
        okta_id=user.get("okta_id"),
        created=user.get("created"),
        **fields,
    )
    return made.object_id


def _add_group(directory: Directory, group: dict[str, Any]) -> str:
    made = directory.add_group(
        group["name"],
        description=group.get("description"),
        object_id=group.get("id"),
        okta_id=group.get("okta_id"),
        external_id=group.get("external_id"),
        created=group.get("created"),
    )
    return made.object_id


# ---------------------------------------------------------------------------- dump


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
    """A group as fixture JSON: user members by user name, child groups by name (or id if names clash)."""
    out: dict[str, Any] = {"id": group.object_id, "okta_id": group.okta_id, "name": group.name}
    for key in ("description", "external_id"):
        if getattr(group, key) is not None:
            out[key] = getattr(group, key)
    out["created"] = _iso(group.created)
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
