"""Pure link decisions: which account each IdP identity belongs to.

docs/contract.md, "A sync run", step 3, "Link":

* an identity already linked by ``(directory_id, idp_user_id)`` keeps its link,
  whatever its email says now;
* an active, unlinked identity links to the one account with the same
  normalised email -- exactly one candidate on both sides.  Two IdP users with
  one email, two accounts with one email, an account already linked to
  another identity of this directory, an internal address at a domain this
  directory does not manage (docs/contract.md, "Managed domains"), or an
  external address whose account another directory's identity already holds:
  a conflict, and nothing is linked or created for that email.  No account:
  one is created;
* an invalid address, or one that equals an account's (or another new
  identity's) only after Unicode folding or as a look-alike, is a conflict;
* an inactive, unlinked identity is skipped: no account is made for it.

Indexes over the accounts are built only when some identity is unlinked, so a
steady-state run never parses the organization's addresses.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass

from connector.emails import Email
from connector.emails import lookalike_reason
from connector.emails import try_parse_email
from connector.model import Account
from connector.model import DirectoryView
from connector.model import StoreSnapshot
from connector.rules.mapping import MappedUser
from connector.rules.mapping import map_user
from connector.rules.plan import Conflict


class LinkKind(str, enum.Enum):
    LINKED = "linked"  # the link exists already
    LINK = "link"  # link to an existing account
    CREATE = "create"  # create an account and link it
    CONFLICT = "conflict"
    SKIP = "skip"


@dataclass(frozen=True, slots=True)
class LinkDecision:
    """What to do with one identity.  ``account_id`` is None for create, conflict, skip."""

    idp_user_id: str
    kind: LinkKind
    account_id: str | None = None
    reason: str = ""
    mapped: MappedUser | None = None


@dataclass(frozen=True)
class LinkResult:
    """Every identity's decision, plus the conflicts and skips to report."""

    decisions: Mapping[str, LinkDecision]
    conflicts: tuple[Conflict, ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()

    def of(self, kind: LinkKind) -> list[LinkDecision]:
        return [d for d in self.decisions.values() if d.kind is kind]


class _AccountIndex:
    """Accounts by matching key and by look-alike key, built on first use."""

    def __init__(self, accounts: Iterable[Account]) -> None:
        self.by_key: dict[str, list[str]] = {}
        self.by_loose: dict[str, list[tuple[Email, str]]] = {}
        for account in sorted(accounts, key=lambda a: a.account_id):
            parsed = try_parse_email(account.email)
            if parsed is None:
                continue  # an address that does not parse matches nothing
            self.by_key.setdefault(parsed.key, []).append(account.account_id)
            self.by_loose.setdefault(parsed.loose, []).append((parsed, account.account_id))


class _ByKey:
    """Identities by a key, with a list only for keys two or more share.

    Most keys have one identity; a list per key for 100k new identities would
    be the largest thing linking holds.
    """

    def __init__(self) -> None:
        self.first: dict[str, MappedUser] = {}
        self.shared: dict[str, list[MappedUser]] = {}

    def add(self, key: str, mapped: MappedUser) -> None:
        if key in self.first:
            self.shared.setdefault(key, [self.first[key]]).append(mapped)
        else:
            self.first[key] = mapped

    def of(self, key: str) -> list[MappedUser]:
        """Every identity with ``key``, in the order added."""
        return self.shared.get(key) or [self.first[key]]


def decide_links(
    view: DirectoryView,
    snapshot: StoreSnapshot,
    verified_domains: Iterable[str],
    managed_domains: Iterable[str] | None = None,
) -> LinkResult:
    """Decide every identity of ``view`` against the store (pure, deterministic).

    ``managed_domains`` are the verified domains this directory manages (all of them when None):
    an internal address at another one is a conflict."""
    directory_id = view.directory_id
    domains = frozenset(verified_domains)
    managed = domains if managed_domains is None else frozenset(managed_domains)
    linked_here: dict[str, str] = {}  # account_id -> idp_user_id, this directory only
    linked_elsewhere: dict[str, tuple[str, str]] = {}  # account_id -> another directory's identity
    for (dir_id, idp_user_id), link in snapshot.links.items():
        if dir_id == directory_id:
            linked_here[link.account_id] = idp_user_id
        else:
            linked_elsewhere.setdefault(link.account_id, (dir_id, idp_user_id))
    decisions: dict[str, LinkDecision] = {}
    conflicts: list[Conflict] = []
    skipped: list[tuple[str, str]] = []
    pending = _ByKey()  # the active unlinked users, by matching key

    def conflict(mapped: MappedUser, reason: str, account_ids: Iterable[str] = ()) -> None:
        user = mapped.user
        decisions[user.idp_user_id] = LinkDecision(
            user.idp_user_id, LinkKind.CONFLICT, reason=reason, mapped=mapped
        )
        conflicts.append(Conflict(directory_id, user.idp_user_id, user.email, reason, tuple(account_ids)))

    for idp_user_id in sorted(view.users):
        user = view.users[idp_user_id]
        link = snapshot.links.get((directory_id, idp_user_id))
        if link is not None:
            decisions[idp_user_id] = LinkDecision(idp_user_id, LinkKind.LINKED, account_id=link.account_id)
            continue
        if not user.active:
            reason = f"inactive in the IdP ({user.raw_status}) and not linked: not synced"
            decisions[idp_user_id] = LinkDecision(idp_user_id, LinkKind.SKIP, reason=reason)
            skipped.append((idp_user_id, reason))
            continue
        mapped = map_user(user, domains)
        if mapped.email is None:
            conflict(mapped, f"cannot match: {mapped.email_problem}")
            continue
        if mapped.internal and mapped.email.domain not in managed:
            conflict(
                mapped,
                f"{mapped.email.address!r} is an internal address at {mapped.email.domain}, "
                "a domain this directory does not manage",
            )
            continue
        pending.add(mapped.email.key, mapped)

    if not pending.first:
        return LinkResult(decisions, tuple(conflicts), tuple(skipped))

    index = _AccountIndex(snapshot.accounts.values())
    creates: list[MappedUser] = []
    for key in sorted(pending.first):
        users = pending.of(key)
        if len(users) > 1:
            ids = ", ".join(m.idp_user_id for m in users)
            for mapped in users:
                conflict(mapped, f"{len(users)} IdP users share the email {key!r} ({ids})")
            continue
        mapped = users[0]
        candidates = index.by_key.get(key, [])
        if len(candidates) > 1:
            reason = f"{len(candidates)} accounts share the email {key!r} ({', '.join(candidates)})"
            conflict(mapped, reason, candidates)
            continue
        if candidates:
            account_id = candidates[0]
            if (mapped.idp_user_id, account_id) in snapshot.held_apart:
                reason = f"unlinked by hand from account {account_id}; only a hand-made link joins them again"
                conflict(mapped, reason, [account_id])
                continue
            other = linked_here.get(account_id)
            if other is not None:
                reason = f"account {account_id} is already linked to identity {other} of this directory"
                conflict(mapped, reason, [account_id])
                continue
            if not mapped.internal and account_id in linked_elsewhere:
                elsewhere, identity = linked_elsewhere[account_id]
                reason = (
                    f"account {account_id} has an external address and is already linked to identity "
                    f"{identity} of directory {elsewhere!r}"
                )
                conflict(mapped, reason, [account_id])
                continue
            decisions[mapped.idp_user_id] = LinkDecision(
                mapped.idp_user_id, LinkKind.LINK, account_id=account_id, reason="same email", mapped=mapped
            )
            continue
        assert mapped.email is not None
        lookalikes = [
            (reason, account_id)
            for existing, account_id in index.by_loose.get(mapped.email.loose, [])
            if (reason := lookalike_reason(mapped.email, existing)) is not None
        ]
        if lookalikes:
            conflict(mapped, lookalikes[0][0], [a for _, a in lookalikes])
            continue
        creates.append(mapped)

    lookalikes_among = _lookalikes_among(creates)
    for mapped in creates:
        reason = lookalikes_among.get(mapped.idp_user_id)
        if reason is not None:
            conflict(mapped, reason)
        else:
            decisions[mapped.idp_user_id] = LinkDecision(
                mapped.idp_user_id, LinkKind.CREATE, reason="no account has this email", mapped=mapped
            )
    conflicts.sort(key=lambda c: c.idp_user_id)
    return LinkResult(decisions, tuple(conflicts), tuple(skipped))


def _lookalikes_among(creates: list[MappedUser]) -> dict[str, str]:
    """Why a new identity may not be created, by identity: another new one looks like it.

    Only identities whose look-alike key another one shares are compared; the
    first other one (in ``creates`` order) that looks alike is named.
    """
    by_loose = _ByKey()
    for mapped in creates:
        assert mapped.email is not None
        by_loose.add(mapped.email.loose, mapped)
    reasons: dict[str, str] = {}
    for group in by_loose.shared.values():
        for mapped in group:
            for other in group:
                assert mapped.email is not None and other.email is not None
                if other is not mapped and (why := lookalike_reason(mapped.email, other.email)) is not None:
                    reasons[mapped.idp_user_id] = f"{why} (identity {other.idp_user_id}, also new)"
                    break
    return reasons
