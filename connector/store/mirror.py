"""Loading the mirror (:mod:`connector.rules.mirror`): whole, as digests, or a few users by id."""

from __future__ import annotations

import itertools
import json
from collections.abc import Collection
from collections.abc import Iterable
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import Connection
from sqlalchemy import Row
from sqlalchemy import String
from sqlalchemy import select
from sqlalchemy import type_coerce

from connector.model import DirectoryView
from connector.model import IdpGroup
from connector.model import IdpMember
from connector.model import MemberKind
from connector.rules.mirror import KINDS
from connector.rules.mirror import USER_COLUMNS
from connector.rules.mirror import GroupKey
from connector.rules.mirror import MemberKey
from connector.rules.mirror import MirrorIndex
from connector.rules.mirror import UserKey
from connector.rules.mirror import digest
from connector.rules.mirror import members_digest
from connector.rules.mirror import user_of_key
from connector.rules.mirror import when
from connector.store import tables as t
from connector.store.bulk import rows_by_ids
from connector.store.snapshot import stream
from connector.store.tenancy import in_directory


def mirror_user_rows(
    conn: Connection,
    directory_id: str,
    ids: Collection[str] | None = None,
    *,
    where: Any = None,
    page: tuple[int, int] | None = None,
) -> Iterator[tuple[str, UserKey]]:
    """Each mirrored user's id and key: the directory's, or only those of ``ids``, or those
    ``where`` holds for; ``page`` (offset, limit) cuts them in id order."""
    u = t.idp_users.c
    # other_emails as its stored text: most users have none ("[]"), which then costs no JSON parse
    columns = [type_coerce(u[name], String) if name == "other_emails" else u[name] for name in USER_COLUMNS]
    mine = in_directory(conn, t.idp_users, directory_id)
    if where is not None:
        mine = mine & where
    if page is not None:
        query = select(u.idp_user_id, *columns).where(mine).order_by(u.idp_user_id)
        rows: Iterable[Row[Any]] = conn.execute(query.offset(page[0]).limit(page[1]))
    elif ids is None:
        rows = stream(conn, select(u.idp_user_id, *columns).where(mine))
    else:
        rows = rows_by_ids(
            conn, u.idp_user_id, ids, lambda cond: select(u.idp_user_id, *columns).where(mine, cond)
        )
    for r in rows:
        yield (
            r[0],
            (
                r[1],
                r[2],
                bool(r[3]),
                r[4],
                r[5],
                r[6],
                r[7],
                _addresses(r[8]),
                bool(r[9]),
                r[10],
                r[11],
                r[12],
            ),
        )


def _addresses(stored: Any) -> tuple[str, ...]:
    """A stored ``other_emails`` as a tuple: JSON text (SQLite), or a list a driver decoded."""
    if not stored or stored == "[]":
        return ()
    return tuple(json.loads(stored) if isinstance(stored, str) else stored)


def load_mirror_users(conn: Connection, directory_id: str, ids: Collection[str]) -> dict[str, UserKey]:
    """The mirror's keys of these users (those it holds)."""
    return dict(mirror_user_rows(conn, directory_id, ids))


def load_mirror_groups(conn: Connection, directory_id: str) -> dict[str, IdpGroup]:
    """Every mirrored group of the directory."""
    return {gid: group_of_key(gid, k) for gid, k in mirror_group_rows(conn, directory_id).items()}


def group_of_key(group_id: str, k: GroupKey) -> IdpGroup:
    """The group a mirror key describes."""
    return IdpGroup(group_id, k[0], k[1], when(k[2]), k[3])


GROUP_COLUMNS = ("name", "description", "updated_at", "external_id")


def mirror_group_rows(conn: Connection, directory_id: str, where: Any = None) -> dict[str, GroupKey]:
    g = t.idp_groups.c
    query = select(g.idp_group_id, *(g[c] for c in GROUP_COLUMNS)).where(
        in_directory(conn, t.idp_groups, directory_id)
    )
    if where is not None:
        query = query.where(where)
    return {r[0]: (r[1], r[2], r[3], r[4]) for r in conn.execute(query)}


def _member_rows(conn: Connection, directory_id: str) -> Iterator[tuple[str, list[MemberKey]]]:
    """Each group's stored members, a group at a time."""
    m = t.idp_members.c
    query = (
        select(m.group_id, m.member_id, m.kind)
        .where(in_directory(conn, t.idp_members, directory_id))
        .order_by(m.group_id)
    )
    for group_id, rows in itertools.groupby(stream(conn, query), key=lambda r: r[0]):
        yield group_id, [(r[1], r[2]) for r in rows]


def load_mirror_index(conn: Connection, directory_id: str) -> MirrorIndex:
    """The stored mirror's :class:`MirrorIndex`, streamed from the rows (empty when never mirrored)."""
    lists = load_mirror_lists(conn, directory_id)
    lists.users = load_user_digests(conn, directory_id)
    return lists


def load_user_digests(conn: Connection, directory_id: str) -> dict[str, int]:
    """The :class:`MirrorIndex` users part: each mirrored user's digest, by id."""
    return {uid: digest(key) for uid, key in mirror_user_rows(conn, directory_id)}


def load_mirror_lists(conn: Connection, directory_id: str) -> MirrorIndex:
    """The :class:`MirrorIndex` without its users: the groups and their member digests."""
    return MirrorIndex(
        directory_id,
        {},
        mirror_group_rows(conn, directory_id),
        {gid: members_digest(keys) for gid, keys in _member_rows(conn, directory_id)},
    )


def load_mirror(conn: Connection, directory_id: str) -> DirectoryView:
    """The directory as last read (an empty view when it was never mirrored)."""
    users = {uid: user_of_key(uid, k) for uid, k in mirror_user_rows(conn, directory_id)}
    groups = load_mirror_groups(conn, directory_id)
    members = {
        gid: tuple(
            IdpMember(gid, users[mid].idp_user_id if mid in users else mid, KINDS[kind])
            for mid, kind in sorted(keys, key=lambda mk: (mk[1] != MemberKind.GROUP.value, mk[0]))
        )
        for gid, keys in _member_rows(conn, directory_id)
    }
    return DirectoryView(directory_id, users, groups, members, full_read=True)


class MirrorReads:
    """The mirror's loaders, each in a read transaction of its own.

    A mixin of :class:`connector.store.Store`, which supplies ``transaction()``.
    """

    def transaction(self, *, write: bool = True) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def mirror(self, directory_id: str) -> DirectoryView:
        """The directory as last read (:func:`load_mirror`)."""
        with self.transaction(write=False) as conn:
            return load_mirror(conn, directory_id)

    def mirror_index(self, directory_id: str) -> MirrorIndex:
        """The mirror as digests (:func:`load_mirror_index`)."""
        with self.transaction(write=False) as conn:
            return load_mirror_index(conn, directory_id)

    def mirror_user_digests(self, directory_id: str) -> dict[str, int]:
        """Each mirrored user's digest (:func:`load_user_digests`)."""
        with self.transaction(write=False) as conn:
            return load_user_digests(conn, directory_id)

    def mirror_lists(self, directory_id: str) -> MirrorIndex:
        """The mirror's groups and member digests (:func:`load_mirror_lists`)."""
        with self.transaction(write=False) as conn:
            return load_mirror_lists(conn, directory_id)
