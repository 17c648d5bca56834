"""The provider interface: what every identity-provider adapter offers.

Narrow on purpose, like ConnId's SPI: test the connection, list users,
groups and a group's direct members, and (for IdPs that can say what
changed) read changes since a cursor.  Adapters translate the IdP's HTTP
into the records of :mod:`connector.model` and the errors of
:mod:`connector.errors`; nothing else leaves them.

An adapter is a class with a ``name`` and a ``from_settings`` constructor,
registered under the ``connector.providers`` entry-point group (see
``docs/adding-a-provider.md``).
"""

from __future__ import annotations

from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import ClassVar
from typing import Protocol
from typing import runtime_checkable

from connector.errors import ConnectorError
from connector.model import ChangeSet
from connector.model import IdpGroup
from connector.model import IdpMember
from connector.model import IdpUser
from connector.model import ReadProblem
from connector.net.settings import AuthSettings
from connector.net.settings import HttpSettings


@dataclass(frozen=True)
class ProviderSettings:
    """Everything an adapter needs to reach one directory.

    ``options`` carries adapter-specific keys (Entra ``tenant`` and
    ``authority``, for instance) that the registry does not interpret.
    """

    directory_id: str
    base_url: str
    auth: AuthSettings
    page_size: int | None = None
    http: HttpSettings = field(default_factory=HttpSettings)
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckResult:
    """What ``check()`` found: reachable, authenticated, with these scopes.

    ``error`` is the exception behind a failed check, when there is one: its
    ``exit_code`` becomes the command's (3 for refused credentials, 4 for an
    IdP that could not be reached or read; docs/cli.md).
    """

    ok: bool
    provider: str
    directory_id: str
    granted_scopes: tuple[str, ...] = ()
    missing_scopes: tuple[str, ...] = ()
    detail: str = ""
    error: ConnectorError | None = None


@runtime_checkable
class Provider(Protocol):
    """One connection to an identity provider.

    Iterators stream: they hold one page at a time, never the directory, and
    a page sequence that ends early raises
    :class:`connector.errors.IncompleteReadError` rather than ending quietly.
    """

    name: ClassVar[str]
    supports_changes: ClassVar[bool]
    directory_id: str
    """The directory this connection reads (its settings' ``directory_id``): every run, lock and
    record of the store is keyed by it."""
    problems: list[ReadProblem]
    """What the reads so far skipped or could not trust: malformed objects (left out of the
    iterators, never read as inactive or absent) and groups whose member list is not known to
    be complete.  The run checks them after the read (docs/contract.md, "2. Map")."""

    @classmethod
    def from_settings(cls, settings: ProviderSettings) -> Provider:
        """Build the adapter from its settings (no network traffic yet)."""
        ...

    def check(self) -> CheckResult:
        """Reach the IdP, get a token, confirm the scopes the reads need."""
        ...

    def iter_users(self) -> Iterator[IdpUser]:
        """Every user, of every status (inactive ones included)."""
        ...

    def iter_groups(self) -> Iterator[IdpGroup]:
        """Every group."""
        ...

    def iter_members(self, group_id: str) -> Iterator[IdpMember]:
        """The direct members of one group: users and nested groups."""
        ...

    def changes(self, cursor: str | None) -> ChangeSet:
        """What changed since ``cursor``.

        ``cursor=None`` returns an empty change set whose ``cursor`` marks
        *now*; call it before a full read so that the next incremental run
        misses nothing.  A cursor the IdP refuses raises
        :class:`connector.errors.CursorExpiredError`.  Only adapters with
        ``supports_changes = True`` implement it.
        """
        ...

    @property
    def request_count(self) -> int:
        """HTTP requests made so far (token calls included)."""
        ...

    def close(self) -> None:
        """Release the HTTP session."""
        ...
