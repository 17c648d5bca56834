"""A Connector for one organization: the file's, with the directories the store holds as data
and the file does not declare, or, for an organization only the store holds, the store's."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from connector.api.connector import Connector
from connector.config.loader import Config
from connector.config.loader import ConfigFile
from connector.config.loader import load_config_file
from connector.config.records import LoadedDirectory
from connector.config.records import load_directory
from connector.config.records import organization_config
from connector.errors import ConfigError
from connector.net.settings import HttpSettings
from connector.store import Store
from connector.store.tenancy import check_org_id
from connector.vault import Vault


def open_connector(
    path: str | os.PathLike[str],
    *,
    org: str | None = None,
    secrets: bool = True,
    secrets_of: str | None = None,
    env: Mapping[str, str] | None = None,
    vault: Vault | None = None,
    **kwargs: Any,
) -> Connector:
    """The :class:`Connector` of organization ``org``: the file's, with the directories the store
    holds for it and the file does not declare; or, for an organization only the store holds,
    the store's.

    A stored directory whose sealed secrets do not open is kept with its error: every run that
    needs it fails naming it, and the other directories run.  The file wins: a directory it
    declares runs as it says, whatever the store holds.
    """
    whole = load_config_file(path, env=env, secrets=secrets, secrets_of=secrets_of, org=org)
    if org is None or org in whole.org_ids:
        connector = Connector(whole.organization(org), **kwargs)
        from_file = {d.id for d in connector.config.directories}
    else:
        config = _stored_organization(whole, check_org_id(org))
        connector = Connector(config, **kwargs)
        from_file = set()
    include_stored_directories(
        connector,
        from_file,
        vault=vault,
        secrets=secrets,
        secrets_of=secrets_of,
        default_http=whole.default_http,
    )
    return connector


def open_store(whole: ConfigFile, *, upgrade: bool = True) -> Store:
    """The store the file names, as the operator opens it for every organization (``serve``, the
    scheduler, the deliverer, the registry): scoped to the file's first organization, which it
    does not register (``upgrade`` False: refused unless at the newest migration)."""
    return Store.open(whole.store_url, org=whole.organizations[0].org_id, register=False, upgrade=upgrade)


def _stored_organization(whole: ConfigFile, org: str) -> Config:
    with open_store(whole) as store:
        entry = store.organization_entry(org)
        if entry is None:
            raise ConfigError(
                f"{whole.source}: no organization {org!r} in the file or the store; the file declares: "
                f"{', '.join(whole.org_ids)}"
            )
        directories = store.directory_entries(org)
    return organization_config(entry, directories, store_url=whole.store_url, source=whole.source)


def include_stored_directories(
    connector: Connector,
    from_file: set[str],
    *,
    vault: Vault | None = None,
    secrets: bool = True,
    secrets_of: str | None = None,
    default_http: HttpSettings | None = None,
) -> None:
    """Add to ``connector`` the pull directories its store holds as data and the file does not
    declare, each with its secrets opened (or its error kept) and its network settings starting
    from ``default_http`` (the file's ``[http]`` and ``[tls]``), and note the disabled ones."""
    if not _store_may_exist(connector.config.store_url):
        return
    entries = connector.store.directory_entries(connector.config.org_id)
    loaded: list[LoadedDirectory] = []
    for entry in entries:
        if entry.directory_id in from_file or not entry.as_data or entry.mode != "pull":
            continue
        reads = secrets and (secrets_of is None or secrets_of == entry.directory_id)
        loaded.append(load_directory(entry, vault, secrets=reads, default_http=default_http))
    if loaded:
        kept = tuple(d for d in connector.config.directories if d.id in from_file)
        connector.config = dataclasses.replace(
            connector.config, directories=kept + tuple(x.directory for x in loaded)
        )
    connector.directory_problems.update({x.directory.id: x.problem for x in loaded if x.problem is not None})
    connector.disabled = frozenset(e.directory_id for e in entries if e.disabled)


def _store_may_exist(url: str) -> bool:
    """False for a SQLite file not made yet (no store, so no stored directory)."""
    prefix = "sqlite:///"
    if url.startswith(prefix):
        path = url[len(prefix) :].split("?", 1)[0]
        return path in ("", ":memory:") or Path(path).exists()
    return True
