"""One TOML file (plus a little environment) into typed settings.

The file names the organization's verified domains, the store, each
directory with its provider, base URL and credentials, product grants and
guard numbers; ``docs/configuration.md`` has a complete example.  Every
mistake is a :class:`~connector.errors.ConfigError` that names the key, the
problem and the fix, and a key the loader does not know is a mistake (the
closest known key is suggested).

Secrets are never inline: only references to an environment variable
(``client_secret_env``, ``token_env``, ``private_key_env``) or a file
(``client_secret_file``, ``token_file``, ``private_key_file``).  They are read
once, here, into :class:`~connector.providers.base.Secret`, which never
prints itself.  An Entra directory's certificate (``certificate_env`` /
``certificate_file``) is read the same way and checked against its key.

Environment: ``CONNECTOR_STORE_URL`` overrides ``[store] url``.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import timedelta
from pathlib import Path
from typing import Any

from connector.config.auth import auth_settings
from connector.config.checks import Checker
from connector.config.checks import parse_duration
from connector.errors import ConfigError
from connector.net.settings import HttpSettings
from connector.providers.base import ProviderSettings
from connector.rules.settings import GuardSettings
from connector.rules.settings import SyncSettings

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

STORE_URL_ENV = "CONNECTOR_STORE_URL"
DEFAULT_STORE_FILE = "connector.sqlite"

_TOP_KEYS = (
    "organization",
    "organizations",
    "store",
    "directories",
    "products",
    "guard",
    "sync",
    "tls",
    "http",
)
_ORG_KEYS = ("id", "name", "verified_domains")
_ORGS_KEYS = (*_ORG_KEYS, "directories", "products", "guard", "sync")
DEFAULT_ORG = "default"
_DIRECTORY_KEYS = (
    "id",
    "provider",
    "base_url",
    "auth",
    "tenant",
    "authority",
    "page_size",
    "rate_share",
    "tls",
    "http",
    "options",
    "domains",
)
_HTTP_KEYS = ("connect_timeout", "read_timeout", "max_retries", "max_total_wait", "rate_share")
_TLS_KEYS = ("verify", "ca_bundle")
_GUARD_DEFAULTS: dict[str, Any] = {f.name: f.default for f in dataclasses.fields(GuardSettings)}


@dataclass(frozen=True)
class DirectoryConfig:
    """One ``[[directories]]`` entry: the provider's name and its settings."""

    id: str
    provider: str
    settings: ProviderSettings
    domains: tuple[str, ...] | None = None
    """The verified domains this directory manages (``domains``); None when it names none."""
    table: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """The entry as written (secret references only, never a secret): what ``config apply`` stores."""


@dataclass(frozen=True)
class Config:
    """One organization's configuration, validated (a file may declare several: :class:`ConfigFile`).

    ``guard`` holds the ``[guard]`` numbers as given (unset ones take the
    defaults of :class:`connector.rules.settings.GuardSettings`);
    :meth:`sync_settings` builds the engine's settings from it.
    """

    verified_domains: tuple[str, ...]
    store_url: str
    directories: tuple[DirectoryConfig, ...]
    product_grants: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    guard: Mapping[str, Any] = field(default_factory=dict)
    missing_threshold: int = 2
    full_read_interval: timedelta = timedelta(days=1)
    source: str = "<dict>"
    org_id: str = DEFAULT_ORG
    org_name: str | None = None

    def directory(self, directory_id: str) -> DirectoryConfig:
        """The directory with this id; a ConfigError listing the known ids otherwise."""
        for directory in self.directories:
            if directory.id == directory_id:
                return directory
        known = ", ".join(d.id for d in self.directories) or "none"
        raise ConfigError(
            f"{self.source}: no directory with id {directory_id!r}; the configured ids are: {known}"
        )

    def select(self, directory_id: str | None) -> tuple[DirectoryConfig, ...]:
        """One directory by id, or every directory when ``directory_id`` is None."""
        return self.directories if directory_id is None else (self.directory(directory_id),)

    def managed_domains(self, directory_id: str) -> tuple[str, ...] | None:
        """The verified domains a directory manages (docs/contract.md, "Managed domains"): those it
        names; every one (None) for the only directory of an organization when it names none; none
        for a directory of several that names none."""
        directory = self.directory(directory_id)
        if directory.domains is not None:
            return directory.domains
        return None if len(self.directories) == 1 else ()

    def sync_settings(self, directory_id: str | None = None) -> SyncSettings:
        """The engine's settings for this organization, as ``directory_id`` runs (its managed
        domains); without one, as the only directory of an organization manages every domain."""
        return SyncSettings(
            managed_domains=self.managed_domains(directory_id) if directory_id is not None else None,
            verified_domains=self.verified_domains,
            product_grants=dict(self.product_grants),
            guard=GuardSettings(**self.guard),
            missing_threshold=self.missing_threshold,
            full_read_interval=self.full_read_interval,
        )


