"""What a sync run is configured with: verified domains, product grants, guard numbers.

Both classes are frozen and check themselves on construction, so a bad value
fails where it is set, with a :class:`~connector.errors.ConfigError` naming
the key, rather than deep inside a run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import timedelta
from types import MappingProxyType

from connector.emails import InvalidEmailError
from connector.emails import normalize_domain
from connector.errors import ConfigError


@dataclass(frozen=True)
class GuardSettings:
    """The guard's numbers (docs/contract.md, "Guard"); every one of them configurable.

    A plan trips the guard when it would deactivate at least
    ``min_deactivations`` accounts *and* more than ``max_deactivation_ratio``
    of the directory's linked accounts or more than ``max_deactivations``; when
    it would take more than ``group_max_removal_ratio`` of the members out of a
    group of at least ``group_min_size``; or when the read came back empty or
    shrank by more than ``max_shrink_ratio`` since the last good run.  Okta's
    own safeguard is a 20% ratio, Entra's a count.

    A push directory weighs deactivations over a window instead of one plan (its IdP sends them
    a request at a time): more than the numbers above within ``window_seconds`` are accepted
    on the wire and staged (docs/push.md, "The receiving guard").
    """

    min_deactivations: int = 5
    max_deactivation_ratio: float = 0.10
    max_deactivations: int = 500
    group_min_size: int = 20
    group_max_removal_ratio: float = 0.5
    max_shrink_ratio: float = 0.10
    window_seconds: int = 600

    def __post_init__(self) -> None:
        for name in ("min_deactivations", "max_deactivations", "group_min_size", "window_seconds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"guard.{name} must be a whole number >= 0, got {value!r}")
        for name in ("max_deactivation_ratio", "group_max_removal_ratio", "max_shrink_ratio"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise ConfigError(f"guard.{name} must be a number between 0 and 1, got {value!r}")


@dataclass(frozen=True)
class SyncSettings:
    """Everything the rules need besides the directory and the store.

    ``verified_domains`` are kept IDNA-encoded and lower-cased, so
    ``"Bücher.DE"`` and ``"xn--bcher-kva.de"`` are the same domain.
    ``product_grants`` maps a product (``"jira-software"``) to the names of the
    groups that grant it.  ``missing_threshold`` is how many full reads in a
    row must miss an identity before its account is deactivated.
    """

    verified_domains: tuple[str, ...] = ()
    product_grants: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    guard: GuardSettings = field(default_factory=GuardSettings)
    missing_threshold: int = 2
    full_read_interval: timedelta = timedelta(days=1)
    managed_domains: tuple[str, ...] | None = None
    """The verified domains the directory being run manages; None: every one (docs/contract.md,
    "Managed domains").  Only the managing directory links an internal address by email or
    changes an internal account's profile."""

    @property
    def managed(self) -> frozenset[str]:
        """The managed domains, normalised (every verified domain when none are named)."""
        return frozenset(self.verified_domains if self.managed_domains is None else self.managed_domains)

    def __post_init__(self) -> None:
        if isinstance(self.verified_domains, str):
            raise ConfigError("verified_domains must be a list of domains, not one string")
        domains = []
        for domain in self.verified_domains:
            try:
                domains.append(normalize_domain(domain))
            except InvalidEmailError as exc:
                raise ConfigError(f"verified_domains: {domain!r} is not a domain name: {exc}") from exc
        object.__setattr__(self, "verified_domains", tuple(dict.fromkeys(domains)))
        if self.managed_domains is not None:
            managed = []
            for domain in self.managed_domains:
                try:
                    managed.append(normalize_domain(domain))
                except InvalidEmailError as exc:
                    raise ConfigError(f"managed_domains: {domain!r} is not a domain name: {exc}") from exc
            unverified = sorted(set(managed) - set(domains))
            if unverified:
                raise ConfigError(f"managed_domains: {', '.join(unverified)} not among the verified domains")
            object.__setattr__(self, "managed_domains", tuple(dict.fromkeys(managed)))
        grants = {}
        for product, groups in self.product_grants.items():
            if not isinstance(product, str) or not product.strip():
                raise ConfigError(f"product_grants: product name must be a non-empty string, got {product!r}")
            if isinstance(groups, str):
                raise ConfigError(f"product_grants.{product} must be a list of group names, not one string")
            grants[product] = tuple(groups)
        object.__setattr__(self, "product_grants", MappingProxyType(grants))
        if not isinstance(self.guard, GuardSettings):
            raise ConfigError(f"guard must be GuardSettings, got {type(self.guard).__name__}")
        threshold = self.missing_threshold
        if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 1:
            raise ConfigError(f"missing_threshold must be a whole number >= 1, got {threshold!r}")
        if not isinstance(self.full_read_interval, timedelta) or self.full_read_interval <= timedelta(0):
            raise ConfigError(
                f"full_read_interval must be a positive duration, got {self.full_read_interval!r}"
            )
