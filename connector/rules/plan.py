"""A plan is data: frozen changes, each with its reason, in a fixed apply order.

The planner (:mod:`connector.rules.planner`) makes a :class:`Plan`; the applier
(:mod:`connector.apply.applier`) interprets it against the store and reads nothing
else.  A plan survives a JSON round trip unchanged, so ``plan --out`` and
``apply plan.json`` see the very same changes.

Apply order (``Action`` order below): groups before the accounts that join
them, accounts before memberships, additions before removals, deactivations
after everything that could still need the account, bookkeeping last.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import json
import operator
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import ClassVar


class Action(str, enum.Enum):
    """Every kind of change, in apply order."""

    CREATE_GROUP = "create_group"
    ADOPT_GROUP = "adopt_group"
    UPDATE_GROUP = "update_group"
    CREATE_ACCOUNT = "create_account"
    LINK = "link"
    UPDATE_ACCOUNT = "update_account"
    ACTIVATE = "activate"
    ADD_MEMBERSHIP = "add_membership"
    REMOVE_MEMBERSHIP = "remove_membership"
    DEACTIVATE = "deactivate"
    MARK_MISSING = "mark_missing"
    MARK_GROUP_MISSING = "mark_group_missing"
    MIRROR_USER = "mirror_user"
    MIRROR_GROUP = "mirror_group"
    MIRROR_MEMBERS = "mirror_members"
    MIRROR_MEMBER_ROWS = "mirror_member_rows"
    SET_CURSOR = "set_cursor"


APPLY_ORDER: tuple[Action, ...] = tuple(Action)

BOOKKEEPING: frozenset[Action] = frozenset(
    {
        Action.MARK_MISSING,
        Action.MARK_GROUP_MISSING,
        Action.MIRROR_USER,
        Action.MIRROR_GROUP,
        Action.MIRROR_MEMBERS,
        Action.MIRROR_MEMBER_ROWS,
        Action.SET_CURSOR,
    }
)
"""Actions that record what was read rather than change the product; a plan of only these is empty."""

_CHANGE_TYPES: dict[Action, type[Change]] = {}
_SCALARS = frozenset({str, int, float, bool, type(None)})


@functools.cache
def _fields_of(cls: type) -> tuple[tuple[str, ...], Callable[[Any], tuple[Any, ...]]]:
    """A change class's field names, and a getter of their values as one tuple."""
    names = tuple(f.name for f in dataclasses.fields(cls))
    get = operator.attrgetter(*names)
    return names, (get if len(names) > 1 else lambda change: (get(change),))


@dataclass(frozen=True, slots=True)
class Change:
    """Base of every change.  ``reason`` says why, in words a reviewer reads."""

    action: ClassVar[Action]
    reason: str

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # named, not bare super(): slots=True makes a new class, and a bare super() here would
        # still point at the one it replaced
        super(Change, cls).__init_subclass__(**kwargs)
        if "action" in cls.__dict__:
            _CHANGE_TYPES[cls.action] = cls

    def to_dict(self) -> dict[str, Any]:
        """The change as plain JSON data: tuples as lists, mappings as dicts.

        Made for every change of a plan (the audit log keeps one per change),
        so the field names and their getter are worked out once per class.
        """
        names, values = _fields_of(type(self))
        found = values(self)
        data: dict[str, Any] = {"action": self.action.value}
        if _SCALARS.issuperset(map(type, found)):
            data.update(zip(names, found, strict=True))
            return data
        for name, value in zip(names, found, strict=True):
            if isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, Mapping):
                value = dict(value)
            data[name] = value
        return data

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> Change:
        try:
            cls = _CHANGE_TYPES[Action(data["action"])]
        except (KeyError, ValueError) as exc:
            raise ValueError(f"unknown change action {data.get('action')!r}") from exc
        kwargs = {}
        for f in dataclasses.fields(cls):
            if f.name not in data:
                raise ValueError(f"change {cls.action.value!r} lacks field {f.name!r}")
            value = data[f.name]
            kwargs[f.name] = tuple(value) if isinstance(value, list) else value
        return cls(**kwargs)


@dataclass(frozen=True, slots=True)
class CreateGroup(Change):
    """Create a product group managed by ``directory_id`` mirroring an IdP group."""

    action = Action.CREATE_GROUP
    group_id: str = ""
    name: str = ""
    directory_id: str = ""
    idp_group_id: str = ""
    description: str | None = None


@dataclass(frozen=True, slots=True)
class AdoptGroup(Change):
    """A local group whose name equals an IdP group's becomes managed; members and grants stay."""

    action = Action.ADOPT_GROUP
    group_id: str = ""
    directory_id: str = ""
    idp_group_id: str = ""


@dataclass(frozen=True, slots=True)
class UpdateGroup(Change):
    """Rename a managed group (or change its description)."""

    action = Action.UPDATE_GROUP
    group_id: str = ""
    name: str = ""
    description: str | None = None
    old_name: str = ""


@dataclass(frozen=True, slots=True)
class CreateAccount(Change):
    """Create an account and link the identity to it, in one step."""

    action = Action.CREATE_ACCOUNT
    account_id: str = ""
    directory_id: str = ""
    idp_user_id: str = ""
    email: str = ""
    display_name: str | None = None
    given_name: str | None = None
    family_name: str | None = None


@dataclass(frozen=True, slots=True)
class LinkAccount(Change):
    """Link an identity to an account that already exists; the account is untouched."""

    action = Action.LINK
    directory_id: str = ""
    idp_user_id: str = ""
    account_id: str = ""


