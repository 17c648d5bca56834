"""API keys of the served events API (``GET /events``): one organization's each, kept as a hash.

A key reads ``idpe_<org>_<key_id>_<secret>``: the organization (a slug, so no ``_``) says whose
events it reads, ``key_id`` (16 hex digits) names its row, and ``secret`` is
``secrets.token_urlsafe(32)``, 256 random bits.  The key is shown once, when it is issued; the
store keeps its SHA-256 bound to the organization (a 256-bit random secret needs no slow hash:
:mod:`connector.store.push_tokens` says why).  A check is one look-up by primary key, one
SHA-256 and one :func:`hmac.compare_digest`, whatever the input.

A mixin of :class:`connector.store.Store`, which supplies ``transaction()``.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import re
import secrets
from datetime import datetime
from datetime import timezone

from sqlalchemy import Connection
from sqlalchemy import delete
from sqlalchemy import insert
from sqlalchemy import select

from connector.store import tables as t
from connector.store.tenancy import in_org
from connector.store.tenancy import org_of

PREFIX = "idpe_"
_KEY = re.compile(r"idpe_([a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?)_([0-9a-f]{16})_([A-Za-z0-9_-]{43})", re.ASCII)


def key_hash(org_id: str, key: str) -> str:
    """The SHA-256 (hex) of ``key`` as an events API key of ``org_id``."""
    material = "\0".join(("idp-connector events key", org_id, key))
    return hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()


def key_org(key: object) -> str | None:
    """The organization a well-formed key names; None for anything else (never raises)."""
    if not isinstance(key, str) or len(key) > 140:
        return None
    match = _KEY.fullmatch(key)
    return match.group(1) if match else None


class ApiKeys:
    """Issuing, checking and revoking the organization's events API keys."""

    def transaction(self, *, write: bool = True) -> contextlib.AbstractContextManager[Connection]:
        raise NotImplementedError

    def issue_api_key(self) -> str:
        """A new key of the organization; it is not kept, only its hash."""
        key_id = secrets.token_hex(8)
        with self.transaction() as conn:
            org = org_of(conn)
            key = f"{PREFIX}{org}_{key_id}_{secrets.token_urlsafe(32)}"
            conn.execute(
                insert(t.api_keys).values(
                    org_id=org, key_id=key_id, hash=key_hash(org, key), created_at=datetime.now(timezone.utc)
                )
            )
        return key

    def check_api_key(self, key: str) -> bool:
        """Whether ``key`` is a key of this organization (false for any other input)."""
        match = _KEY.fullmatch(key) if isinstance(key, str) and len(key) <= 140 else None
        a = t.api_keys.c
        with self.transaction(write=False) as conn:
            org = org_of(conn)
            row = conn.execute(
                select(a.hash).where(in_org(conn, t.api_keys), a.key_id == (match.group(2) if match else "-"))
            ).first()
        computed = key_hash(org, key if match else "-")
        stored = row.hash if row is not None else "0" * 64
        same = hmac.compare_digest(stored.encode("ascii"), computed.encode("ascii"))
        return same and match is not None and match.group(1) == org

    def api_key_ids(self) -> list[str]:
        """The ids of the organization's keys (never a key or a hash)."""
        a = t.api_keys.c
        with self.transaction(write=False) as conn:
            return list(
                conn.execute(
                    select(a.key_id).where(in_org(conn, t.api_keys)).order_by(a.created_at)
                ).scalars()
            )

    def revoke_api_key(self, key_id: str) -> bool:
        """Delete one key; whether it existed."""
        a = t.api_keys.c
        with self.transaction() as conn:
            gone = conn.execute(delete(t.api_keys).where(in_org(conn, t.api_keys), a.key_id == key_id))
            return bool(gone.rowcount)
