"""Configuration to stored records and back: what ``config apply`` writes, and what a run loads
for a directory (or an organization) the store holds as data.

Secret references (``token_env``, ``client_secret_file``) stay references: a record keeps the
reference, never the value.  Secrets given as values (``directories add --secret-stdin``) are
sealed by the caller (:mod:`connector.vault`) under :func:`secret_context` and stored sealed;
loading a directory opens them with the vault.  A secret that does not open fails that
directory alone (:class:`LoadedDirectory.problem`), with an error naming it, never the secret
or its sealed token.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connector.config.auth import METHOD_SECRET
from connector.config.loader import Config
from connector.config.loader import DirectoryConfig
from connector.config.loader import directory_from_table
from connector.config.loader import file_from_dict
from connector.errors import ConfigError
from connector.errors import ConnectorError
from connector.errors import SecretKeyError
from connector.errors import SecretUnsealError
from connector.net.settings import HttpSettings
from connector.store.registry import DirectoryEntry
from connector.store.registry import OrganizationEntry
from connector.vault import Vault

SEALABLE = ("client_secret", "private_key", "token", "certificate")
"""The secrets a directory may keep sealed in the store (named as their ``*_env`` keys are)."""

_COLUMNS = ("id", "provider", "base_url")
_PATH_KEYS = tuple(f"{name}_file" for name in SEALABLE)
_STORED_ENV = "stored secret {name}"
"""The name a sealed secret is handed to the auth checks under (never a real variable)."""


def secret_context(org_id: str, directory_id: str, name: str) -> str:
    """The place a directory's secret is sealed for: ``org/<org>/directory/<id>/<name>``."""
    return f"org/{org_id}/directory/{directory_id}/{name}"


def secret_name(method: str) -> str:
    """The secret an auth method needs (``client_secret``, ``private_key`` or ``token``)."""
    try:
        return METHOD_SECRET[method]
    except KeyError:
        raise ConfigError(f"{method!r} is not an auth method; one of: {', '.join(METHOD_SECRET)}") from None


# ---------------------------------------------------------------------- configuration -> record


def organization_entry(config: Config) -> OrganizationEntry:
    """The organization of ``config`` as the store keeps it (its directories apart)."""
    return OrganizationEntry(
        org_id=config.org_id,
        name=config.org_name or config.org_id,
        verified_domains=tuple(config.verified_domains),
        product_grants={p: tuple(sorted(g)) for p, g in config.product_grants.items()},
        settings={
            "guard": dict(config.guard),
            "sync": {
                "missing_threshold": config.missing_threshold,
                "full_read_interval": config.full_read_interval.total_seconds(),
            },
        },
    )


def directory_entry(
    org_id: str, directory: DirectoryConfig, base_dir: str | Path | None = None
) -> DirectoryEntry:
    """A file's directory as the store keeps it: its table, secret references as references.

    Relative file paths (secret files, a CA bundle) are made absolute from ``base_dir`` (the
    configuration's folder), so the record means the same wherever it is loaded.
    """
    table = _anchored(directory.table, Path(base_dir) if base_dir is not None else None)
    return DirectoryEntry(
        org_id=org_id,
        directory_id=directory.id,
        provider=directory.provider,
        mode="pull",
        base_url=directory.settings.base_url,
        settings={k: v for k, v in table.items() if k not in _COLUMNS},
    )


def _anchored(table: Mapping[str, Any], base: Path | None) -> dict[str, Any]:
    """``table`` (deep-copied) with its relative paths made absolute from ``base``."""

    def absolute(value: Any) -> Any:
        if base is None or not isinstance(value, str):
            return value
        path = Path(value).expanduser()
        return str(path if path.is_absolute() else base / path)

    copy = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in table.items()}
    auth = copy.get("auth")
    if isinstance(auth, dict):
        for key in _PATH_KEYS:
            if key in auth:
                auth[key] = absolute(auth[key])
    tls = copy.get("tls")
    if isinstance(tls, dict) and "ca_bundle" in tls:
        tls["ca_bundle"] = absolute(tls["ca_bundle"])
    return copy


# ---------------------------------------------------------------------- record -> configuration


@dataclass(frozen=True)
class LoadedDirectory:
    """A stored directory made ready to run, or the reason it cannot run.

    ``problem`` is set when a sealed secret did not open: ``directory`` then carries no secret,
    and every run that needs it fails with ``problem`` (the other directories still run).
    """

    directory: DirectoryConfig
    problem: ConnectorError | None = None


