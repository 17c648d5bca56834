"""The vault: round trips, a secret bound to its place, rotation, clear errors that never show a secret."""

from __future__ import annotations

import re

import pytest
from cryptography.fernet import Fernet
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis_profiles import examples

from connector.errors import SecretContextError
from connector.errors import SecretKeyError
from connector.errors import SecretUndecryptableError
from connector.errors import SecretUnsealError
from connector.errors import StoreError
from connector.vault import Vault

KEY_A = Vault.generate_key()
KEY_B = Vault.generate_key()
OKTA_SECRET = "org/acme/directory/okta-main/client_secret"
SCIM_TOKEN = "org/acme/directory/partner-scim/token"
PLAINTEXT = "s3cr3t-client-secret-Ω"

# Every token starts with the format, the key's fingerprint, and the 12 characters of Fernet's
# version byte and timestamp: 24 characters that carry nothing of the secret.
HEADER = re.compile(r"v1:[0-9a-f]{8}:gAAAAA[A-Za-z0-9_-]{6}")
HEADER_LENGTH = 24


def _shows_nothing(error: BaseException, *secrets: str) -> None:
    message = str(error)
    for secret in secrets:
        assert secret not in message


def test_round_trip() -> None:
    vault = Vault.from_keys(KEY_A)

    token = vault.seal(PLAINTEXT, context=OKTA_SECRET)

    assert vault.unseal(token, context=OKTA_SECRET) == PLAINTEXT
    assert HEADER.match(token)
    assert token.split(":")[1] == vault.fingerprints[0]
    assert token != vault.seal(PLAINTEXT, context=OKTA_SECRET)  # a fresh IV each time


def test_a_token_copied_to_another_place_is_refused() -> None:
    vault = Vault.from_keys(KEY_A)
    token = vault.seal(PLAINTEXT, context=OKTA_SECRET)

    with pytest.raises(SecretContextError) as raised:
        vault.unseal(token, context=SCIM_TOKEN)
    with pytest.raises(SecretContextError):
        vault.rotate(token, context=SCIM_TOKEN)

    assert raised.value.context == SCIM_TOKEN
    assert SCIM_TOKEN in str(raised.value) and OKTA_SECRET in str(raised.value)
    _shows_nothing(raised.value, PLAINTEXT, token)


def test_rotation_to_a_new_key() -> None:
    old = Vault.from_keys(KEY_A)
    token = old.seal(PLAINTEXT, context=OKTA_SECRET)
    both = Vault.from_keys(KEY_B, KEY_A)

    assert both.unseal(token, context=OKTA_SECRET) == PLAINTEXT
    assert both.needs_rotation(token)
    assert not old.needs_rotation(token)

    rotated = both.rotate(token, context=OKTA_SECRET)

    assert not both.needs_rotation(rotated)
    assert rotated.split(":")[1] == both.fingerprints[0] != token.split(":")[1]
    assert Vault.from_keys(KEY_B).unseal(rotated, context=OKTA_SECRET) == PLAINTEXT
    assert Fernet(KEY_B).decrypt(rotated.split(":")[2])  # a plain Fernet token under the new key
    with pytest.raises(SecretUndecryptableError):
        old.unseal(rotated, context=OKTA_SECRET)


def test_a_removed_key_gives_a_clear_error() -> None:
    token = Vault.from_keys(KEY_A).seal(PLAINTEXT, context=OKTA_SECRET)
    vault = Vault.from_keys(KEY_B)

    with pytest.raises(SecretUndecryptableError) as raised:
        vault.unseal(token, context=OKTA_SECRET)

    error = raised.value
    assert isinstance(error, SecretUnsealError) and isinstance(error, StoreError)
    assert error.context == OKTA_SECRET
    assert error.fingerprint == token.split(":")[1]
    message = str(error)
    assert OKTA_SECRET in message and token.split(":")[1] in message
    assert "removed" in message and "idp-connector secrets rotate" in message
    _shows_nothing(error, PLAINTEXT, token, token.split(":")[2], KEY_A, KEY_B)


def test_a_damaged_or_relabelled_token_gives_a_clear_error() -> None:
    vault = Vault.from_keys(KEY_B, KEY_A)
    token = vault.seal(PLAINTEXT, context=OKTA_SECRET)
    _, fingerprint, body = token.split(":")
    damaged = f"v1:{fingerprint}:{body[:-8]}AAAAAAAA"
    relabelled = f"v1:{vault.fingerprints[1]}:{body}"  # names the other configured key

    for bad in (damaged, relabelled):
        with pytest.raises(SecretUndecryptableError, match="damaged or was altered") as raised:
            vault.unseal(bad, context=OKTA_SECRET)
        _shows_nothing(raised.value, PLAINTEXT, bad, body)


