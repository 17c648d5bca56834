"""One request's changes go through the same run as a pulled directory's.

The push directory's mirror (``idp_users``, ``idp_groups``, ``idp_members``) is the directory.
A request is an *edit*: a function from a look-up of the mirror
(:class:`~connector.store.push_reads.DirectoryLookup`, which reads only the rows the request
names) to the :class:`~connector.model.ChangeSet` it makes.  :class:`PushedChanges` is a
:class:`~connector.providers.base.Provider` whose ``changes`` are that edit, computed under the
directory's run lock, so
:func:`connector.run.sync.sync_directory` links, plans (scoped to what the edit names),
guards and applies them exactly as for an incremental pull run, the mirror's rows with them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from collections.abc import Collection
from collections.abc import Iterator
from typing import ClassVar

from connector.model import ChangeSet
from connector.model import DirectoryView
from connector.model import IdpGroup
from connector.model import IdpMember
from connector.model import IdpUser
from connector.model import ReadProblem
from connector.providers.base import CheckResult
from connector.push.settings import push_settings
from connector.push.staging import ReceivingGuard
from connector.push.staging import plan_guard
from connector.rules.mirror import overlay
from connector.run.report import SyncReport
from connector.run.sync import sync_directory
from connector.store import Store
from connector.store.push_reads import DirectoryLookup
from connector.store.registry import DirectoryEntry

Edit = Callable[[DirectoryLookup], ChangeSet]
"""What a request does, given a look-up of the directory as the mirror holds it; raises ScimError
to refuse."""

CURSOR = "push"
LOCK_WAIT_SECONDS = 30.0
"""How long a request waits for its organization's other runs (another push request, a pull
sync of another directory) before it is answered 503 with Retry-After: its IdP waits on it."""
ONE_TRANSACTION = 50_000
"""Changes per apply transaction: a request's plan (far fewer) is applied in one.  Bounded so a
handler's IN list stays within PostgreSQL's 65,535 bound parameters."""


class PushedChanges:
    """A provider whose only changes are one request's edit, applied to the mirror under the lock."""

    supports_changes: ClassVar[bool] = True

    def __init__(self, store: Store, entry: DirectoryEntry, edit: Edit) -> None:
        self.name = entry.provider  # a directory keeps its provider
        self.directory_id = entry.directory_id
        self.problems: list[ReadProblem] = []
        self._store = store
        self._edit = edit
        self._changes: ChangeSet | None = None
        self._view: DirectoryView | None = None

    def check(self) -> CheckResult:
        return CheckResult(True, self.name, self.directory_id, detail="push directory")

    @property
    def request_count(self) -> int:
        return 0

    def close(self) -> None:
        """Nothing to close."""

    def request(self) -> ChangeSet:
        """The request's changes (its edit, run once)."""
        return self._request()

    def _request(self) -> ChangeSet:
        if self._changes is None:
            self._changes = self._edit(self._store.lookup(self.directory_id))
        return self._changes

    def changes(self, cursor: str | None) -> ChangeSet:
        """The request's changes; asked with no cursor (the mark a full read takes), none."""
        if cursor is None and self._view is None:
            return ChangeSet(cursor=CURSOR)
        return self._request()

    def _whole(self) -> DirectoryView:
        """The directory after the request (a first request is read whole)."""
        if self._view is None:
            self._view = overlay(self._store.mirror(self.directory_id), self._request())
        return self._view

    def iter_users(self) -> Iterator[IdpUser]:
        return iter(self._whole().users.values())

    def iter_groups(self) -> Iterator[IdpGroup]:
        return iter(self._whole().groups.values())

    def iter_members(self, group_id: str) -> Iterator[IdpMember]:
        return iter(self._whole().members.get(group_id, ()))


def run_request(
    store: Store, entry: DirectoryEntry, edit: Edit, *, released: Collection[str] = ()
) -> tuple[SyncReport, ReceivingGuard]:
    """Run one request's edit through the rules under the directory's run lock, waiting for it;
    its deactivations pass the receiving guard (``released``: identities an admin approved)."""
    provider = PushedChanges(store, entry, edit)
    settings = push_settings(store, entry)
    guard = ReceivingGuard(store, entry.directory_id, settings.guard, provider.request, released=released)
    report = sync_directory(
        provider,  # type: ignore[arg-type]
        store,
        dataclasses.replace(settings, guard=plan_guard(settings.guard)),
        wait=LOCK_WAIT_SECONDS,
        batch_size=ONE_TRANSACTION,
        hold=guard,
    )
    return report, guard
