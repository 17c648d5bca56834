"""The small directory the conformance kit serves through an adapter author's fake IdP.

Statuses use Okta's words, the richest vocabulary; a harness renders them
in its IdP's terms (Graph ``accountEnabled``, SCIM ``active``).  ``active``
follows docs/contract.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field

ACTIVE_STATUSES = frozenset({"ACTIVE", "PASSWORD_EXPIRED", "LOCKED_OUT", "RECOVERY"})
STATUSES = (
    "ACTIVE",
    "PASSWORD_EXPIRED",
    "LOCKED_OUT",
    "RECOVERY",
    "STAGED",
    "PROVISIONED",
    "SUSPENDED",
    "DEPROVISIONED",
)


@dataclass(frozen=True)
class KitUser:
    id: str
    user_name: str
    email: str
    status: str
    given_name: str
    family_name: str
    guest: bool = False

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES


@dataclass(frozen=True)
class KitGroup:
    id: str
    name: str
    description: str | None = None
    user_ids: tuple[str, ...] = ()
    group_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class KitDirectory:
    users: tuple[KitUser, ...]
    groups: tuple[KitGroup, ...] = field(default=())

    def group(self, group_id: str) -> KitGroup:
        return next(g for g in self.groups if g.id == group_id)


def sample_directory(users: int = 23, groups: int = 4) -> KitDirectory:
    """``users`` users cycling through every status, ``groups`` groups of assorted sizes.

    Group 0 holds every user (several pages), group 1 a handful, group 2 none,
    and group 3 holds group 1 as a nested member.  Ids are stable strings.
    """
    kit_users = tuple(
        KitUser(
            id=f"u{i:04d}",
            user_name=f"user{i}@example.com",
            email=f"user{i}@example.com" if i % 5 else f"guest{i}@partner.example",
            status=STATUSES[i % len(STATUSES)],
            given_name=f"Given{i}",
            family_name=f"Family{i}",
            guest=i % 5 == 0,
        )
        for i in range(users)
    )
    ids = [u.id for u in kit_users]
    kit_groups = [
        KitGroup("g0000", "Everyone", "all users", tuple(ids)),
        KitGroup("g0001", "Engineering", None, tuple(ids[:3])),
        KitGroup("g0002", "Empty"),
        KitGroup("g0003", "Parents", "holds a nested group", tuple(ids[3:4]), ("g0001",)),
    ]
    return KitDirectory(kit_users, tuple(kit_groups[:groups]))
