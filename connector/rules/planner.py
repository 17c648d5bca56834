"""The planner: a read directory and the store's state in, a :class:`~connector.rules.plan.Plan` out.

Pure and deterministic given ``new_id``, and level-based: it plans the
difference between what the directory says and what the store holds, so a
second plan made after the first is applied is empty (docs/contract.md, "A sync
run", and STYLE.md habit 4).  What it plans, with a reason on every change:

* managed groups created or renamed; a local group with the IdP group's name
  adopted (its local members and grants stay);
* accounts created and linked, or existing accounts linked
  (:mod:`connector.rules.linking`);
* profile updates for internal accounts only, and only at a domain this
  directory manages: an external account's profile is the person's own;
* activation of an identity that is active (again); deactivation of one the
  IdP marks inactive or deleted (at once), or one absent from
  ``missing_threshold`` full reads in a row.  An incremental view never counts
  absence.  An account still active through another directory's link stays
  active;
* memberships with source = this directory added and removed, nested IdP
  groups flattened; memberships from ``local`` or other directories are never
  touched, nor those of an identity that is absent but not yet deactivated or
  that the read returned malformed, nor those of a group whose member list is
  not known (``unsettled_group_ids``) or of a group above one;
* ``MarkMissing`` bookkeeping.  Not the cursor: the sync facade appends it.

Runs in time linear in users, groups and memberships.
"""

from __future__ import annotations

import collections
import uuid
from collections.abc import Callable

from connector.emails import Email
from connector.emails import forget_parsed_emails
from connector.emails import try_parse_email
from connector.model import Account
from connector.model import AccountStatus
from connector.model import DirectoryView
from connector.model import IdpUser
from connector.model import Link
from connector.model import StoreSnapshot
from connector.rules.linking import LinkDecision
from connector.rules.linking import LinkKind
from connector.rules.linking import decide_links
from connector.rules.managed_groups import group_absence
from connector.rules.managed_groups import plan_groups
from connector.rules.mapping import account_is_internal
from connector.rules.mapping import profile_changes
from connector.rules.nesting import flatten
from connector.rules.nesting import with_ancestors
from connector.rules.plan import ActivateAccount
from connector.rules.plan import AddMembership
from connector.rules.plan import Change
from connector.rules.plan import Conflict
from connector.rules.plan import CreateAccount
from connector.rules.plan import DeactivateAccount
from connector.rules.plan import LinkAccount
from connector.rules.plan import MarkMissing
from connector.rules.plan import Plan
from connector.rules.plan import RemoveMembership
from connector.rules.plan import UpdateAccount
from connector.rules.settings import SyncSettings


def make_plan(
    view: DirectoryView,
    snapshot: StoreSnapshot,
    settings: SyncSettings,
    *,
    new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    base_fingerprint: str = "",
) -> Plan:
    """Plan one directory's sync (see the module docstring)."""
    return _Planner(view, snapshot, settings, new_id).plan(base_fingerprint)


