"""The vault: secrets sealed with Fernet for one place, opened only there.

A sealed secret is a token ``v1:<fingerprint>:<Fernet token>``.  The fingerprint (8 hex
digits, :func:`~connector.vault.keys.fingerprint`) names the key that sealed it, so a store can
count what is still under an old key without opening anything.  Inside the Fernet token is a
JSON envelope ``{"v": 1, "c": context, "s": secret}``: Fernet has no associated data, so the
context travels encrypted and is checked on opening, and a token copied to another row does not
open there.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from collections.abc import Mapping

from cryptography.fernet import InvalidToken
from cryptography.fernet import MultiFernet

from connector.errors import SecretContextError
from connector.errors import SecretKeyError
from connector.errors import SecretUndecryptableError
from connector.vault.keys import KEYS_ENV
from connector.vault.keys import SecretKey
from connector.vault.keys import generate_key
from connector.vault.keys import load_keys
from connector.vault.keys import no_keys_message
from connector.vault.keys import parse_keys

FORMAT = "v1"
_TOKEN = re.compile(r"v1:(?P<fingerprint>[0-9a-f]{8}):(?P<fernet>[A-Za-z0-9_=-]+)")
_ENVELOPE_VERSION = 1


class Vault:
    """Seals and opens secrets with the configured keys: the first seals, every one opens."""

    __slots__ = ("_keys", "_by_fingerprint")

    def __init__(self, keys: Iterable[SecretKey]) -> None:
        self._keys = tuple(keys)
        self._by_fingerprint = {key.fingerprint: key for key in self._keys}
        if len(self._by_fingerprint) != len(self._keys):
            raise SecretKeyError("the same key is listed twice; list each key once")

    @classmethod
    def from_environment(
        cls, environ: Mapping[str, str] | None = None, *, path: str | os.PathLike[str] | None = None
    ) -> Vault:
        """The vault of the key file ``path``, else of ``CONNECTOR_SECRET_KEYS(_FILE)``."""
        return cls(load_keys(environ, path=path))

    @classmethod
    def from_keys(cls, *keys: str) -> Vault:
        """A vault of keys given as text, newest first."""
        return cls(parse_keys(keys, source="the key list"))

    @staticmethod
    def generate_key() -> str:
        """A new random key, as the text that goes into ``CONNECTOR_SECRET_KEYS``."""
        return generate_key()

    @property
    def fingerprints(self) -> tuple[str, ...]:
        """The keys' fingerprints, newest (the sealing key) first."""
        return tuple(key.fingerprint for key in self._keys)

    @property
    def has_keys(self) -> bool:
        """Whether any key is configured; without one, every seal and unseal fails saying how to add one."""
        return bool(self._keys)

    def __repr__(self) -> str:
        return f"Vault(fingerprints={list(self.fingerprints)!r})"

    __str__ = __repr__

    def seal(self, plaintext: str, *, context: str) -> str:
        """``plaintext`` encrypted with the newest key, bound to ``context`` (the secret's place)."""
        _check_context(context)
        key = self._newest()
        envelope = json.dumps({"v": _ENVELOPE_VERSION, "c": context, "s": plaintext}, separators=(",", ":"))
        return _token(key.fingerprint, key.fernet.encrypt(envelope.encode("ascii")))

    def unseal(self, token: str, *, context: str) -> str:
        """The secret in ``token``, which must have been sealed for ``context``."""
        _check_context(context)
        return self._open(token, context)[1]

    def rotate(self, token: str, *, context: str) -> str:
        """``token`` sealed again with the newest key (``MultiFernet.rotate``), after checking its place."""
        _check_context(context)
        body = self._open(token, context)[0]
        fernet = MultiFernet([key.fernet for key in self._keys])
        return _token(self._newest().fingerprint, fernet.rotate(body))

    def needs_rotation(self, token: str) -> bool:
        """Whether ``token`` was sealed with another key than the newest; reads only its prefix."""
        return _parse(token, None)[0] != self._newest().fingerprint

    def _newest(self) -> SecretKey:
        if not self._keys:
            raise SecretKeyError(no_keys_message())
        return self._keys[0]

    def _open(self, token: str, context: str) -> tuple[bytes, str]:
        """The Fernet token inside ``token`` and the secret, checked against ``context``."""
        self._newest()
        fingerprint, fernet_token = _parse(token, context)
        key = self._by_fingerprint.get(fingerprint)
        if key is None:
            raise SecretUndecryptableError(
                f"the secret for {context!r} was sealed with key {fingerprint}, which is not among the "
                f"configured keys ({', '.join(self.fingerprints)}): it may have been removed from "
                f"{KEYS_ENV} (or its file) before `idp-connector secrets rotate` sealed everything again "
                "with the newer key; put it back (last in the list) and rotate",
                context=context,
                fingerprint=fingerprint,
            )
        body = fernet_token.encode("ascii")
        try:
            payload = key.fernet.decrypt(body)
        except InvalidToken:
            raise SecretUndecryptableError(
                f"the secret for {context!r} does not open with key {fingerprint}, the key it names: "
                "the stored token is damaged or was altered; set the secret again",
                context=context,
                fingerprint=fingerprint,
            ) from None
        sealed_for, secret = _read_envelope(payload, context, fingerprint)
        if sealed_for != context:
            raise SecretContextError(
                f"the secret read for {context!r} was sealed for {sealed_for!r}: it was copied from "
                "another place; set the secret again for this one",
                context=context,
                fingerprint=fingerprint,
            )
        return body, secret


def sealed_with(token: str) -> str | None:
    """The fingerprint of the key that sealed ``token`` (read from its prefix, nothing opened);
    None when ``token`` is not a sealed secret."""
    match = _TOKEN.fullmatch(token) if isinstance(token, str) else None
    return match["fingerprint"] if match else None


def _check_context(context: str) -> None:
    if not isinstance(context, str) or not context:
        raise ValueError(
            "a secret's context names its place, e.g. 'org/acme/directory/okta-main/client_secret'"
        )


def _token(fingerprint: str, fernet_token: bytes) -> str:
    return f"{FORMAT}:{fingerprint}:{fernet_token.decode('ascii')}"


def _parse(token: str, context: str | None) -> tuple[str, str]:
    match = _TOKEN.fullmatch(token) if isinstance(token, str) else None
    if match is None:
        where = f" for {context!r}" if context is not None else ""
        raise SecretUndecryptableError(
            f"the stored secret{where} is not a sealed secret ('{FORMAT}:<key fingerprint>:<token>'); "
            "set the secret again",
            context=context,
        )
    return match["fingerprint"], match["fernet"]


def _read_envelope(payload: bytes, context: str, fingerprint: str) -> tuple[str, str]:
    try:
        envelope = json.loads(payload.decode("ascii"))
    except ValueError:
        envelope = None
    if (
        not isinstance(envelope, dict)
        or envelope.get("v") != _ENVELOPE_VERSION
        or not isinstance(envelope.get("c"), str)
        or not isinstance(envelope.get("s"), str)
    ):
        raise SecretUndecryptableError(
            f"the secret for {context!r} opens with key {fingerprint} but holds no sealed secret of a "
            "version this connector reads; set the secret again",
            context=context,
            fingerprint=fingerprint,
        )
    return envelope["c"], envelope["s"]
