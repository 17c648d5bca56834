"""Email normalisation, internal/external and look-alikes (PRODUCT.md, "Email normalisation")."""

from __future__ import annotations

import email_validator
import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis_profiles import examples

from connector.emails import InvalidEmailError
from connector.emails import domain_of
from connector.emails import is_internal
from connector.emails import lookalike_reason
from connector.emails import normalize_domain
from connector.emails import normalize_email
from connector.emails import parse_email


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("kate@example.com", "kate@example.com"),
        ("  Kate@EXAMPLE.com\t", "kate@example.com"),  # trim, ASCII case of both parts
        ("KATE.SMITH@Example.Com", "kate.smith@example.com"),
        ("kate.smith+jira@example.com", "kate.smith+jira@example.com"),  # no plus folding
        ("k.a.t.e@example.com", "k.a.t.e@example.com"),  # no dot folding
        ("e\u0301lodie@example.com", "\u00e9lodie@example.com"),  # NFC
        ("\u00c9lodie@example.com", "\u00c9lodie@example.com"),  # no Unicode case folding
        ("fıle@example.com", "fıle@example.com"),  # dotless i stays dotless
        ("user@Bücher.DE", "user@xn--bcher-kva.de"),  # IDNA-encoded, lower-cased
        ("user@xn--bcher-kva.de", "user@xn--bcher-kva.de"),
    ],
)
def test_normalize_email(raw: str, key: str) -> None:
    assert normalize_email(raw) == key


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("kate", "@-sign"),
        ("kate@", "after the @"),
        ("@example.com", "before the @"),
        ("kate@@example.com", "@"),
        ("Kate Smith <kate@example.com>", ""),
        ("kate@localhost", "period"),
        ("\u212aate@example.com", "KELVIN SIGN"),  # NFC would make it "K"
        ("kate@exampl\u212a.com", "KELVIN SIGN"),  # UTS 46 would make it "k"
        ("\uff4bate@example.com", "FULLWIDTH"),
    ],
)
def test_invalid_addresses_say_why(raw: str, words: str) -> None:
    with pytest.raises(InvalidEmailError, match=words or None):
        parse_email(raw)


def test_address_keeps_the_local_part_as_given() -> None:
    parsed = parse_email(" Kate.Smith@EXAMPLE.COM ")
    assert parsed.address == "Kate.Smith@example.com"
    assert parsed.domain == "example.com"


@pytest.mark.parametrize(
    ("email", "internal"),
    [
        ("kate@example.com", True),
        ("kate@EXAMPLE.COM", True),
        ("kate@bücher.de", True),
        ("kate@eu.example.com", False),  # a subdomain is another domain
        ("kate@example.com.evil.io", False),
        ("kate@partner.io", False),
        ("not an email", False),
        (None, False),
    ],
)
def test_internal_is_a_verified_domain(email: str | None, internal: bool) -> None:
    domains = (normalize_domain("Example.COM"), normalize_domain("BÜCHER.de"))
    assert is_internal(email, domains) is internal


def test_domain_of_is_lenient_for_stored_accounts() -> None:
    assert domain_of("Kate Smith@Example.com") == "example.com"  # not a valid address, still a domain
    assert domain_of("nobody") is None


@pytest.mark.parametrize(
    ("candidate", "existing", "words"),
    [
        ("fıle@example.com", "file@example.com", "look-alike"),  # dotless i
        ("\u0130van@example.com", "ivan@example.com", "look-alike"),  # İ: its case folding adds a dot
        ("\u0130VAN@example.com", "Ivan@example.com", "look-alike"),
        ("\u0456van@example.com", "ivan@example.com", "look-alike"),  # Cyrillic і
        ("\u0430lice@example.com", "alice@example.com", "look-alike"),  # Cyrillic a
        ("alice@ex\u0430mple.com", "alice@example.com", "look-alike"),  # in the domain
        ("straße@example.com", "STRASSE@example.com", "only after Unicode case folding"),
        ("\u00c9LODIE@example.com", "\u00e9lodie@example.com", "only after Unicode case folding"),
    ],
)
def test_lookalikes_are_named(candidate: str, existing: str, words: str) -> None:
    reason = lookalike_reason(parse_email(candidate), parse_email(existing))
    assert reason is not None and words in reason


@pytest.mark.parametrize(
    ("candidate", "existing"),
    [
        ("Kate@example.com", "kate@EXAMPLE.com"),  # a real match
        ("jrn@example.com", "jm@example.com"),  # ASCII addresses that differ are two people
        ("bill@example.com", "biII@example.com"),
        ("zoë@example.com", "joe@example.com"),
    ],
)
def test_not_lookalikes(candidate: str, existing: str) -> None:
    assert lookalike_reason(parse_email(candidate), parse_email(existing)) is None


ADDRESS_CHARS = st.sampled_from(list("aZ09.-_+!#'=@") + ["é", "\u0131", " ", '"', "("])


@settings(max_examples=examples(400), deadline=None, database=None)
@given(
    local=st.text(ADDRESS_CHARS, min_size=0, max_size=70)
    | st.sampled_from(["a" * 64, "a" * 65, "x" * 60 + ".y"]),
    domain=st.sampled_from(
        [
            "example.com",
            "EXAMPLE.com",
            "bücher.de",
            "a-b.io",
            "-bad.com",
            "x..com",
            "example.test",
            "a",
            "b." * 130,
        ]
    ),
)
def test_the_fast_path_agrees_with_email_validator(local: str, domain: str) -> None:
    address = f"{local}@{domain}"
    try:
        expected = email_validator.validate_email(address.strip(), check_deliverability=False)  # we trim
    except email_validator.EmailNotValidError:
        expected = None
    parse_email.cache_clear()
    try:
        got = parse_email(address)
    except InvalidEmailError:
        got = None
    if expected is None:
        assert got is None
    else:
        assert got is not None
        assert got.address == f"{expected.local_part}@{expected.domain.lower()}"
        assert got.domain == (expected.ascii_domain or expected.domain).lower()
