"""The keys of the secrets at rest: read from the environment or a key file, never from the store.

``CONNECTOR_SECRET_KEYS`` holds Fernet keys separated by commas, newest first; the file that
``CONNECTOR_SECRET_KEYS_FILE`` names (or a path given explicitly) holds one key a line, with
``#`` comments and blank lines.  The first key seals, every key opens.  A malformed key is a
:class:`~connector.errors.SecretKeyError` that names its position or line, never its text.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import stat
from collections.abc import Mapping
from collections.abc import Sequence
from pathlib import Path

from cryptography.fernet import Fernet

from connector.errors import SecretKeyError

log = logging.getLogger(__name__)

KEYS_ENV = "CONNECTOR_SECRET_KEYS"
KEYS_FILE_ENV = "CONNECTOR_SECRET_KEYS_FILE"

NEW_KEY_COMMAND = 'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'

_KEY_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}=")
_FINGERPRINT_DOMAIN = b"idp-connector secret key fingerprint v1\x00"


class SecretKey:
    """One Fernet key, known by its fingerprint and where it was read; never shows the key."""

    __slots__ = ("fernet", "fingerprint", "origin")

    def __init__(self, fernet: Fernet, *, fingerprint: str, origin: str) -> None:
        self.fernet = fernet
        self.fingerprint = fingerprint
        self.origin = origin

    def __repr__(self) -> str:
        return f"SecretKey(fingerprint={self.fingerprint!r}, origin={self.origin!r})"

    __str__ = __repr__


def generate_key() -> str:
    """A new random Fernet key, as the text that goes into ``CONNECTOR_SECRET_KEYS``."""
    return Fernet.generate_key().decode("ascii")


def fingerprint(key: bytes) -> str:
    """8 hex digits naming a key: a truncated SHA-256 of the key's bytes, not the key."""
    return hashlib.sha256(_FINGERPRINT_DOMAIN + key).hexdigest()[:8]


def parse_key(text: str, *, origin: str) -> SecretKey:
    """One key from its text; ``origin`` says where it was read ("CONNECTOR_SECRET_KEYS, key 2")."""
    key = text.strip()
    if not key:
        raise SecretKeyError(f"{origin}: the key is empty; {_make_one()}")
    if key[0] in "\"'" or key[-1] in "\"'":
        raise SecretKeyError(f"{origin}: the key is in quotes; write it bare")
    if not _KEY_SHAPE.fullmatch(key):
        raise SecretKeyError(
            f"{origin}: not a Fernet key (it has {len(key)} characters; a key is 44 characters of url-safe "
            f"base64, letters, digits, '-' and '_', ending in '='); {_make_one()}"
        )
    try:
        fernet = Fernet(key)
    except ValueError:
        raise SecretKeyError(f"{origin}: not a Fernet key; {_make_one()}") from None
    return SecretKey(fernet, fingerprint=fingerprint(key.encode("ascii")), origin=origin)


def parse_keys(texts: Sequence[str], *, source: str) -> tuple[SecretKey, ...]:
    """Several keys, newest first, each named in errors by its position in ``source``."""
    return _distinct(
        [parse_key(text, origin=f"{source}, key {n} of {len(texts)}") for n, text in enumerate(texts, 1)]
    )


def keys_from_text(text: str, *, source: str = KEYS_ENV) -> tuple[SecretKey, ...]:
    """The keys of a comma-separated list (``CONNECTOR_SECRET_KEYS``), newest first."""
    if not text.strip():
        return ()
    return parse_keys(text.split(","), source=source)


def read_key_file(path: str | os.PathLike[str]) -> tuple[SecretKey, ...]:
    """The keys in a key file, one a line, newest first; ``#`` comments and blank lines are skipped.

    A file that group or others may read is logged as a warning (it still loads)."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8-sig") as file:
            _warn_if_shared(path, os.fstat(file.fileno()).st_mode)
            lines = file.read().splitlines()
    except UnicodeDecodeError:
        raise SecretKeyError(f"{path}: the key file is not UTF-8 text") from None
    except OSError as error:
        raise SecretKeyError(f"{path}: the key file cannot be read ({error.strerror or error})") from None
    keys = [
        parse_key(line, origin=f"{path}, line {n}")
        for n, line in enumerate(lines, 1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not keys:
        raise SecretKeyError(f"{path}: the key file holds no key; {_make_one()}")
    return _distinct(keys)


def load_keys(
    environ: Mapping[str, str] | None = None, *, path: str | os.PathLike[str] | None = None
) -> tuple[SecretKey, ...]:
    """The configured keys, newest first: from ``path`` if given, else from the environment.

    ``CONNECTOR_SECRET_KEYS`` and ``CONNECTOR_SECRET_KEYS_FILE`` both set is an error naming both;
    neither set gives no keys (sealing and opening then fail, saying how to make one)."""
    if path is not None:
        return read_key_file(path)
    env = os.environ if environ is None else environ
    listed = env.get(KEYS_ENV, "")
    file_name = env.get(KEYS_FILE_ENV, "")
    if listed.strip() and file_name.strip():
        raise SecretKeyError(
            f"both {KEYS_ENV} and {KEYS_FILE_ENV} are set; keep the keys in one place and unset the other"
        )
    if file_name.strip():
        return read_key_file(file_name.strip())
    return keys_from_text(listed)


def no_keys_message() -> str:
    """What to do when no key is configured."""
    return (
        f"no key for the secrets at rest: set {KEYS_ENV} to a Fernet key (several separated by commas, "
        f"newest first), or {KEYS_FILE_ENV} to a file with one key a line; {_make_one()}"
    )


def _make_one() -> str:
    return f"make a key with: idp-connector secrets new-key (or {NEW_KEY_COMMAND})"


def _distinct(keys: Sequence[SecretKey]) -> tuple[SecretKey, ...]:
    seen: dict[str, SecretKey] = {}
    for key in keys:
        earlier = seen.setdefault(key.fingerprint, key)
        if earlier is not key:
            raise SecretKeyError(
                f"{key.origin}: the same key as {earlier.origin} (fingerprint {key.fingerprint}); "
                "list each key once"
            )
    return tuple(keys)


def _warn_if_shared(path: Path, mode: int) -> None:
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning(
            "%s: the key file may be read or written by group or others (mode %s); chmod 600 it",
            path,
            oct(stat.S_IMODE(mode)),
        )