@dataclass(frozen=True)
class ConfigFile:
    """A whole configuration file: the store, and each organization it declares.

    A file with one ``[organization]`` (and ``[[directories]]`` beside it) declares one; a file
    with ``[[organizations]]`` declares each with its own ``[[organizations.directories]]``.
    """

    store_url: str
    organizations: tuple[Config, ...]
    source: str = "<dict>"
    default_http: HttpSettings = field(default_factory=HttpSettings)
    """The file's top-level ``[http]`` and ``[tls]``: what a directory the store holds runs with."""

    @property
    def org_ids(self) -> tuple[str, ...]:
        return tuple(o.org_id for o in self.organizations)

    def organization(self, org_id: str | None = None) -> Config:
        """The organization ``org_id``; without one, the only organization the file declares.

        A ConfigError names the choices when ``org_id`` is unknown, or missing among several.
        """
        if org_id is None:
            if len(self.organizations) == 1:
                return self.organizations[0]
            raise ConfigError(
                f"{self.source}: the file declares {len(self.organizations)} organizations "
                f"({', '.join(self.org_ids)}); name one with --org"
            )
        for org in self.organizations:
            if org.org_id == org_id:
                return org
        raise ConfigError(
            f"{self.source}: no organization {org_id!r}; the file declares: {', '.join(self.org_ids)}"
        )


def load_config(
    path: str | os.PathLike[str],
    *,
    env: Mapping[str, str] | None = None,
    secrets: bool = True,
    secrets_of: str | None = None,
    org: str | None = None,
) -> Config:
    """Read and validate the TOML file at ``path``; the configuration of organization ``org``
    (by default the only one the file declares).

    Relative paths inside it (secret files, CA bundles, a relative SQLite
    store) are taken relative to the file's folder.  ``secrets=False``
    checks the secret references without reading them; ``secrets_of`` reads
    only that directory's.  Other organizations' secrets are never read.
    """
    return load_config_file(path, env=env, secrets=secrets, secrets_of=secrets_of, org=org).organization(org)


def load_config_file(
    path: str | os.PathLike[str],
    *,
    env: Mapping[str, str] | None = None,
    secrets: bool = True,
    secrets_of: str | None = None,
    org: str | None = None,
) -> ConfigFile:
    """Read and validate the whole TOML file at ``path``: every organization it declares.

    Secrets are read only for organization ``org`` (every organization's when None and
    ``secrets`` is set), and within it only ``secrets_of``'s when that names a directory.
    """
    source = Path(path)
    try:
        raw = source.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"{source}: configuration file not found; pass --config PATH or set CONNECTOR_CONFIG"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read the configuration file ({exc.strerror})") from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{source}: not valid TOML ({exc}); fix the syntax at that place") from exc
    return file_from_dict(
        data,
        base_dir=source.resolve().parent,
        env=env,
        source=str(source),
        secrets=secrets,
        secrets_of=secrets_of,
        org=org,
    )


