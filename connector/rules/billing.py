"""Product access and the billable count (docs/contract.md, "Product access", "Billing").

An active account has a product when it is in a group (through any source)
that the configuration grants the product to; grants name groups, and every
group of that name grants it.  The billable count is the number of *distinct*
active, internal accounts with at least one product: external accounts are
never billed, and no account counts twice, whatever its links, groups or
directories.  Pure and linear in accounts plus memberships.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from dataclasses import fields
from typing import Any

from connector.emails import InvalidEmailError
from connector.emails import normalize_domain
from connector.model import Account
from connector.model import AccountStatus
from connector.model import Group
from connector.model import GroupMembership
from connector.rules.mapping import account_is_internal


@dataclass(frozen=True)
class BillingReport:
    """Who has what, counted by distinct account.

    ``billable`` and ``per_product`` count active internal accounts only;
    ``external_with_access`` and ``external_per_product`` the active external
    accounts that have products (free, shown for review).
    """

    billable: int
    per_product: Mapping[str, int] = field(default_factory=dict)
    external_with_access: int = 0
    external_per_product: Mapping[str, int] = field(default_factory=dict)
    active_accounts: int = 0
    active_internal: int = 0
    active_external: int = 0

    def moved(self, before: BillingReport, after: BillingReport) -> BillingReport:
        """This report with some accounts' share ``before`` replaced by their share ``after``.

        Every figure is a sum over accounts, so a run that touched a few accounts
        can bring the whole organization's report up to date from theirs alone.
        """

        def shift(mine: Any, old: Any, new: Any) -> Any:
            if isinstance(mine, int):
                return mine - old + new
            keys = sorted({*mine, *old, *new})
            return {k: mine.get(k, 0) - old.get(k, 0) + new.get(k, 0) for k in keys}

        names = [f.name for f in fields(self)]
        return BillingReport(
            **{n: shift(getattr(self, n), getattr(before, n), getattr(after, n)) for n in names}
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BillingReport:
        """The report :meth:`to_dict` gave."""
        return cls(
            billable=int(data["billable"]),
            per_product={str(k): int(v) for k, v in data["per_product"].items()},
            external_with_access=int(data["external_with_access"]),
            external_per_product={str(k): int(v) for k, v in data["external_per_product"].items()},
            active_accounts=int(data["active_accounts"]),
            active_internal=int(data["active_internal"]),
            active_external=int(data["active_external"]),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "billable": self.billable,
            "per_product": dict(self.per_product),
            "external_with_access": self.external_with_access,
            "external_per_product": dict(self.external_per_product),
            "active_accounts": self.active_accounts,
            "active_internal": self.active_internal,
            "active_external": self.active_external,
        }


def billing(
    accounts: Iterable[Account] | Mapping[str, Account],
    groups: Iterable[Group] | Mapping[str, Group],
    memberships: Iterable[GroupMembership],
    product_grants: Mapping[str, Iterable[str]],
    verified_domains: Iterable[str],
) -> BillingReport:
    """Count product access and billable accounts over a whole organization.

    One pass over ``accounts``, each account once (a stream will do: none is
    kept), after the memberships of the groups that grant a product.
    """
    domains = frozenset(_domain(d) for d in verified_domains)
    group_ids_by_name: dict[str, list[str]] = {}
    for group in groups.values() if isinstance(groups, Mapping) else groups:
        group_ids_by_name.setdefault(group.name, []).append(group.group_id)
    products_by_group: dict[str, set[str]] = {}
    for product, names in product_grants.items():
        for name in names:
            for group_id in group_ids_by_name.get(name, ()):
                products_by_group.setdefault(group_id, set()).add(product)
    products_of: dict[str, set[str]] = {}
    for m in memberships:
        granted = products_by_group.get(m.group_id)
        if granted:
            products_of.setdefault(m.account_id, set()).update(granted)
    per_product = {p: 0 for p in sorted(product_grants)}
    external_per_product = dict(per_product)
    billable = external = active = active_internal = 0
    for a in accounts.values() if isinstance(accounts, Mapping) else accounts:
        if a.status is not AccountStatus.ACTIVE:
            continue
        internal = account_is_internal(a, domains)
        active += 1
        active_internal += internal
        products = products_of.get(a.account_id)
        if not products:
            continue
        counts = per_product if internal else external_per_product
        for product in products:
            counts[product] += 1
        if internal:
            billable += 1
        else:
            external += 1
    return BillingReport(
        billable=billable,
        per_product=per_product,
        external_with_access=external,
        external_per_product=external_per_product,
        active_accounts=active,
        active_internal=active_internal,
        active_external=active - active_internal,
    )


def _domain(domain: str) -> str:
    try:
        return normalize_domain(domain)
    except InvalidEmailError:
        return domain.strip().lower()
