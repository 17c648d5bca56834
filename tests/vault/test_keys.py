"""The vault's keys: from the environment or a key file, malformed ones named by place, never shown."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from connector.errors import ConfigError
from connector.errors import SecretKeyError
from connector.vault import Vault
from connector.vault.keys import KEYS_ENV
from connector.vault.keys import KEYS_FILE_ENV
from connector.vault.keys import load_keys
from connector.vault.keys import read_key_file

KEY_A = Vault.generate_key()
KEY_B = Vault.generate_key()
BROKEN = KEY_A[:-6] + "!!!!!="  # the right length, with characters outside url-safe base64
SHORT = KEY_B[:20]


def _key_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "secret-keys"
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


def test_keys_from_the_environment_newest_first() -> None:
    keys = load_keys({KEYS_ENV: f" {KEY_B} , {KEY_A} "})

    assert tuple(key.fingerprint for key in keys) == Vault.from_keys(KEY_B, KEY_A).fingerprints
    assert [key.origin for key in keys] == [f"{KEYS_ENV}, key 1 of 2", f"{KEYS_ENV}, key 2 of 2"]


def test_no_variable_set_gives_no_keys() -> None:
    assert load_keys({}) == ()
    assert not Vault.from_environment({KEYS_ENV: "  "}).has_keys


@pytest.mark.parametrize("bad", [BROKEN, SHORT, f'"{KEY_B}"', ""])
def test_a_malformed_key_in_the_environment_is_named_by_position_not_shown(bad: str) -> None:
    with pytest.raises(SecretKeyError) as raised:
        load_keys({KEYS_ENV: f"{KEY_A},{bad}"})

    message = str(raised.value)
    assert message.startswith(f"{KEYS_ENV}, key 2 of 2: ")
    assert isinstance(raised.value, ConfigError) and raised.value.exit_code == 2
    assert KEY_A not in message
    if bad:
        assert bad.strip('"') not in message


def test_key_file_skips_comments_and_blank_lines(tmp_path: Path) -> None:
    path = _key_file(tmp_path, f"# added 2025-01\n{KEY_B}\n\n   # the old key, until rotated\n{KEY_A}\n")

    keys = read_key_file(path)

    assert tuple(key.fingerprint for key in keys) == Vault.from_keys(KEY_B, KEY_A).fingerprints
    assert [key.origin for key in keys] == [f"{path}, line 2", f"{path}, line 5"]
    assert (
        Vault.from_environment({KEYS_FILE_ENV: str(path)}).fingerprints
        == Vault.from_keys(KEY_B, KEY_A).fingerprints
    )


def test_a_malformed_key_in_a_file_is_named_by_line_not_shown(tmp_path: Path) -> None:
    path = _key_file(tmp_path, f"# keys\n{KEY_A}\n{BROKEN}\n")

    with pytest.raises(SecretKeyError) as raised:
        Vault.from_environment({KEYS_FILE_ENV: str(path)})

    message = str(raised.value)
    assert message.startswith(f"{path}, line 3: not a Fernet key")
    assert BROKEN not in message and KEY_A not in message and "!!!!" not in message


def test_an_empty_or_missing_key_file_is_an_error(tmp_path: Path) -> None:
    empty = _key_file(tmp_path, "# nothing yet\n\n")

    with pytest.raises(SecretKeyError, match="holds no key"):
        read_key_file(empty)
    with pytest.raises(SecretKeyError, match="cannot be read"):
        read_key_file(tmp_path / "absent")


def test_an_explicit_path_wins_over_the_environment(tmp_path: Path) -> None:
    path = _key_file(tmp_path, KEY_B + "\n")

    vault = Vault.from_environment({KEYS_ENV: KEY_A}, path=path)

    assert vault.fingerprints == Vault.from_keys(KEY_B).fingerprints


def test_both_variables_set_is_an_error_naming_both(tmp_path: Path) -> None:
    path = _key_file(tmp_path, KEY_B + "\n")

    with pytest.raises(SecretKeyError) as raised:
        load_keys({KEYS_ENV: KEY_A, KEYS_FILE_ENV: str(path)})

    assert KEYS_ENV in str(raised.value) and KEYS_FILE_ENV in str(raised.value)
    assert KEY_A not in str(raised.value) and KEY_B not in str(raised.value)


def test_the_same_key_twice_is_an_error_naming_both_places() -> None:
    with pytest.raises(SecretKeyError) as raised:
        load_keys({KEYS_ENV: f"{KEY_A},{KEY_B},{KEY_A}"})

    message = str(raised.value)
    assert "key 3 of 3" in message and "key 1 of 3" in message
    assert KEY_A not in message


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_a_key_file_others_may_read_is_warned_about(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = _key_file(tmp_path, KEY_A + "\n")
    with caplog.at_level(logging.WARNING, logger="connector.vault"):
        read_key_file(path)
    assert caplog.records == []

    path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="connector.vault"):
        keys = read_key_file(path)

    assert len(keys) == 1
    assert [record.levelno for record in caplog.records] == [logging.WARNING]
    assert "chmod 600" in caplog.text and "0o644" in caplog.text
    assert KEY_A not in caplog.text


def test_keys_never_show_in_repr_or_str() -> None:
    keys = load_keys({KEYS_ENV: f"{KEY_A},{KEY_B}"})
    vault = Vault(keys)

    shown = " ".join([repr(vault), str(vault), *map(repr, keys), *map(str, keys)])

    assert KEY_A not in shown and KEY_B not in shown
    for key in (KEY_A, KEY_B):
        assert key[:12] not in shown and key[-12:] not in shown
    assert keys[0].fingerprint in repr(vault)
