"""Email normalisation for matching, internal or external, and look-alike detection.

docs/contract.md, "Email normalisation for matching": trim, Unicode NFC, syntax
checked by ``email_validator`` (no network, no deliverability check), domain
IDNA-encoded and lower-cased, local part compared with ASCII-only case
insensitivity.  No Unicode case folding (dotless ``ı``, the Kelvin sign ``K``
never become ``i``, ``k``), no dot or plus folding.

Two keys come out of :func:`parse_email`:

* ``key`` -- the matching key; two addresses match only when their keys are
  equal;
* ``loose`` -- NFKC, Unicode case folding and the confusables skeleton (Unicode
  TR39 prototypes, from ``confusable-homoglyphs``).  It never links anybody:
  an address whose ``loose`` equals an account's while its ``key`` differs is a
  look-alike, which the linker reports as a conflict.

Look-alikes are only looked for when one of the two addresses has a non-ASCII
character: two plain ASCII addresses that differ (``jm@`` and ``jrn@``) are two
people, not a spoofing attempt.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

import email_validator
from confusable_homoglyphs import utils as confusable_data

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_BIDI_MARKS = "\u200e\u200f"
# RFC 5322 dot-atom of ASCII atext: a local part email_validator always accepts.
_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


class InvalidEmailError(ValueError):
    """An address that is not a valid email; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class Email:
    """A parsed address.

    ``address`` is the form to store and show: the local part as given (NFC),
    ``@``, the domain lower-cased (Unicode form).  ``key`` is the matching key,
    ``domain`` the IDNA (ASCII) domain, ``loose`` the look-alike key.
    """

    address: str
    key: str
    domain: str
    loose: str
    fold: str

    @property
    def is_ascii(self) -> bool:
        return self.address.isascii()


def _skeleton_table() -> dict[int, str]:
    """Map every non-ASCII confusable character to its prototype.

    The data lists both directions of each TR39 pair: a source character has
    exactly one entry, its prototype; a prototype lists its sources.  ASCII
    characters keep themselves, so ``I``/``l``/``1`` and ``m``/``rn`` stay apart.
    """
    data = confusable_data.load("confusables.json")
    table: dict[int, str] = {}
    for char, entries in data.items():
        if len(char) != 1 or char.isascii() or len(entries) != 1:
            continue
        target = entries[0]["c"].strip(_BIDI_MARKS)
        if target and target != char:
            table[ord(char)] = target
    # Resolve chains (a source whose prototype is itself a source) a few times over.
    for _ in range(3):
        table = {k: v.translate(table) for k, v in table.items()}
    return table


_SKELETON: dict[int, str] | None = None


def _skeleton(text: str) -> str:
    global _SKELETON
    if _SKELETON is None:
        _SKELETON = _skeleton_table()
    return text.translate(_SKELETON)