def directory_table(entry: DirectoryEntry) -> dict[str, Any]:
    """The stored directory as a ``[[directories]]`` table; a sealed secret stands as a reference
    to a name no environment has (:func:`load_directory` hands its value in under that name)."""
    settings = dict(entry.settings or {})
    table: dict[str, Any] = {
        **settings,
        "id": entry.directory_id,
        "provider": entry.provider,
        "base_url": entry.base_url,
    }
    if entry.secrets:
        auth = dict(table.get("auth") or {})
        for name in entry.secrets:
            auth.pop(f"{name}_file", None)
            auth[f"{name}_env"] = _STORED_ENV.format(name=name)
        table["auth"] = auth
    return table


def load_directory(
    entry: DirectoryEntry,
    vault: Vault | None,
    *,
    secrets: bool = True,
    default_http: HttpSettings | None = None,
    plain: Mapping[str, str] | None = None,
) -> LoadedDirectory:
    """A stored directory as a :class:`DirectoryConfig`, its sealed secrets opened with ``vault``,
    its network settings starting from ``default_http`` (the file's ``[http]`` and ``[tls]``).

    A configuration mistake in the record is a ConfigError naming the directory.  A secret that
    does not open (no key, a removed key, a damaged token) is the directory's ``problem``.
    ``plain`` gives the secrets' values instead of opening them (checking a directory before its
    secrets are sealed: a certificate that is not the key's is refused then).
    """
    source = f"organization {entry.org_id!r}, directory {entry.directory_id!r} (stored)"
    if entry.base_url is None:
        raise ConfigError(f"{source}: the store holds no base URL for it; add it again with its URL")
    table = directory_table(entry)
    environ: dict[str, str] = dict(os.environ)
    problem: ConnectorError | None = None
    if secrets and plain is not None:
        environ.update({_STORED_ENV.format(name=name): value for name, value in plain.items()})
    elif secrets and entry.secrets:
        try:
            environ.update(unseal_all(entry, vault))
        except (SecretUnsealError, SecretKeyError) as exc:
            problem = _naming(exc, entry)
    directory = directory_from_table(
        table, source=source, env=environ, secrets=secrets and problem is None, default_http=default_http
    )
    return LoadedDirectory(directory, problem)


def unseal_all(entry: DirectoryEntry, vault: Vault | None) -> dict[str, str]:
    """The directory's sealed secrets opened, keyed by the names :func:`directory_table` uses."""
    if vault is None:
        vault = Vault.from_environment()
    return {
        _STORED_ENV.format(name=name): vault.unseal(
            token, context=secret_context(entry.org_id, entry.directory_id, name)
        )
        for name, token in sorted(entry.secrets.items())
    }


def _naming(error: ConnectorError, entry: DirectoryEntry) -> ConnectorError:
    """``error`` of the same class with a message that names the directory first."""
    message = (
        f"directory {entry.directory_id!r} of organization {entry.org_id!r} cannot run: "
        f"its stored secrets do not open ({error})"
    )
    if isinstance(error, SecretUnsealError):
        named: ConnectorError = type(error)(message, context=error.context, fingerprint=error.fingerprint)
    else:
        named = type(error)(message)
    named.__cause__ = None
    return named


def organization_config(
    organization: OrganizationEntry,
    directories: list[DirectoryEntry],
    *,
    store_url: str,
    source: str = "<store>",
) -> Config:
    """The configuration of an organization the store holds and the file does not declare.

    Its directories come without their secrets (``secrets=False``); :func:`load_directory`
    gives each the secrets it runs with.  An organization without a directory is refused, as
    a file without one is.
    """
    settings = dict(organization.settings)
    data: dict[str, Any] = {
        "store": {"url": store_url},
        "organization": {
            "id": organization.org_id,
            "name": organization.name,
            "verified_domains": list(organization.verified_domains),
        },
        "products": {p: list(g) for p, g in organization.product_grants.items()},
        "directories": [directory_table(d) for d in directories if d.as_data and d.mode == "pull"],
    }
    for key in ("guard", "sync"):
        if settings.get(key):
            data[key] = dict(settings[key])
    if not data["directories"]:
        raise ConfigError(
            f"organization {organization.org_id!r} (stored) has no directory to run: add one with "
            f"`idp-connector --org {organization.org_id} directories add`"
        )
    whole = file_from_dict(data, source=f"{source}: organization {organization.org_id!r}", secrets=False)
    return whole.organizations[0]
