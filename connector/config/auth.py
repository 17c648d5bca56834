"""The ``[directories.auth]`` table: method, client, and secrets loaded from their references.

A secret is never inline: ``*_env`` names an environment variable, ``*_file``
a file (relative to the configuration's folder).  Exactly one of the pair is
set, and only the pair the method uses.

An ``azure_ad`` directory with ``private_key_jwt`` may add the key's X.509
certificate (``certificate_env`` / ``certificate_file``, PEM): Entra's
certificate credentials.  It is checked against the private key and its
validity dates as it is read.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from connector.config.checks import Checker
from connector.errors import ConfigError
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
    "certificate_env",
    "certificate_file",
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

METHOD_SECRET = dict(_METHOD_SECRET)
"""The secret each auth method needs (``client_secret``, ``private_key``, ``token``)."""


def auth_settings(
    check: Checker,
    raw: Any,
    where: str,
    base: Path,
    environ: Mapping[str, str],
    *,
    secrets: bool = True,
    provider: str | None = None,
) -> AuthSettings:
    """The auth settings of one directory, its secret loaded; ConfigError names the key at fault.

    With ``secrets=False`` every key is still checked but the secret (and the
    certificate) is not read (left ``None``): for commands that never reach
    the IdP.  ``provider`` is the directory's provider, for the keys only one
    provider takes.
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
    certificate = _certificate(check, table, method, provider, where, base, environ, secret, read=secrets)
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
        certificate=certificate,
    )


def _certificate(
    check: Checker,
    table: Mapping[str, Any],
    method: str,
    provider: str | None,
    where: str,
    base: Path,
    environ: Mapping[str, str],
    private_key: Secret | None,
    *,
    read: bool,
) -> str | None:
    """The PEM certificate of ``certificate_env`` / ``certificate_file``, checked; None when unset.

    It must be an RSA certificate of ``private_key``, valid now.  What is kept
    is the certificate alone (a combined file's key block is dropped).
    """
    given = [key for key in ("certificate_env", "certificate_file") if key in table]
    if not given:
        return None
    key = given[0]
    if method != "private_key_jwt":
        raise check.error(
            f"{where}.{key}", f"is only used by method private_key_jwt, not {method}", "remove it"
        )
    if provider is not None and provider != "azure_ad":
        raise check.error(
            f"{where}.{key}",
            f"is only used by provider azure_ad (Entra certificate credentials), not {provider}",
            "remove it",
        )
    text = _secret(check, table, "certificate", where, base, environ, read=read, what="the PEM certificate")
    if text is None or private_key is None:
        return None
    from connector.net import certificates  # cryptography's x509: only with a certificate
    from connector.net.oauth import load_private_key

    try:
        cert = certificates.load_certificate(text.reveal())
    except ValueError as exc:
        raise check.error(
            f"{where}.{key}", str(exc), "point it at the app's certificate in PEM (a .cer/.crt file)"
        ) from None
    key_ref = "private_key_env" if "private_key_env" in table else "private_key_file"
    try:
        signing_key, _, _ = load_private_key(private_key.reveal())
    except ConfigError:
        raise check.error(
            f"{where}.{key_ref}",
            "is neither a PEM nor a JWK private key",
            "point it at the certificate's private key",
        ) from None
    problem = certificates.certificate_problem(cert, getattr(signing_key, "private_key", None))
    if problem is not None:
        raise check.error(
            f"{where}.{key}",
            f"the certificate {problem}",
            "configure the certificate of this private key, the one uploaded to the app registration, "
            "while it is valid (a new one: upload it under Certificates & secrets first)",
        )
    return cert.pem


def _secret(
    check: Checker,
    table: Mapping[str, Any],
    name: str,
    where: str,
    base: Path,
    environ: Mapping[str, str],
    *,
    read: bool = True,
    what: str = "the secret",
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
            raise check.error(f"{where}.{file_key}", f"{path} is empty", f"put {what} in the file")
        return Secret(value)
    raise check.error(
        where, f"has no {name} reference", f"set {env_key} (a variable name) or {file_key} (a path)"
    )
