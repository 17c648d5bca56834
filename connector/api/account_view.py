"""One account as a QA person or an administrator needs to see it (``accounts show``).

Its links per directory, its memberships with the source of each, the products they give it and
whether it is billed (docs/contract.md, "Product access", "Billing": the same rule the billing
report counts by), and the open conflicts that name it.
"""

from __future__ import annotations

from typing import Any

from connector.config.loader import Config
from connector.errors import ConfigError
from connector.rules.billing import billing
from connector.rules.mapping import account_is_internal
from connector.store import Store


def account_view(store: Store, config: Config, account_id: str) -> dict[str, Any]:
    """The account ``account_id`` as plain data; an unknown id is a ConfigError."""
    account = store.account(account_id)
    if account is None:
        raise ConfigError(f"no account {account_id!r}; see `idp-connector accounts export`")
    groups = {g.group_id: g for g in store.groups()}
    memberships = [m for m in store.memberships() if m.account_id == account_id]
    report = billing([account], groups, memberships, config.product_grants, config.verified_domains)
    products = {p: n + report.external_per_product.get(p, 0) for p, n in report.per_product.items()}
    links = [
        {"directory_id": k.directory_id, "idp_user_id": k.idp_user_id,
         "missing_count": k.missing_count, "idp_active": k.idp_active}
        for k in store.links()
        if k.account_id == account_id
    ]  # fmt: skip
    shown = [
        {"group": groups[m.group_id].name if m.group_id in groups else m.group_id,
         "group_id": m.group_id, "source": m.source}
        for m in memberships
    ]  # fmt: skip
    return {
        "account_id": account.account_id,
        "email": account.email,
        "display_name": account.display_name,
        "status": account.status.value,
        "origin": account.origin.value,
        "internal": account_is_internal(account, frozenset(config.verified_domains)),
        "links": links,
        "memberships": sorted(shown, key=lambda m: (m["group"], m["source"])),
        "products": sorted(p for p, n in products.items() if n),  # an inactive account has none
        "billable": report.billable == 1,
        "conflicts": [c.to_dict() for c in store.open_conflicts() if account_id in c.account_ids],
    }
