"""Secrets encrypted at rest: the keys (:mod:`.keys`) and the vault that seals and opens (:mod:`.box`).

Keys come from ``CONNECTOR_SECRET_KEYS`` or a key file, never from the store;
docs/configuration.md ("Secrets at rest") says how to give and rotate them.
"""

from __future__ import annotations

from connector.vault.box import Vault
from connector.vault.box import sealed_with
from connector.vault.keys import KEYS_ENV
from connector.vault.keys import KEYS_FILE_ENV
from connector.vault.keys import SecretKey
from connector.vault.keys import generate_key
from connector.vault.keys import load_keys

__all__ = ["KEYS_ENV", "KEYS_FILE_ENV", "SecretKey", "Vault", "generate_key", "load_keys", "sealed_with"]
