"""Field checks for the fixture format: each key's validator, the per-item specs, and
:func:`check_fields`, which names the bad item in every error (``users[3].status``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from collections.abc import Mapping
from datetime import datetime
from datetime import timezone
from typing import Any

from email_validator import EmailNotValidError
from email_validator import validate_email

from mock_idp.state.certificates import registered_certificate
from mock_idp.state.directory import DIALECTS
from mock_idp.state.directory import OKTA_STATUSES


class FixtureError(ValueError):
    """A fixture that cannot be loaded; ``path`` names the bad item (``users[3].status``)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


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


def _flag(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise FixtureError(path, "must be true or false")
    return value


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
    "built_in": _flag,
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
    "certificates": lambda v, p: _certificates(v, p),
    "name": _opt_text,
}
TOKEN_SPEC: dict[str, Check] = {
    "dialect": _one_of("okta", "scim"),
    "token": _text,
    "scopes": _scopes,
    "name": _opt_text,
}
TENANT_SPEC: dict[str, Check] = {"id": _guid, "domain": _text, "seed": lambda v, p: _int(v, p)}


def _certificates(value: Any, path: str) -> tuple[str, ...]:
    """A list of PEM RSA certificates (an Entra app's certificate credentials)."""
    if not isinstance(value, list):
        raise FixtureError(path, "must be a list of PEM certificates")
    for i, pem in enumerate(value):
        try:
            registered_certificate(pem if isinstance(pem, str) else "")
        except ValueError as exc:
            raise FixtureError(f"{path}[{i}]", f"must be a PEM RSA certificate ({exc})") from None
    return tuple(value)


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


def check_list(value: Any, path: str) -> list[Any]:
    """A JSON list, as the top-level ``users``, ``groups``, ``clients`` and ``api_tokens`` are."""
    if not isinstance(value, list):
        raise FixtureError(path, "must be a list")
    return value