def config_from_dict(
    data: Mapping[str, Any],
    *,
    base_dir: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    source: str = "<dict>",
    secrets: bool = True,
    secrets_of: str | None = None,
    org: str | None = None,
) -> Config:
    """Validate a configuration given as a dict (the TOML file's shape), for embedding; the
    configuration of organization ``org`` (by default the only one it declares).

    ``base_dir`` anchors relative paths (default: the working directory);
    ``env`` replaces ``os.environ`` for secret references.
    """
    whole = file_from_dict(
        data, base_dir=base_dir, env=env, source=source, secrets=secrets, secrets_of=secrets_of, org=org
    )
    return whole.organization(org)


def file_from_dict(
    data: Mapping[str, Any],
    *,
    base_dir: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    source: str = "<dict>",
    secrets: bool = True,
    secrets_of: str | None = None,
    org: str | None = None,
) -> ConfigFile:
    """Validate a whole configuration given as a dict: every organization it declares.

    Secrets are read only for organization ``org`` (every one's when None).
    """
    check = Checker(source)
    environ = os.environ if env is None else env
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    root = check.table(data, "", _TOP_KEYS)

    store = check.table(root.get("store", {}), "store", ("url",))
    store_url = environ.get(STORE_URL_ENV) or store.get("url") or f"sqlite:///{base / DEFAULT_STORE_FILE}"
    store_url = _anchor_sqlite(check.string(store_url, "store.url"), base)

    tls = check.table(root.get("tls", {}), "tls", _TLS_KEYS)
    http = check.table(root.get("http", {}), "http", _HTTP_KEYS)
    default_http = _http_settings(check, HttpSettings(), http, tls, "", base)
    shared = _Shared(check, store_url, default_http, base, environ, secrets, secrets_of)

    if "organizations" in root:
        for key in ("organization", "directories", "products"):
            if key in root:
                raise check.error(
                    key,
                    "is not used beside [[organizations]]",
                    f"move it into each organization's table ([organizations.{key}] or "
                    "[[organizations.directories]])",
                )
        entries = root["organizations"]
        if not isinstance(entries, list) or not entries:
            raise check.error(
                "organizations",
                "must be a list of tables",
                "write one [[organizations]] table per organization",
            )
        defaults = {key: root[key] for key in ("guard", "sync") if key in root}
        organizations = []
        for i, entry in enumerate(entries):
            where = f"organizations[{i}]"
            table = check.table(entry, where, _ORGS_KEYS)
            org_id = check.org_id(check.required(table, "id", where, "a short id (a slug)"), f"{where}.id")
            reads_secrets = org is None or org == org_id
            body = {
                **defaults,
                **{key: table[key] for key in ("directories", "products", "guard", "sync") if key in table},
            }
            organizations.append(
                _organization(shared, table, where, body, f"{where}.", org_id, reads_secrets)
            )
    else:
        table = check.table(check.required(root, "organization", "", "a table"), "organization", _ORG_KEYS)
        org_id = check.org_id(table.get("id", DEFAULT_ORG), "organization.id")
        organizations = [_organization(shared, table, "organization", root, "", org_id, True)]
    _check_across_organizations(check, organizations)
    return ConfigFile(
        store_url=store_url, organizations=tuple(organizations), source=source, default_http=default_http
    )


@dataclass(frozen=True)
class _Shared:
    """What every organization of a file is read with."""

    check: Checker
    store_url: str
    default_http: HttpSettings
    base: Path
    environ: Mapping[str, str]
    secrets: bool
    secrets_of: str | None


