"""A push directory's mirror read a few rows at a time: what one SCIM request names.

A push directory's mirror is the directory (:mod:`connector.push`).  A request reads the users
and groups it names by id, by case-folded name (``name_key``) or by ``externalId``, each an
index look-up, and a page of a listing in id order, so the cost of a request does not grow
with the directory.  :class:`DirectoryLookup` is the one read API the push service uses; each
call is a read transaction of its own (a request's writes run under the directory's run lock,
so what it looked up is what it changes).
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Collection
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy import Table
from sqlalchemy import func
from sqlalchemy import select

from connector.model import IdpGroup
from connector.model import IdpMember
from connector.model import IdpUser
from connector.model import MemberKind
from connector.rules.mirror import KINDS
from connector.rules.mirror import name_key
from connector.rules.mirror import user_of_key
from connector.store import tables as t
from connector.store.bulk import rows_by_ids
from connector.store.mirror import group_of_key
from connector.store.mirror import mirror_group_rows
from connector.store.mirror import mirror_user_rows
from connector.store.scoped_reads import mirror_members_of_groups
from connector.store.tenancy import in_directory


@dataclass(frozen=True)
class Match:
    """A listing's condition: an attribute equal to a value (``name`` compares case-folded), or
    nothing (every resource)."""

    attribute: str | None = None  # "id" | "name" | "external_id"
    value: str = ""


EVERYTHING = Match()


def _condition(table: Table, id_column: str, match: Match) -> Any:
    """``match`` on a mirror table (``idp_users`` or ``idp_groups``); None for every row."""
    c = table.c
    if match.attribute == "id":
        return c[id_column] == match.value
    if match.attribute == "name":
        return c.name_key == name_key(match.value)
    if match.attribute == "external_id":
        return c.external_id == match.value
    return None


def _matching(conn: Connection, table: Table, directory_id: str, where: Any) -> tuple[Any, int]:
    """The directory's rows of ``table`` that ``where`` holds for, as a condition, and their count."""
    counted = in_directory(conn, table, directory_id)
    if where is not None:
        counted = counted & where
    return counted, int(conn.execute(select(func.count()).select_from(table).where(counted)).scalar_one())


def _present(
    conn: Connection, table: Table, id_column: str, directory_id: str, ids: Collection[str]
) -> set[str]:
    """Which of ``ids`` the directory has in ``table``."""
    column = table.c[id_column]
    mine = in_directory(conn, table, directory_id)
    return {r[0] for r in rows_by_ids(conn, column, ids, lambda cond: select(column).where(mine, cond))}


def _member_lists(
    conn: Connection, directory_id: str, group_ids: Collection[str]
) -> dict[str, tuple[IdpMember, ...]]:
    """Each group's direct members, nested groups first, then by id (as the whole mirror orders them)."""
    found: dict[str, list[tuple[str, str]]] = {gid: [] for gid in group_ids}
    for group_id, member_id, kind in mirror_members_of_groups(conn, directory_id, group_ids):
        found[group_id].append((member_id, kind))
    return {
        gid: tuple(
            IdpMember(gid, mid, KINDS[kind])
            for mid, kind in sorted(keys, key=lambda mk: (mk[1] != MemberKind.GROUP.value, mk[0]))
        )
        for gid, keys in found.items()
    }


class DirectoryLookup:
    """The reads one push request makes of its directory's mirror."""

    def __init__(
        self, transaction: Callable[[], AbstractContextManager[Connection]], directory_id: str
    ) -> None:
        self._transaction = transaction
        self.directory_id = directory_id

    # ------------------------------------------------------------------ users

    def users(self, match: Match) -> list[IdpUser]:
        """The users ``match`` holds for, by id (every user for :data:`EVERYTHING`)."""
        return self.users_page(match, 0, None)[1]

    def users_page(self, match: Match, offset: int, limit: int | None) -> tuple[int, list[IdpUser]]:
        """How many users ``match`` holds for, and those from ``offset`` (``limit`` of them) by id."""
        where = _condition(t.idp_users, "idp_user_id", match)
        with self._transaction() as conn:
            _, total = _matching(conn, t.idp_users, self.directory_id, where)
            if limit == 0 or total <= offset:
                return total, []
            page = (offset, limit if limit is not None else total)
            rows = mirror_user_rows(conn, self.directory_id, where=where, page=page)
            return total, [user_of_key(uid, key) for uid, key in rows]

    def user(self, user_id: str) -> IdpUser | None:
        found = self.users(Match("id", user_id))
        return found[0] if found else None

    def users_by_ids(self, ids: Collection[str]) -> list[IdpUser]:
        """The users of ``ids`` the directory has."""
        with self._transaction() as conn:
            return [user_of_key(uid, key) for uid, key in mirror_user_rows(conn, self.directory_id, ids)]

    def user_ids(self, ids: Collection[str]) -> set[str]:
        """Which of ``ids`` are users of the directory."""
        with self._transaction() as conn:
            return _present(conn, t.idp_users, "idp_user_id", self.directory_id, ids)

    # ------------------------------------------------------------------ groups

    def groups_page(self, match: Match, offset: int, limit: int | None) -> tuple[int, list[IdpGroup]]:
        """How many groups ``match`` holds for, and those from ``offset`` (``limit`` of them) by id."""
        g = t.idp_groups.c
        where = _condition(t.idp_groups, "idp_group_id", match)
        with self._transaction() as conn:
            counted, total = _matching(conn, t.idp_groups, self.directory_id, where)
            if limit == 0 or total <= offset:
                return total, []
            ids = select(g.idp_group_id).where(counted).order_by(g.idp_group_id).offset(offset)
            if limit is not None:
                ids = ids.limit(limit)
            rows = mirror_group_rows(conn, self.directory_id, g.idp_group_id.in_(ids.scalar_subquery()))
            return total, [group_of_key(gid, rows[gid]) for gid in sorted(rows)]

    def groups(self, match: Match) -> list[IdpGroup]:
        return self.groups_page(match, 0, None)[1]

    def group(self, group_id: str) -> IdpGroup | None:
        found = self.groups(Match("id", group_id))
        return found[0] if found else None

    def group_ids(self, ids: Collection[str]) -> set[str]:
        """Which of ``ids`` are groups of the directory."""
        with self._transaction() as conn:
            return _present(conn, t.idp_groups, "idp_group_id", self.directory_id, ids)

    def members(self, group_ids: Collection[str]) -> dict[str, tuple[IdpMember, ...]]:
        """The direct members of each of these groups (an empty tuple for a group with none)."""
        if not group_ids:
            return {}
        with self._transaction() as conn:
            return _member_lists(conn, self.directory_id, group_ids)
