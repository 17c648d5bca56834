"""An in-memory Provider for engine tests: a directory with a change log.

``FakeProvider`` implements :class:`connector.providers.base.Provider`
without HTTP.  Its cursor is the position in the change log; ``changes()``
reports the users and groups touched since then (whole objects), removals,
and membership changes either as diffs (``member_diffs=True``, Okta-style)
or as complete member lists (Graph/SCIM-style ``groups_with_full_members``).
``expire_cursors()`` makes every older cursor refused, as an IdP does.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from collections.abc import Sequence
from typing import Any
from typing import ClassVar

from builders import user
from sqlalchemy import insert

from connector.errors import CursorExpiredError
from connector.errors import IncompleteReadError
from connector.model import ChangeSet
from connector.model import DirectoryView
from connector.model import IdpGroup
from connector.model import IdpMember
from connector.model import IdpUser
from connector.model import MemberKind
from connector.model import ReadProblem
from connector.providers.base import CheckResult
from connector.providers.base import ProviderSettings
from connector.rules.plan import AddMembership
from connector.store import tables as t
from connector.store.handlers.registry import ApplyContext
from connector.store.handlers.registry import Result
from connector.store.handlers.registry import applied


class FakeProvider:
    name: ClassVar[str] = "fake"
    supports_changes: ClassVar[bool] = True

    def __init__(self, directory_id: str = "fake-dir", *, member_diffs: bool = True) -> None:
        self.directory_id = directory_id
        self.member_diffs = member_diffs
        self.problems: list[ReadProblem] = []
        self.malformed: set[str] = set()  # users the IdP answers malformed now (an undocumented status)
        self.users: dict[str, IdpUser] = {}
        self.groups: dict[str, IdpGroup] = {}
        self.members: dict[str, dict[tuple[str, MemberKind], None]] = {}
        self.log: list[tuple[str, ...]] = []
        self.expired_before = 0
        self.requests = 0
        self.fail_reads = False

    @classmethod
    def from_settings(cls, settings: ProviderSettings) -> FakeProvider:
        return cls(settings.directory_id)

    # ------------------------------------------------------------------ changing the directory

    def put_user(self, u: IdpUser) -> IdpUser:
        self.users[u.idp_user_id] = u
        self.log.append(("user", u.idp_user_id))
        return u

    def update_user(self, idp_user_id: str, **fields: Any) -> IdpUser:
        return self.put_user(dataclasses.replace(self.users[idp_user_id], **fields))

    def delete_user(self, idp_user_id: str) -> None:
        for group_id, members in self.members.items():
            if (idp_user_id, MemberKind.USER) in members:
                self.remove_member(group_id, idp_user_id)
        del self.users[idp_user_id]
        self.log.append(("user", idp_user_id))

    def put_group(self, group_id: str, name: str | None = None) -> IdpGroup:
        group = IdpGroup(group_id, name or group_id)
        self.groups[group_id] = group
        self.members.setdefault(group_id, {})
        self.log.append(("group", group_id))
        return group

    def delete_group(self, group_id: str) -> None:
        for parent in list(self.members):
            if (group_id, MemberKind.GROUP) in self.members[parent]:
                self.remove_member(parent, group_id, MemberKind.GROUP)
        del self.groups[group_id]
        del self.members[group_id]
        self.log.append(("group", group_id))

    def add_member(self, group_id: str, member_id: str, kind: MemberKind = MemberKind.USER) -> None:
        self.members[group_id][(member_id, kind)] = None
        self.log.append(("member", group_id, member_id, kind.value, "added"))

    def remove_member(self, group_id: str, member_id: str, kind: MemberKind = MemberKind.USER) -> None:
        self.members[group_id].pop((member_id, kind), None)
        self.log.append(("member", group_id, member_id, kind.value, "removed"))

    def expire_cursors(self) -> None:
        self.expired_before = len(self.log)

    # ------------------------------------------------------------------ the Provider protocol

    def check(self) -> CheckResult:
        return CheckResult(True, self.name, self.directory_id)

    def _read(self) -> None:
        self.requests += 1
        if self.fail_reads:
            raise IncompleteReadError("the page sequence ended early", directory_id=self.directory_id)

    def iter_users(self) -> Iterator[IdpUser]:
        self._read()
        for found in list(self.users.values()):
            if self._readable(found.idp_user_id):
                yield found

    def _readable(self, idp_user_id: str) -> bool:
        """False, and reported, for a user the IdP answers malformed."""
        if idp_user_id not in self.malformed:
            return True
        self.problems.append(ReadProblem("user", idp_user_id, f"user {idp_user_id}: status 'ACTIVE_V2'"))
        return False

    def iter_groups(self) -> Iterator[IdpGroup]:
        self._read()
        yield from list(self.groups.values())

    def iter_members(self, group_id: str) -> Iterator[IdpMember]:
        self._read()
        for member_id, kind in list(self.members.get(group_id, {})):
            yield IdpMember(group_id, member_id, kind)

    def changes(self, cursor: str | None) -> ChangeSet:
        self._read()
        if cursor is None:
            return ChangeSet(cursor=str(len(self.log)))
        since = int(cursor)
        if since < self.expired_before:
            raise CursorExpiredError("the cursor is too old", directory_id=self.directory_id)
        users: dict[str, None] = {}
        groups: dict[str, None] = {}
        net: dict[tuple[str, str, str], str] = {}
        for event in self.log[since:]:
            if event[0] == "user":
                users[event[1]] = None
            elif event[0] == "group":
                groups[event[1]] = None
            else:
                net[(event[1], event[2], event[3])] = event[4]
        added = tuple(IdpMember(g, m, MemberKind(k)) for (g, m, k), op in net.items() if op == "added")
        removed = tuple(IdpMember(g, m, MemberKind(k)) for (g, m, k), op in net.items() if op == "removed")
        whole: tuple[str, ...] = ()
        if not self.member_diffs:
            whole = tuple(dict.fromkeys(g for (g, _, _) in net if g in self.groups))
            added = tuple(m for g in whole for m in self.iter_members(g))
            removed = ()
        return ChangeSet(
            cursor=str(len(self.log)),
            users=tuple(self.users[u] for u in users if u in self.users and self._readable(u)),
            removed_user_ids=tuple(u for u in users if u not in self.users),
            groups=tuple(self.groups[g] for g in groups if g in self.groups),
            removed_group_ids=tuple(g for g in groups if g not in self.groups),
            members_added=added,
            members_removed=removed,
            groups_with_full_members=whole,
        )

    @property
    def request_count(self) -> int:
        return self.requests

    def close(self) -> None:
        pass


class FullReadOnlyProvider(FakeProvider):
    """The same directory through a provider that cannot say what changed."""

    supports_changes: ClassVar[bool] = False

    def changes(self, cursor: str | None) -> ChangeSet:
        raise NotImplementedError("this provider reads whole directories only")


def seeded(users: int = 6, groups: int = 2, **kwargs: Any) -> FakeProvider:
    """A small directory: ``users`` users, spread over ``groups`` groups, ``g0`` nesting ``g1``."""
    provider = FakeProvider(**kwargs)
    for n in range(users):
        provider.put_user(user(n))
    for g in range(groups):
        provider.put_group(f"g{g}", f"Group {g}")
    for n in range(users):
        provider.add_member(f"g{n % groups}", f"u{n}")
    if groups > 1:
        provider.add_member("g0", "g1", MemberKind.GROUP)
    return provider


def as_sets(view: DirectoryView) -> tuple[object, ...]:
    """A view with member order ignored and empty member lists dropped."""
    members = {g: frozenset(m) for g, m in view.members.items() if m}
    return (dict(view.users), dict(view.groups), members)


def blind_add_memberships(ctx: ApplyContext, changes: Sequence[AddMembership]) -> list[Result]:
    """An add-membership handler that checks nothing first, as if a concurrent writer got there in
    between: a membership already there makes the database refuse the batch."""
    rows = [
        {"group_id": c.group_id, "account_id": c.account_id, "source": c.source, "added_at": ctx.now}
        for c in changes
    ]
    ctx.conn.execute(insert(t.memberships), rows)
    return [applied() for _ in changes]