@dataclass(frozen=True, slots=True)
class UpdateAccount(Change):
    """Change an internal account's profile.  ``fields`` and ``old`` map name -> value."""

    action = Action.UPDATE_ACCOUNT
    account_id: str = ""
    fields: Mapping[str, Any] = field(default_factory=dict)
    old: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ActivateAccount(Change):
    """Reactivate an account whose identity is back or active again."""

    action = Action.ACTIVATE
    account_id: str = ""
    directory_id: str = ""
    idp_user_id: str = ""


@dataclass(frozen=True, slots=True)
class AddMembership(Change):
    action = Action.ADD_MEMBERSHIP
    group_id: str = ""
    account_id: str = ""
    source: str = ""


@dataclass(frozen=True, slots=True)
class RemoveMembership(Change):
    action = Action.REMOVE_MEMBERSHIP
    group_id: str = ""
    account_id: str = ""
    source: str = ""


@dataclass(frozen=True, slots=True)
class DeactivateAccount(Change):
    """Deactivate an account and drop the memberships ``directory_id`` gave it."""

    action = Action.DEACTIVATE
    account_id: str = ""
    directory_id: str = ""
    idp_user_id: str = ""


@dataclass(frozen=True, slots=True)
class MarkMissing(Change):
    """Record how many full reads in a row have missed an identity (0 = seen again)."""

    action = Action.MARK_MISSING
    directory_id: str = ""
    idp_user_id: str = ""
    missing_count: int = 0
    idp_active: bool = True


@dataclass(frozen=True, slots=True)
class MarkGroupMissing(Change):
    """Record how many full reads in a row have missed a managed group (0 = seen again)."""

    action = Action.MARK_GROUP_MISSING
    directory_id: str = ""
    group_id: str = ""
    missing_count: int = 0


@dataclass(frozen=True, slots=True)
class SetCursor(Change):
    """Store the directory's change cursor and read bookkeeping, with the changes it covers."""

    action = Action.SET_CURSOR
    directory_id: str = ""
    cursor: str | None = None
    full_read: bool = False
    user_count: int | None = None


_RANK: dict[Action, int] = {action: rank for rank, action in enumerate(APPLY_ORDER)}


def _order_key(change: Change) -> int:
    return _RANK[change.action]


@dataclass(frozen=True)
class Conflict:
    """An identity that could not be linked (``kind`` ``link``), or whose email update was
    refused because the address is taken (``email_update``), and why."""

    directory_id: str
    idp_user_id: str
    email: str | None
    reason: str
    account_ids: tuple[str, ...] = ()
    kind: str = "link"


@dataclass(frozen=True)
class Plan:
    """Changes for one directory, sorted in apply order, plus what was not done.

    ``base_fingerprint`` identifies the store state the plan was made against;
    ``apply`` refuses a plan whose fingerprint no longer matches.
    ``base_revision`` is the store revision (:mod:`connector.store.revision`)
    read with that state, None when unknown, and ``settings_digest`` a digest
    of the settings the plan was made with; apply records both on the
    directory when it leaves the store exactly as the plan meant.
    """

    directory_id: str
    changes: tuple[Change, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()  # (idp_user_id, reason)
    base_fingerprint: str = ""
    full_read: bool = True
    users_read: int = 0
    notes: tuple[str, ...] = ()  # what a reviewer should know: cycles, adoptions, held-back changes
    base_revision: int | None = None
    settings_digest: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "changes", tuple(sorted(self.changes, key=_order_key)))

    def __iter__(self) -> Iterator[Change]:
        return iter(self.changes)

    def __len__(self) -> int:
        return len(self.changes)

    def of(self, action: Action) -> list[Change]:
        """The changes of one action."""
        return [c for c in self.changes if c.action is action]

    def counts(self) -> dict[str, int]:
        """Changes per action, every action listed."""
        counts = {a.value: 0 for a in Action}
        for c in self.changes:
            counts[c.action.value] += 1
        return counts

    @property
    def is_empty(self) -> bool:
        """True when the plan changes nothing that matters (bookkeeping aside)."""
        return all(c.action in BOOKKEEPING for c in self.changes)

    def to_json(self) -> str:
        return json.dumps(
            {
                "version": 1,
                "directory_id": self.directory_id,
                "base_fingerprint": self.base_fingerprint,
                "base_revision": self.base_revision,
                "settings_digest": self.settings_digest,
                "full_read": self.full_read,
                "users_read": self.users_read,
                "changes": [c.to_dict() for c in self.changes],
                "conflicts": [dataclasses.asdict(c) for c in self.conflicts],
                "skipped": [list(s) for s in self.skipped],
                "notes": list(self.notes),
            },
            indent=2,
            sort_keys=True,
            default=str,
        )

    @classmethod
    def from_json(cls, text: str) -> Plan:
        data = json.loads(text)
        if data.get("version") != 1:
            raise ValueError(f"unsupported plan version {data.get('version')!r}")
        return cls(
            directory_id=data["directory_id"],
            base_fingerprint=data.get("base_fingerprint", ""),
            base_revision=data.get("base_revision"),
            settings_digest=data.get("settings_digest", ""),
            full_read=data.get("full_read", True),
            users_read=data.get("users_read", 0),
            changes=tuple(Change.from_dict(c) for c in data["changes"]),
            conflicts=tuple(
                Conflict(**{**c, "account_ids": tuple(c.get("account_ids", ()))})
                for c in data.get("conflicts", [])
            ),
            skipped=tuple(tuple(s) for s in data.get("skipped", [])),  # type: ignore[misc]
            notes=tuple(data.get("notes", [])),
        )


def change_types() -> Mapping[Action, type[Change]]:
    """The registry of change classes, by action."""
    return dict(_CHANGE_TYPES)


# the mirror's records register themselves for Change.from_dict on import; they need Change first
from connector.rules import mirror_records as _mirror_records  # noqa: E402, F401