class _Planner:
    def __init__(
        self, view: DirectoryView, snapshot: StoreSnapshot, settings: SyncSettings, new_id: Callable[[], str]
    ) -> None:
        self.view = view
        self.snapshot = snapshot
        self.settings = settings
        self.new_id = new_id
        self.directory_id = view.directory_id
        self.domains = frozenset(settings.verified_domains)
        self.managed = settings.managed  # the verified domains this directory manages
        self.threshold = settings.missing_threshold
        self.changes: list[Change] = []
        self.notes: list[str] = []
        self.desired: set[tuple[str, str]] = set()  # (group_id, account_id) this directory gives
        self.kept: set[str] = set()  # accounts whose memberships stay untouched this run
        self.deactivated: set[str] = set()
        self.links_here: dict[str, Link] = {}
        self.active_elsewhere: set[str] = set()
        for (dir_id, idp_user_id), link in snapshot.links.items():
            if dir_id == self.directory_id:
                self.links_here[idp_user_id] = link
            elif link.idp_active and link.missing_count < self.threshold:
                self.active_elsewhere.add(link.account_id)
        unsettled = with_ancestors(view, view.unsettled_group_ids) if view.unsettled_group_ids else set()
        self.unsettled = set(  # product groups whose IdP member list is not known this run
            g.group_id
            for g in snapshot.groups.values()
            if g.directory_id == self.directory_id and g.idp_group_id in unsettled
        )
        self._keys: tuple[dict[str, str], dict[str, set[str]]] | None = None  # built on demand
        self.claimed: set[str] = set()  # matching keys new accounts or updates take this run
        self.claimed_loose: set[str] = set()  # and their look-alike keys
        self.email_conflicts: list[Conflict] = []  # email updates refused: the address is taken

    def plan(self, base_fingerprint: str) -> Plan:
        groups = plan_groups(self.view, self.snapshot, self.new_id)
        self.changes.extend(groups.changes)
        self.notes.extend(groups.notes)
        absence = group_absence(self.view, self.snapshot, self.threshold)
        self.unsettled |= absence.kept
        bookkeeping: list[Change] = list(absence.changes)
        flat = flatten(self.view)
        for cycle in flat.cycles:
            self.notes.append(
                f"nested IdP groups form a cycle ({', '.join(cycle)}): each gets the members of all of them"
            )
        if flat.unknown_groups:
            self.notes.append(
                f"nested group ids not in the read, ignored: {', '.join(sorted(flat.unknown_groups))}"
            )
        groups_by_user = flat.groups_by_user()
        del flat  # every name below that is done with is dropped: a 100k plan's peak is its sum
        links = decide_links(self.view, self.snapshot, self.domains, self.managed)
        forget_parsed_emails()  # linking parsed every address; the few parsed from here on need no cache
        for decision in links.of(LinkKind.CREATE):
            assert decision.mapped is not None and decision.mapped.email is not None
            self.claimed.add(decision.mapped.email.key)
            self.claimed_loose.add(decision.mapped.email.loose)
        conflicts, skipped = links.conflicts, links.skipped
        decisions = dict(links.decisions)
        del links
        for idp_user_id in sorted(self.view.users):
            # each decision is consumed (popped) so that its parsed address goes as its change comes
            account_id = self._identity(decisions.pop(idp_user_id), self.view.users[idp_user_id])
            if account_id is not None:
                for idp_group_id in groups_by_user.get(idp_user_id, ()):
                    self.desired.add((groups.group_ids[idp_group_id], account_id))
        del groups_by_user
        for idp_user_id in sorted(self.links_here):
            if idp_user_id not in self.view.users:
                self._absent(self.links_here[idp_user_id])
        self._memberships(groups.names)
        return Plan(
            directory_id=self.directory_id,
            changes=tuple(self.changes + bookkeeping),
            conflicts=conflicts + tuple(self.email_conflicts),
            skipped=skipped,
            base_fingerprint=base_fingerprint,
            full_read=self.view.full_read,
            users_read=len(self.view.users),
            notes=tuple(self.notes),
        )

    # -- identities in the read ------------------------------------------------

    def _identity(self, decision: LinkDecision, user: IdpUser) -> str | None:
        """Plan one identity of the read; the account it gives memberships to, if any."""
        idp_user_id = user.idp_user_id
        if decision.kind is LinkKind.CREATE:
            assert decision.mapped is not None and decision.mapped.email is not None
            account_id = self.new_id()
            self.changes.append(
                CreateAccount(
                    reason="new identity: no account has this email",
                    account_id=account_id,
                    directory_id=self.directory_id,
                    idp_user_id=idp_user_id,
                    email=decision.mapped.email.address,
                    display_name=decision.mapped.display_name,
                    given_name=_clean(user.given_name),
                    family_name=_clean(user.family_name),
                )
            )
            return account_id
        if decision.kind not in (LinkKind.LINK, LinkKind.LINKED):
            return None  # conflicts and skips plan nothing
        assert decision.account_id is not None
        account = self.snapshot.accounts.get(decision.account_id)
        if account is None:
            self.notes.append(f"identity {idp_user_id} is linked to a missing account {decision.account_id}")
            return None
        if decision.kind is LinkKind.LINK:
            reason = "same email as an existing account: linked; its groups and permissions stay"
            self.changes.append(LinkAccount(reason, self.directory_id, idp_user_id, account.account_id))
        self._present(user, account, self.links_here.get(idp_user_id))
        return account.account_id if user.active else None

    def _present(self, user: IdpUser, account: Account, link: Link | None) -> None:
        active = account.status is AccountStatus.ACTIVE
        if user.active:
            if not active:
                back = " and back in the directory" if link is not None and link.missing_count else ""
                self.changes.append(
                    ActivateAccount(
                        f"active in the IdP ({user.raw_status}){back}",
                        account.account_id,
                        self.directory_id,
                        user.idp_user_id,
                    )
                )
            self._update_profile(user, account)
        elif active:
            self._deactivate(account, user.idp_user_id, f"inactive in the IdP ({user.raw_status})")
        if link is not None and (link.missing_count != 0 or link.idp_active != user.active):
            self.changes.append(
                MarkMissing(
                    "seen in this read",
                    self.directory_id,
                    user.idp_user_id,
                    missing_count=0,
                    idp_active=user.active,
                )
            )

    def _update_profile(self, user: IdpUser, account: Account) -> None:
        if not account_is_internal(account, self.managed):
            return  # an external account is the person's own; another directory's, its own

        address: str | None = None
        raw = (user.email or "").strip()
        if raw and raw != account.email:
            parsed = try_parse_email(raw)
            if parsed is None:
                self.notes.append(
                    f"identity {user.idp_user_id}: email {raw!r} is not valid; the account keeps its own"
                )
            elif parsed.address != account.email:
                address = parsed.address
                current = try_parse_email(account.email)
                if current is None or current.key != parsed.key:
                    taken = self._address_taken(parsed, account.account_id)
                    if taken is not None:
                        reason, holders = taken
                        self.email_conflicts.append(
                            Conflict(
                                self.directory_id,
                                user.idp_user_id,
                                parsed.address,
                                reason,
                                holders,
                                "email_update",
                            )
                        )
                        self.notes.append(
                            f"identity {user.idp_user_id}: {reason}; account {account.account_id} keeps"
                            f" {account.email!r}"
                        )
                        address = None
                    else:
                        self.claimed.add(parsed.key)
                        self.claimed_loose.add(parsed.loose)
        new, old = profile_changes(account, user, address)
        if new:
            names = ", ".join(sorted(new))
            self.changes.append(
                UpdateAccount(
                    f"changed in the IdP: {names}", account_id=account.account_id, fields=new, old=old
                )
            )

    def _address_taken(self, parsed: Email, account_id: str) -> tuple[str, tuple[str, ...]] | None:
        """Why ``parsed`` cannot become account ``account_id``'s address, and whose it is: another
        account holds it exactly, after Unicode folding or as a look-alike, or this run gives it to
        another (docs/contract.md, "4. Plan")."""
        exact, loose = self._account_keys()
        holder = exact.get(parsed.key)
        if holder is not None and holder != account_id:
            return f"new email {parsed.address!r} is another account's", (holder,)
        alike = tuple(sorted(loose.get(parsed.loose, set()) - {account_id}))
        if alike:
            return f"new email {parsed.address!r} is a look-alike of another account's address", alike
        if parsed.key in self.claimed or parsed.loose in self.claimed_loose:
            return f"new email {parsed.address!r} goes to another identity in this run", ()
        return None

    def _account_keys(self) -> tuple[dict[str, str], dict[str, set[str]]]:
        """Every account by its address's matching key, and by its look-alike key."""
        if self._keys is None:
            exact: dict[str, str] = {}
            loose: dict[str, set[str]] = {}
            for account in self.snapshot.accounts.values():
                parsed = try_parse_email(account.email)
                if parsed is not None:
                    exact.setdefault(parsed.key, account.account_id)
                    loose.setdefault(parsed.loose, set()).add(account.account_id)
            self._keys = (exact, loose)
        return self._keys

    # -- identities missing from the read ----------------------------------------

    def _absent(self, link: Link) -> None:
        if link.idp_user_id in self.view.unreadable_user_ids or (
            self.view.absence_uncertain and link.idp_user_id not in self.view.removed_user_ids
        ):
            self.kept.add(link.account_id)  # read but malformed, or perhaps: neither present nor absent
            return
        account = self.snapshot.accounts.get(link.account_id)
        if link.idp_user_id in self.view.removed_user_ids:
            if link.missing_count != self.threshold:
                self.changes.append(
                    MarkMissing(
                        "deleted in the IdP",
                        self.directory_id,
                        link.idp_user_id,
                        missing_count=self.threshold,
                        idp_active=link.idp_active,
                    )
                )
            if account is not None and account.status is AccountStatus.ACTIVE:
                self._deactivate(account, link.idp_user_id, "deleted in the IdP (or out of the app's scope)")
            return
        if not self.view.full_read:
            if link.missing_count < self.threshold:
                self.kept.add(link.account_id)  # an incremental view says nothing about absence
            return
        count = min(link.missing_count + 1, self.threshold)
        if count != link.missing_count:
            reason = f"absent from {count} full read(s) in a row"
            self.changes.append(
                MarkMissing(
                    reason,
                    self.directory_id,
                    link.idp_user_id,
                    missing_count=count,
                    idp_active=link.idp_active,
                )
            )
        if count < self.threshold:
            self.kept.add(link.account_id)  # one bad read never deprovisions anybody
        elif account is not None and account.status is AccountStatus.ACTIVE:
            self._deactivate(account, link.idp_user_id, f"absent from {count} full reads in a row")

    def _deactivate(self, account: Account, idp_user_id: str, reason: str) -> None:
        if account.account_id in self.active_elsewhere:
            self.notes.append(
                f"account {account.account_id} stays active: another directory's identity for it is active"
                f" ({reason} here); only this directory's memberships go"
            )
            return
        self.deactivated.add(account.account_id)
        self.changes.append(DeactivateAccount(reason, account.account_id, self.directory_id, idp_user_id))

    # -- memberships -------------------------------------------------------------

    def _memberships(self, group_names: dict[str, str]) -> None:
        source = self.directory_id
        current = {(m.group_id, m.account_id) for m in self.snapshot.memberships if m.source == source}
        # consumed from the front, so each pair is freed as its change is made
        frozen = self.unsettled
        added = collections.deque(
            sorted([pair for pair in self.desired if pair not in current and pair[0] not in frozen])
        )
        gone = sorted([pair for pair in current if pair not in self.desired and pair[0] not in frozen])
        self.desired = set()
        del current
        reasons: dict[str, str] = {}  # one reason string per group, not one per membership
        while added:
            group_id, account_id = added.popleft()
            reason = reasons.get(group_id)
            if reason is None:
                reason = reasons[group_id] = f"member of IdP group {group_names.get(group_id, group_id)!r}"
            self.changes.append(AddMembership(reason, group_id, account_id, source))
        for group_id, account_id in gone:
            if account_id in self.kept:
                continue
            name = group_names.get(group_id)
            if account_id in self.deactivated:
                reason = "account deactivated"
            elif name is None:
                reason = "the IdP group is gone"
            else:
                reason = f"no longer a member of IdP group {name!r}, or inactive in the IdP"
            self.changes.append(RemoveMembership(reason, group_id, account_id, source))


def _clean(value: str | None) -> str | None:
    value = value.strip() if value else None
    return value or None
