"""Several organizations in one store: what the gateway operator sees across them.

Each organization's figures come from its own :class:`~connector.api.connector.Connector` (the
store as that organization sees it); nothing here adds one organization's rows to another's.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from connector.api.connector import Connector
from connector.config.loader import ConfigFile
from connector.config.loader import load_config_file


@dataclass(frozen=True)
class OrganizationBilling:
    """One organization's billing report, as its own store scope counts it."""

    org_id: str
    name: str | None
    billing: Any  # connector.rules.billing.BillingReport


def billing_of_every_organization(
    config: ConfigFile | str | os.PathLike[str], *, env: Mapping[str, str] | None = None
) -> list[OrganizationBilling]:
    """Each organization's billing: those the configuration declares, in its order, then those
    only the store holds (``orgs add``, ``directories add``), by id.

    The store is opened once; each organization reads it through its own scope, so an email
    present in two organizations is two accounts, counted (or not) by each organization alone.
    """
    whole = config if isinstance(config, ConfigFile) else load_config_file(config, env=env, secrets=False)
    reports: list[OrganizationBilling] = []
    first = Connector(whole.organizations[0])
    try:
        for org in whole.organizations:
            with Connector(org, store=first.store) as connector:
                reports.append(OrganizationBilling(org.org_id, org.org_name, connector.billing()))
        declared = set(whole.org_ids)
        for entry in first.store.organization_entries():
            if entry.org_id not in declared:
                with first.store.for_org(entry.org_id) as scoped:
                    reports.append(OrganizationBilling(entry.org_id, entry.name, scoped.billing()))
    finally:
        first.close()
    return reports
