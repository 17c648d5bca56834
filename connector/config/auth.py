"""The ``[directories.auth]`` table: method, client, and secrets loaded from their references.

A secret is never inline: ``*_env`` names an environment variable, ``*_file``
a file (relative to the configuration's folder).  Exactly one of the pair is
set, and only the pair the method uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from connector.config.checks import Checker
from connector.net.settings import AuthSettings
from connector.net.settings import Secret

AUTH_METHODS = ("private_key_jwt", "client_secret", "bearer", "ssws")

_AUTH_KEYS = (
    "method",
    "client_id",
    "client_secret_env",
    "client_secret_file",
    "private_key_env",
    "private_key_file",
    "token_env",
    "token_file",
    "key_id",
    "token_url",
    "scopes",
)

_INLINE_SECRETS = {
    "client_secret": "client_secret_env or client_secret_file",
    "private_key": "private_key_env or private_key_file",
    "token": "token_env or token_file",
    "password": "token_env or token_file",
}

# The secret each method needs; it is given by its "<name>_env" or "<name>_file" key.
_METHOD_SECRET = {
    "private_key_jwt": "private_key",
    "client_secret": "client_secret",
    "bearer": "token",
    "ssws": "token",
}


def auth_settings(
    check: Checker, raw: Any, where: str, base: Path, environ: Mapping[str, str], *, secrets: bool = True
) -> AuthSettings:
    """The auth settings of one directory, its secret loaded; ConfigError names the key at fault.

    With ``secrets=False`` every key is still checked but the secret is not
    read (left ``None``): for commands that never reach the IdP.
    """
    if raw is None:
        raise check.error(where, "is missing", f"add a [{where}] table with method and credentials")
    for inline, refs in _INLINE_SECRETS.items():
        if isinstance(raw, Mapping) and inline in raw:
            raise check.error(
                f"{where}.{inline}", "secrets are never written in the configuration", f"use {refs} instead"
            )
    table = check.table(raw, where, _AUTH_KEYS)
    method = check.choice(
        check.required(table, "method", where, "an auth method"), f"{where}.method", AUTH_METHODS
    )
    secret_name = _METHOD_SECRET[method]
    for kind in set(_METHOD_SECRET.values()) - {secret_name}:
        for suffix in ("_env", "_file"):
            if f"{kind}{suffix}" in table:
                raise check.error(
                    f"{where}.{kind}{suffix}",
                    f"is not used by method {method}",
                    f"remove it, or set {secret_name}_env or {secret_name}_file",
                )
    secret = _secret(check, table, secret_name, where, base, environ, read=secrets)
    client_id = table.get("client_id")
    if method in ("private_key_jwt", "client_secret"):
        if client_id is None:
            raise check.error(
                f"{where}.client_id", f"is required for method {method}", "set the OAuth client id"
            )
        client_id = check.string(client_id, f"{where}.client_id")
    elif client_id is not None:
        raise check.error(f"{where}.client_id", f"is not used by method {method}", "remove it")
    if "key_id" in table and method != "private_key_jwt":
        raise check.error(
            f"{where}.key_id", f"is only used by method private_key_jwt, not {method}", "remove it"
        )
    scopes = check.names(table.get("scopes", []), f"{where}.scopes")
    token_url = table.get("token_url")
    return AuthSettings(
        method=method,  # type: ignore[arg-type]
        client_id=client_id,
        client_secret=secret if secret_name == "client_secret" else None,
        private_key=secret if secret_name == "private_key" else None,
        key_id=check.string(table["key_id"], f"{where}.key_id") if "key_id" in table else None,
        token=secret if secret_name == "token" else None,
        token_url=check.url(token_url, f"{where}.token_url") if token_url is not None else None,
        scopes=scopes,
    )


def _secret(
    check: Checker,
    table: Mapping[str, Any],
    name: str,
    where: str,
    base: Path,
    environ: Mapping[str, str],
    *,
    read: bool = True,
) -> Secret | None:
    env_key, file_key = f"{name}_env", f"{name}_file"
    if env_key in table and file_key in table:
        raise check.error(f"{where}.{env_key}", f"and {file_key} are both set", "keep only one of them")
    if not read and (env_key in table or file_key in table):
        key = env_key if env_key in table else file_key
        check.string(table[key], f"{where}.{key}")  # the reference is checked, the secret left unread
        return None
    if env_key in table:
        var = check.string(table[env_key], f"{where}.{env_key}")
        value = environ.get(var)
        if not value:
            raise check.error(
                f"{where}.{env_key}",
                f"the environment variable {var} is not set or empty",
                f"export {var}, or use {file_key}",
            )
        return Secret(value.strip())
    if file_key in table:
        path = check.existing_file(table[file_key], f"{where}.{file_key}", base)
        try:
            value = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise check.error(
                f"{where}.{file_key}", f"cannot read {path} ({exc.__class__.__name__})", "fix the file"
            ) from None
        if not value:
            raise check.error(f"{where}.{file_key}", f"{path} is empty", "put the secret in the file")
        return Secret(value)
    raise check.error(
        where, f"has no {name} reference", f"set {env_key} (a variable name) or {file_key} (a path)"
    )
