"""Who may push into a directory: the bearer token of that directory, compared in constant time.

The check is a :data:`TokenCheck` given to :func:`connector.push.create_app`.  The default,
:func:`sealed_token_check`, compares with the directory's ``token`` secret that
``idp-connector directories add ID --mode push --auth-method bearer --secret-stdin`` stores
sealed; a store that offers ``check_push_token`` (hashed push tokens) is asked that instead.
A token is never logged, echoed or kept.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from connector.config.records import secret_context
from connector.errors import ConnectorError
from connector.store import Store
from connector.vault import Vault

TokenCheck = Callable[[Store, str, str], bool]
"""``check(store, directory_id, token)``: whether ``token`` opens that directory of the store's
organization."""


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization`` header: ``Bearer <token>``, or the bare token Okta's
    "Header" mode sends."""
    if not header:
        return None
    scheme, _, rest = header.strip().partition(" ")
    if rest and scheme.lower() == "bearer":
        return rest.strip() or None
    return None if rest else scheme


def default_token_check(vault: Vault | None = None) -> TokenCheck:
    """The store's own ``check_push_token`` (hashed push tokens) where the store has it, else
    :func:`sealed_token_check`."""
    sealed = sealed_token_check(vault)

    def check(store: Store, directory_id: str, token: str) -> bool:
        hashed = getattr(store, "check_push_token", None)
        if hashed is not None:
            return bool(hashed(directory_id, token))
        return sealed(store, directory_id, token)

    return check


def sealed_token_check(vault: Vault | None = None) -> TokenCheck:
    """The directory's sealed ``token`` secret opened with ``vault`` (default: the environment's
    keys), compared in constant time."""

    def check(store: Store, directory_id: str, token: str) -> bool:
        entry = store.directory_entry(store.org, directory_id)
        sealed = entry.secrets.get("token") if entry is not None else None
        if not sealed:
            return False
        try:
            opened = (vault or Vault.from_environment()).unseal(
                sealed, context=secret_context(store.org, directory_id, "token")
            )
        except (ConnectorError, ValueError):
            return False
        return hmac.compare_digest(opened.encode(), token.encode())

    return check
