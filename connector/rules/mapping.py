"""Pure mapping from an IdP user to the product's fields, and internal or external.

Providers already turn each IdP's JSON into :class:`~connector.model.IdpUser`
(active per docs/contract.md, "Map"); this module decides what the product makes of
it: the profile an account would carry, the parsed address, and whether the
person is internal (address in a verified domain) or external.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from connector.emails import Email
from connector.emails import InvalidEmailError
from connector.emails import domain_of
from connector.emails import is_internal
from connector.emails import parse_email
from connector.model import Account
from connector.model import IdpUser

PROFILE_FIELDS: tuple[str, ...] = ("email", "display_name", "given_name", "family_name")
"""The account fields sync may change, and only on internal accounts."""


@dataclass(frozen=True, slots=True)
class MappedUser:
    """An IdP user as the product sees it.

    ``email`` is None when the IdP gave no address or an invalid one;
    ``email_problem`` then says which.  An address-less user is external:
    nothing proves it belongs to a verified domain.
    """

    user: IdpUser
    email: Email | None
    email_problem: str | None
    internal: bool
    display_name: str | None

    @property
    def idp_user_id(self) -> str:
        return self.user.idp_user_id


def display_name_of(user: IdpUser) -> str | None:
    """The IdP's display name, else given and family name joined, else None."""
    if user.display_name and user.display_name.strip():
        return user.display_name.strip()
    joined = " ".join(p.strip() for p in (user.given_name, user.family_name) if p and p.strip())
    return joined or None


def map_user(user: IdpUser, verified_domains: Iterable[str]) -> MappedUser:
    """Map one IdP user; ``verified_domains`` must already be normalised (see SyncSettings)."""
    email: Email | None = None
    problem: str | None = None
    if user.email is None or not user.email.strip():
        problem = "the IdP gives no email address"
    else:
        try:
            email = parse_email(user.email)
        except InvalidEmailError as exc:
            problem = f"{user.email!r} is not a valid email: {exc}"
    # by the domain alone, also for an address that does not parse (docs/contract.md, "Review before sync")
    internal = is_internal(email if email is not None else user.email, verified_domains)
    return MappedUser(
        user=user,
        email=email,
        email_problem=problem,
        internal=internal,
        display_name=display_name_of(user),
    )


def account_is_internal(account: Account, verified_domains: frozenset[str]) -> bool:
    """True when the account's own address is in a verified domain.

    What decides whether sync may touch a profile is the *account's* address:
    an external account is the person's own (docs/contract.md, "External accounts").
    """
    domain = account.email.rpartition("@")[2].strip().lower() if account.email else ""
    if domain.isascii():  # an ASCII domain is its own IDNA form: no need to parse
        return domain in verified_domains
    domain = domain_of(account.email)
    return domain is not None and domain in verified_domains


def profile_changes(
    account: Account, user: IdpUser, email_address: str | None
) -> tuple[dict[str, object], dict[str, object]]:
    """The profile fields of ``account`` that differ from the IdP's, as (new, old).

    ``email_address`` is the IdP's address in stored form (``Email.address``),
    or None to leave the email alone.  A field the IdP leaves empty is never
    blanked.  Whether the profile may change at all (internal accounts only)
    and whether the new address clashes is the planner's call.
    """
    wanted: dict[str, object] = {
        "email": email_address,
        "display_name": display_name_of(user),
        "given_name": _clean(user.given_name),
        "family_name": _clean(user.family_name),
    }
    new: dict[str, object] = {}
    old: dict[str, object] = {}
    for name in PROFILE_FIELDS:
        value = wanted[name]
        if value is not None and value != getattr(account, name):
            new[name] = value
            old[name] = getattr(account, name)
    return new, old


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None