def _organization(
    shared: _Shared,
    org: Mapping[str, Any],
    org_where: str,
    body: Mapping[str, Any],
    prefix: str,
    org_id: str,
    reads_secrets: bool,
) -> Config:
    """One organization: ``org`` holds its id, name and domains, ``body`` its directories,
    products, guard and sync (the file's top level for a one-organization file)."""
    check = shared.check
    domains = check.domains(
        check.required(org, "verified_domains", org_where, "a list of domains"),
        f"{org_where}.verified_domains",
    )
    name = check.string(org["name"], f"{org_where}.name") if "name" in org else None

    entries = body.get("directories")
    if not isinstance(entries, list) or not entries:
        raise check.error(
            f"{prefix}directories",
            "no directory is configured",
            f"add at least one [[{prefix}directories]] table",
        )
    secrets = shared.secrets and reads_secrets
    directories = tuple(
        _directory(
            check,
            entry,
            f"{prefix}directories[{i}]",
            shared.default_http,
            shared.base,
            shared.environ,
            secrets,
            shared.secrets_of,
        )
        for i, entry in enumerate(entries)
    )
    seen: set[str] = set()
    for i, directory in enumerate(directories):
        if directory.id in seen:
            raise check.error(
                f"{prefix}directories[{i}].id",
                f"{directory.id!r} is used twice",
                "give each directory of an organization its own id",
            )
        seen.add(directory.id)
    _check_managed_domains(check, directories, domains, prefix, org_where)

    grants = {
        check.string(product, f"{prefix}products", "a product name"): check.names(
            groups, f"{prefix}products.{product}"
        )
        for product, groups in check.table(body.get("products", {}), f"{prefix}products", None).items()
    }
    guard = check.table(body.get("guard", {}), f"{prefix}guard", tuple(_GUARD_DEFAULTS))
    guard_values = {key: _guard_number(check, key, value, prefix) for key, value in guard.items()}

    sync = check.table(body.get("sync", {}), f"{prefix}sync", ("missing_threshold", "full_read_interval"))
    missing = check.integer(sync.get("missing_threshold", 2), f"{prefix}sync.missing_threshold", minimum=1)
    interval = parse_duration(check, sync.get("full_read_interval", "1d"), f"{prefix}sync.full_read_interval")
    return Config(
        verified_domains=domains,
        store_url=shared.store_url,
        directories=directories,
        product_grants=grants,
        guard=guard_values,
        missing_threshold=missing,
        full_read_interval=interval,
        source=check.source,
        org_id=org_id,
        org_name=name,
    )


def _check_across_organizations(check: Checker, organizations: list[Config]) -> None:
    """Organization ids are unique, and a domain is verified by one organization."""
    owners: dict[str, str] = {}
    seen: set[str] = set()
    for i, org in enumerate(organizations):
        if org.org_id in seen:
            raise check.error(
                f"organizations[{i}].id", f"{org.org_id!r} is used twice", "give each organization its own id"
            )
        seen.add(org.org_id)
        for domain in org.verified_domains:
            if domain in owners:
                raise check.error(
                    f"organizations[{i}].verified_domains",
                    f"{domain!r} is verified by both {owners[domain]!r} and {org.org_id!r}",
                    "a domain is verified by one organization: keep it in one organization's list",
                )
            owners[domain] = org.org_id


def _check_managed_domains(
    check: Checker,
    directories: tuple[DirectoryConfig, ...],
    verified: tuple[str, ...],
    prefix: str = "",
    org_where: str = "organization",
) -> None:
    """Each managed domain is a verified one, managed by one directory only."""
    managers: dict[str, str] = {}
    for i, directory in enumerate(directories):
        for domain in directory.domains or ():
            where = f"{prefix}directories[{i}].domains"
            if domain not in verified:
                raise check.error(
                    where,
                    f"{domain!r} is not a verified domain",
                    f"add it to {org_where}.verified_domains, or remove it here",
                )
            if domain in managers:
                raise check.error(
                    where,
                    f"{domain!r} is managed by both {managers[domain]!r} and {directory.id!r}",
                    "a verified domain has one managing directory: keep it in one directory's domains",
                )
            managers[domain] = directory.id


def _anchor_sqlite(url: str, base: Path) -> str:
    prefix = "sqlite:///"
    if url.startswith(prefix) and url[len(prefix) :] not in ("", ":memory:"):
        path = Path(url[len(prefix) :])
        if not path.is_absolute():
            return prefix + str(base / path)
    return url


def _guard_number(check: Checker, key: str, value: Any, prefix: str = "") -> int | float:
    where = f"{prefix}guard.{key}"
    if isinstance(_GUARD_DEFAULTS[key], float):
        return check.ratio(value, where)
    return check.integer(value, where, minimum=0)