@pytest.mark.parametrize("bad", ["", PLAINTEXT, "v2:0123abcd:gAAAA", "v1:XYZ:gAAAA"])
def test_a_value_that_is_no_token_is_refused_without_showing_it(bad: str) -> None:
    vault = Vault.from_keys(KEY_A)

    with pytest.raises(SecretUndecryptableError, match="is not a sealed secret") as raised:
        vault.unseal(bad, context=OKTA_SECRET)
    with pytest.raises(SecretUndecryptableError):
        vault.needs_rotation(bad)

    if bad:
        _shows_nothing(raised.value, bad)


def test_a_vault_without_keys_says_how_to_make_one() -> None:
    vault = Vault(())
    token = Vault.from_keys(KEY_A).seal(PLAINTEXT, context=OKTA_SECRET)

    for attempt in (
        lambda: vault.seal(PLAINTEXT, context=OKTA_SECRET),
        lambda: vault.unseal(token, context=OKTA_SECRET),
        lambda: vault.rotate(token, context=OKTA_SECRET),
        lambda: vault.needs_rotation(token),
    ):
        with pytest.raises(SecretKeyError) as raised:
            attempt()
        message = str(raised.value)
        assert "CONNECTOR_SECRET_KEYS" in message and "Fernet.generate_key()" in message
        _shows_nothing(raised.value, PLAINTEXT, token)


def test_a_context_is_required() -> None:
    with pytest.raises(ValueError, match="names its place"):
        Vault.from_keys(KEY_A).seal(PLAINTEXT, context="")


def test_generated_keys_are_fernet_keys_and_differ() -> None:
    first, second = Vault.generate_key(), Vault.generate_key()

    assert first != second
    Fernet(first)
    assert Vault.from_keys(first, second).fingerprints[0] != Vault.from_keys(second).fingerprints[0]


def test_the_vault_never_shows_its_keys() -> None:
    vault = Vault.from_keys(KEY_A, KEY_B)

    for shown in (repr(vault), str(vault), f"{vault}"):
        assert KEY_A not in shown and KEY_B not in shown
        assert KEY_A[:12] not in shown and KEY_B[:12] not in shown


VAULT = Vault.from_keys(KEY_A)


@settings(max_examples=examples(200), deadline=None)
@given(plaintext=st.text(), context=st.text(min_size=1))
def test_any_text_round_trips(plaintext: str, context: str) -> None:
    token = VAULT.seal(plaintext, context=context)

    assert VAULT.unseal(token, context=context) == plaintext
    assert VAULT.rotate(token, context=context) != token


@settings(max_examples=examples(200), deadline=None)
@given(plaintext=st.text(min_size=4), context=st.text(min_size=1))
def test_a_token_never_contains_its_plaintext(plaintext: str, context: str) -> None:
    tokens = [VAULT.seal(plaintext, context=context) for _ in range(2)]

    for token in tokens:
        assert HEADER.match(token)
        assert VAULT.unseal(token, context=context) == plaintext
    # The header is the fixed pattern above.  Past it a token is IV, ciphertext and MAC, random:
    # a plaintext found there in two fresh sealings is a leak, not chance.
    assert not all(plaintext in token[HEADER_LENGTH:] for token in tokens)


@settings(max_examples=examples(100), deadline=None)
@given(plaintext=st.text(), context=st.text(min_size=1), other=st.text(min_size=1))
def test_errors_never_depend_on_the_plaintext(plaintext: str, context: str, other: str) -> None:
    """The same failure with another secret gives the same message: no message carries the secret."""
    sealed = [VAULT.seal(text, context=context) for text in (plaintext, plaintext + "x")]
    failures = [lambda token: Vault.from_keys(KEY_B).unseal(token, context=context)]
    if other != context:
        failures.append(lambda token: VAULT.unseal(token, context=other))

    for fail in failures:
        messages = []
        for token in sealed:
            with pytest.raises(SecretUnsealError) as raised:
                fail(token)
            assert token.split(":")[2] not in str(raised.value)
            messages.append(str(raised.value))
        assert messages[0] == messages[1]
