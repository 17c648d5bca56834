"""Who may push into a directory: a bearer token issued for that directory, checked in constant time.

The check is a :data:`TokenCheck` given to :func:`connector.push.create_app`.  The default,
:func:`push_token_check`, asks the store's :meth:`~connector.store.Store.check_push_token`: the
tokens ``idp-connector directories token ID`` issues, kept only as a hash and compared with
:func:`hmac.compare_digest` (:mod:`connector.store.push_tokens`).  A token is never logged,
echoed or kept.
"""

from __future__ import annotations

from collections.abc import Callable

from connector.store import Store

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


def push_token_check(store: Store, directory_id: str, token: str) -> bool:
    """Whether ``token`` is a working issued token of ``directory_id`` in ``store``'s organization
    (hashed, constant time; false for another directory's or organization's token)."""
    return bool(store.check_push_token(directory_id, token))
