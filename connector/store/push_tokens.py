"""Bearer tokens of push directories: what an IdP sends with each SCIM request it pushes.

A token reads ``idpc_<token_id>_<secret>``: ``token_id`` (16 hex digits) names its row, so a check
is one look-up by primary key, and ``secret`` is ``secrets.token_urlsafe(32)``, 256 random bits.
The token is returned once, when it is issued; the store keeps only its hash.

**Why SHA-256 and not bcrypt or argon2.** A slow password hash makes guessing a *low-entropy*
secret (a password a person chose) expensive after a leak of the hashes.  A token of 256 random
bits cannot be guessed whatever the hash costs, so the slowness would buy nothing; and every
pushed request checks a token, where a deliberately slow hash would cost each request tens of
milliseconds of CPU and hand anyone who sends garbage a cheap way to load the server.  The hash
covers the organization and directory too, so a row copied to another directory checks nothing.

Checks take the same steps for any input: one indexed look-up (by a token id that cannot exist
when the input is malformed), one SHA-256 and one :func:`hmac.compare_digest`.  The token id is
not secret; only the secret part is, and it is compared in constant time.

**Rotation.** :meth:`PushTokens.issue_push_token` with ``rotate`` issues a new token and leaves the
previous ones working until ``now + grace`` (:data:`DEFAULT_GRACE`, 24 hours): a person updates the
IdP's provisioning settings with the new token, and the overlap must cover the time that takes.
Expired rows are deleted when a token is next issued.

A mixin of :class:`connector.store.Store`, which supplies ``transaction()``.  Nothing here logs
or shows a token.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from datetime import timezone

from sqlalchemy import Connection
from sqlalchemy import delete
from sqlalchemy import insert
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update

from connector.errors import ConfigError
from connector.store import tables as t
from connector.store.tenancy import in_directory
from connector.store.tenancy import org_of

PREFIX = "idpc_"
"""What every push token starts with: recognisable in a leak scanner or a config file."""
DEFAULT_GRACE = timedelta(hours=24)
"""How long the previous tokens keep working after a rotation: a person updates the IdP's
provisioning settings with the new token, maybe after a meeting or the next morning."""

_TOKEN = re.compile(r"idpc_([0-9a-f]{16})_([A-Za-z0-9_-]{43})", re.ASCII)
_NO_ROW = "-"  # a token id no row has (ids are hex): what a malformed token is looked up by
_PLACEHOLDER = f"{PREFIX}{'0' * 16}_{'A' * 43}"  # hashed for a malformed token, so every check hashes


@dataclass(frozen=True)
class PushTokenInfo:
    """One token of a push directory as it may be shown: its id and dates, never the token or hash.

    ``expires_at`` is None for a token that works until it is rotated or revoked.
    """

    token_id: str
    created_at: datetime
    expires_at: datetime | None

    def to_dict(self) -> dict[str, object]:
        return {"token_id": self.token_id, "created_at": self.created_at, "expires_at": self.expires_at}


def token_hash(org_id: str, directory_id: str, token: str) -> str:
    """The SHA-256 (hex) of ``token`` as a token of ``directory_id`` of ``org_id``."""
    material = "\0".join(("idp-connector push token", org_id, directory_id, token))
    return hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()


def parse_token(token: object) -> str | None:
    """The token id of a well-formed token; None for anything else (never raises)."""
    if not isinstance(token, str) or len(token) > 80:
        return None
    match = _TOKEN.fullmatch(token)
    return match.group(1) if match else None


class PushTokens:
    """Issuing, checking, listing and revoking the bearer tokens of push directories."""

    def transaction(self, *, write: bool = True) -> contextlib.AbstractContextManager[Connection]:
        raise NotImplementedError

    def issue_push_token(
        self,
        directory_id: str,
        *,
        rotate: bool = False,
        grace: timedelta = DEFAULT_GRACE,
        now: datetime | None = None,
    ) -> str:
        """A new token for push directory ``directory_id``; it is not kept, only its hash.

        Without ``rotate`` a directory that has a working token already is refused (issuing
        would otherwise leave two, or cut the IdP off).  With ``rotate`` the previous tokens work
        until ``now + grace`` (or until they expired, if sooner).  A pull directory, an unknown
        one and a negative ``grace`` are refused with a :class:`ConfigError`.
        """
        if grace < timedelta(0):
            raise ConfigError(f"the grace period of a rotation cannot be negative, got {grace}")
        moment = _utc(now)
        token_id = secrets.token_hex(8)
        token = f"{PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
        p = t.push_tokens.c
        with self.transaction() as conn:
            _require_push_directory(conn, directory_id)
            mine = in_directory(conn, t.push_tokens, directory_id)
            conn.execute(delete(t.push_tokens).where(mine, p.expires_at <= moment))
            working = list(conn.execute(select(p.token_id).where(mine).order_by(p.token_id)).scalars())
            if working and not rotate:
                raise ConfigError(
                    f"push directory {directory_id!r} has a token already ({', '.join(working)}): "
                    "rotate it (--rotate), which keeps the old one working for a grace period"
                )
            end = moment + grace
            conn.execute(
                update(t.push_tokens)
                .where(mine, or_(p.expires_at.is_(None), p.expires_at > end))
                .values(expires_at=end)
            )
            conn.execute(
                insert(t.push_tokens).values(
                    org_id=org_of(conn),
                    directory_id=directory_id,
                    token_id=token_id,
                    hash=token_hash(org_of(conn), directory_id, token),
                    created_at=moment,
                    expires_at=None,
                )
            )
        return token

    def check_push_token(self, directory_id: str, token: str, *, now: datetime | None = None) -> bool:
        """Whether ``token`` is a working token of push directory ``directory_id``.

        Never raises for any ``token``; false for a malformed, unknown, expired, revoked or other
        directory's or organization's token, and for a directory no longer in push mode.  The
        same steps run for every input (see the module's docstring).
        """
        moment = _utc(now)
        token_id = parse_token(token)
        candidate = token if token_id is not None and isinstance(token, str) else _PLACEHOLDER
        p, d = t.push_tokens.c, t.directories.c
        with self.transaction(write=False) as conn:
            org = org_of(conn)
            row = conn.execute(
                select(p.hash, p.expires_at)
                .join(t.directories, (d.org_id == p.org_id) & (d.directory_id == p.directory_id))
                .where(
                    in_directory(conn, t.push_tokens, directory_id),
                    p.token_id == (token_id or _NO_ROW),
                    d.mode == "push",
                )
            ).first()
        computed = token_hash(org, directory_id, candidate)
        stored = row.hash if row is not None else "0" * 64
        same = hmac.compare_digest(stored.encode("ascii"), computed.encode("ascii"))
        working = row is not None and (row.expires_at is None or _aware(row.expires_at) > moment)
        return same and working and token_id is not None

    def push_token_info(self, directory_id: str, *, now: datetime | None = None) -> list[PushTokenInfo]:
        """The directory's working tokens (ids and dates, never a token or a hash), oldest first."""
        moment = _utc(now)
        p = t.push_tokens.c
        with self.transaction(write=False) as conn:
            rows = conn.execute(
                select(p.token_id, p.created_at, p.expires_at)
                .where(in_directory(conn, t.push_tokens, directory_id))
                .order_by(p.created_at, p.token_id)
            ).all()
        infos = [
            PushTokenInfo(r.token_id, _aware(r.created_at), _aware(r.expires_at) if r.expires_at else None)
            for r in rows
        ]
        return [i for i in infos if i.expires_at is None or i.expires_at > moment]

    def revoke_push_tokens(self, directory_id: str) -> int:
        """Delete every token of the directory at once (no grace); how many there were."""
        with self.transaction() as conn:
            return int(
                conn.execute(
                    delete(t.push_tokens).where(in_directory(conn, t.push_tokens, directory_id))
                ).rowcount
            )


def _require_push_directory(conn: Connection, directory_id: str) -> None:
    mode = conn.execute(
        select(t.directories.c.mode).where(in_directory(conn, t.directories, directory_id))
    ).scalar()
    if mode is None:
        raise ConfigError(
            f"organization {org_of(conn)!r} has no directory {directory_id!r} in the store: add it "
            "(`idp-connector directories add ID --mode push ...`) or apply the file (`config apply`)"
        )
    if mode != "push":
        raise ConfigError(
            f"directory {directory_id!r} is a {mode} directory: only a push directory (mode push) "
            "takes bearer tokens from its IdP"
        )


def _utc(moment: datetime | None) -> datetime:
    return (moment or datetime.now(timezone.utc)).astimezone(timezone.utc)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