def _fold(text: str) -> str:
    """Unicode compatibility and case folding: what the matching key must *not* do."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def _loose(folded: str) -> str:
    """The look-alike key of a folded address.  Letters whose case folding adds a mark are
    special-cased: ``İ`` (U+0130) folds to ``i`` with a combining dot above, which no
    confusable prototype maps, so the dot goes and it looks like the ``i`` it is."""
    return _fold(_skeleton(folded)).replace("i\u0307", "i").replace("j\u0307", "j")


def _check_characters(text: str) -> None:
    # NFC turns the Kelvin sign into "K" and IDNA's UTS 46 mapping turns
    # fullwidth letters into ASCII ones; an address written with such a
    # character only equals an ASCII one after folding, so it is refused.
    for char in text:
        if not char.isascii() and unicodedata.normalize("NFKC", char).isascii():
            name = unicodedata.name(char, f"U+{ord(char):04X}")
            folded = unicodedata.normalize("NFKC", char)
            raise InvalidEmailError(
                f"it contains {char!r} ({name}), which equals {folded!r} only after Unicode folding"
            )


@functools.lru_cache(maxsize=1 << 18)
def parse_email(raw: str) -> Email:
    """Parse and normalise one address; raise :class:`InvalidEmailError` if it is not one.

    Results are cached, and a plain ASCII local part (a dot-atom within the
    length limits) has only its domain validated, once per domain: the
    answer is the one ``email_validator`` gives for the whole address (the
    tests hold the two paths to each other), at a fraction of the cost.
    """
    if not isinstance(raw, str):
        raise InvalidEmailError(f"an email must be text, got {type(raw).__name__}")
    text = raw.strip()
    if not text:
        raise InvalidEmailError("the email is empty")
    if not text.isascii():
        _check_characters(text)
        text = unicodedata.normalize("NFC", text)
    local, at, domain = text.rpartition("@")
    if at and len(local) <= 64 and _DOT_ATOM.fullmatch(local):
        try:
            unicode_domain, ascii_domain = _domain(domain)
        except email_validator.EmailNotValidError as exc:
            raise InvalidEmailError(str(exc)) from exc
        if len(local) + 1 + len(ascii_domain) <= 254:
            return _email(local, unicode_domain, ascii_domain, given=text)
    try:
        valid = email_validator.validate_email(text, check_deliverability=False)
    except email_validator.EmailNotValidError as exc:
        raise InvalidEmailError(str(exc)) from exc
    local = unicodedata.normalize("NFC", valid.local_part)
    return _email(local, valid.domain.lower(), (valid.ascii_domain or valid.domain).lower())


@functools.lru_cache(maxsize=4096)
def _domain(domain: str) -> tuple[str, str]:
    """(Unicode form, IDNA form) of a domain, lower-cased, as email_validator checks it."""
    valid = email_validator.validate_email(f"postmaster@{domain}", check_deliverability=False)
    return valid.domain.lower(), (valid.ascii_domain or valid.domain).lower()


def _email(local: str, unicode_domain: str, ascii_domain: str, given: str = "") -> Email:
    # equal strings are kept as one object (the IdP's own where it is already normal): a 100k-user
    # read holds every parsed address while it is linked
    address = f"{local}@{unicode_domain}"
    if address == given:
        address = given
    key = f"{local.translate(_ASCII_LOWER)}@{ascii_domain}"
    if key == address:
        key = address
    if address.isascii():  # folding ASCII is lower-casing it, and ASCII has no prototypes to map
        return Email(address=address, key=key, domain=ascii_domain, loose=key, fold=key)
    fold = _fold(address)
    return Email(address=address, key=key, domain=ascii_domain, loose=_loose(fold), fold=fold)


def forget_parsed_emails() -> None:
    """Empty :func:`parse_email`'s cache (a long-lived process would otherwise keep a run's addresses)."""
    parse_email.cache_clear()


def try_parse_email(raw: str | None) -> Email | None:
    """:func:`parse_email`, or None for a missing or invalid address."""
    if raw is None:
        return None
    try:
        return parse_email(raw)
    except InvalidEmailError:
        return None


def address_keys(raw: str | None) -> tuple[str, str]:
    """An address's matching and look-alike keys, ``("", "")`` for a missing or invalid one.

    Not cached: the store works these out once per address it writes, and a first
    sync's 200k of them would otherwise fill :func:`parse_email`'s cache again.
    """
    if raw is None:
        return "", ""
    try:
        parsed = parse_email.__wrapped__(raw)
    except InvalidEmailError:
        return "", ""
    return parsed.key, parsed.loose


def normalize_email(raw: str) -> str:
    """The matching key of an address (see the module docstring)."""
    return parse_email(raw).key


def normalize_domain(domain: str) -> str:
    """A domain IDNA-encoded and lower-cased: ``"Bücher.DE"`` -> ``"xn--bcher-kva.de"``."""
    if not isinstance(domain, str) or not domain.strip():
        raise InvalidEmailError("the domain is empty")
    return parse_email(f"postmaster@{domain.strip()}").domain


def domain_of(raw: str | None) -> str | None:
    """The normalised domain of an address, leniently: for classifying stored accounts.

    An address that does not parse still has its part after the last ``@``
    tried as a domain; None when there is none.
    """
    parsed = try_parse_email(raw)
    if parsed is not None:
        return parsed.domain
    if not raw or "@" not in raw:
        return None
    try:
        return normalize_domain(raw.rpartition("@")[2])
    except InvalidEmailError:
        return None


def is_internal(email: str | Email | None, verified_domains: Iterable[str]) -> bool:
    """True when the address's domain equals a verified domain (already normalised).

    Subdomains are not internal: ``eu.example.com`` is another domain.
    """
    domain = email.domain if isinstance(email, Email) else domain_of(email)
    return domain is not None and domain in set(verified_domains)


def lookalike_reason(candidate: Email, existing: Email) -> str | None:
    """Why ``candidate`` must not match ``existing`` although it looks like it, or None.

    None when the keys are equal (a real match) or the addresses look different.
    """
    if candidate.key == existing.key:
        return None
    if candidate.is_ascii and existing.is_ascii:
        return None
    if candidate.fold == existing.fold:
        return (
            f"{candidate.address!r} equals {existing.address!r} only after Unicode case folding;"
            " only ASCII letters are compared case-insensitively"
        )
    if candidate.loose == existing.loose:
        return f"{candidate.address!r} is a look-alike (confusable) of {existing.address!r}"
    return None