def _known_providers() -> tuple[str, ...]:
    from connector.providers import registry

    return tuple(registry.available())


def _directory(
    check: Checker,
    entry: Any,
    where: str,
    default_http: HttpSettings,
    base: Path,
    environ: Mapping[str, str],
    secrets: bool = True,
    secrets_of: str | None = None,
) -> DirectoryConfig:
    table = check.table(entry, where, _DIRECTORY_KEYS)
    directory_id = check.identifier(check.required(table, "id", where, "a short id"), f"{where}.id")
    provider = check.choice(
        check.required(table, "provider", where, "a provider name"), f"{where}.provider", _known_providers()
    )
    base_url = check.url(check.required(table, "base_url", where, "the directory's URL"), f"{where}.base_url")
    options: dict[str, Any] = dict(check.table(table.get("options", {}), f"{where}.options", None))
    for key in ("tenant", "authority"):
        if key in table:
            options[key] = check.string(table[key], f"{where}.{key}")
    if provider == "azure_ad" and "tenant" not in options:
        raise check.error(
            f"{where}.tenant", "is required for provider azure_ad", "set the Entra tenant id or domain"
        )
    page_size = table.get("page_size")
    if page_size is not None:
        page_size = check.integer(page_size, f"{where}.page_size", minimum=1)
    tls = check.table(table.get("tls", {}), f"{where}.tls", _TLS_KEYS)
    http = check.table(table.get("http", {}), f"{where}.http", _HTTP_KEYS)
    settings = ProviderSettings(
        directory_id=directory_id,
        base_url=base_url.rstrip("/"),
        auth=auth_settings(
            check,
            table.get("auth"),
            f"{where}.auth",
            base,
            environ,
            secrets=secrets and (secrets_of is None or secrets_of == directory_id),
            provider=provider,
        ),
        page_size=page_size,
        http=_http_settings(check, default_http, http, tls, where, base, table.get("rate_share")),
        options=options,
    )
    domains = None
    if "domains" in table:
        domains = check.domains(table["domains"], f"{where}.domains", empty=True)
    return DirectoryConfig(
        id=directory_id, provider=provider, settings=settings, domains=domains, table=dict(table)
    )


def directory_from_table(
    table: Mapping[str, Any],
    *,
    source: str,
    base_dir: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    secrets: bool = True,
    default_http: HttpSettings | None = None,
) -> DirectoryConfig:
    """One directory from its table (a ``[[directories]]`` entry's shape), checked as the file's
    are; errors name ``source``.  Used for the directories a store holds as data, which start
    from ``default_http`` (the file's ``[http]`` and ``[tls]``) as the file's directories do."""
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    environ = os.environ if env is None else env
    start = default_http if default_http is not None else HttpSettings()
    return _directory(Checker(source), table, "directory", start, base, environ, secrets)


def _http_settings(
    check: Checker,
    start: HttpSettings,
    http: Mapping[str, Any],
    tls: Mapping[str, Any],
    where: str,
    base: Path,
    rate_share: Any = None,
) -> HttpSettings:
    prefix = f"{where}." if where else ""
    changes: dict[str, Any] = {}
    for key, value in http.items():
        name = f"{prefix}http.{key}"
        if key == "rate_share":
            changes[key] = check.ratio(value, name, allow_zero=False)
        elif key == "max_retries":
            changes[key] = check.integer(value, name, minimum=0)
        else:
            changes[key] = check.positive(value, name)
    if rate_share is not None:
        changes["rate_share"] = check.ratio(rate_share, f"{prefix}rate_share", allow_zero=False)
    if "verify" in tls:
        changes["verify_tls"] = check.boolean(tls["verify"], f"{prefix}tls.verify")
    if "ca_bundle" in tls:
        changes["ca_bundle"] = str(check.existing_file(tls["ca_bundle"], f"{prefix}tls.ca_bundle", base))
    return dataclasses.replace(start, **changes)
