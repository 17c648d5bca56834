"""What a push client remembers between runs: mock ids -> the ids the service assigned.

Both vendors keep such a record (Entra caches the ``id`` a POST answered for every later
call; Okta links its user to the app user it created or found).  It is JSON, so a second
``mock-idp push --state FILE`` is incremental::

    {"format": 1, "dialect": "okta", "target": URL, "tenant": GUID, "last_seq": N,
     "users": {MOCK_ID: {"id": SCIM_ID, "sent": {ATTRIBUTE: VALUE, ...}}},
     "groups": {MOCK_ID: {"id": SCIM_ID, "displayName": NAME, "members": {MOCK_USER_ID: SCIM_ID}}}}

``sent`` is the flat attribute map last pushed (:mod:`mock_idp.push.dialect`), so an update
sends only what differs, as Entra does.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

FORMAT = 1


class RecordError(Exception):
    """A state file that cannot be used for this push."""


@dataclass
class UserLink:
    """A pushed user: its SCIM id and the attributes last sent."""

    id: str
    sent: dict[str, Any]


@dataclass
class GroupLink:
    """A pushed group: its SCIM id, the name sent and its members (mock user id -> SCIM id)."""

    id: str
    display_name: str
    members: dict[str, str] = field(default_factory=dict)


@dataclass
class PushRecord:
    """The links of one target, for one dialect."""

    dialect: str
    target: str
    tenant: str | None = None
    last_seq: int = 0
    users: dict[str, UserLink] = field(default_factory=dict)
    groups: dict[str, GroupLink] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "dialect": self.dialect,
            "target": self.target,
            "tenant": self.tenant,
            "last_seq": self.last_seq,
            "users": {k: {"id": v.id, "sent": v.sent} for k, v in self.users.items()},
            "groups": {
                k: {"id": v.id, "displayName": v.display_name, "members": v.members}
                for k, v in self.groups.items()
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PushRecord:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise RecordError(f"not a push state file of format {FORMAT}")
        try:
            return cls(
                dialect=data["dialect"],
                target=data["target"],
                tenant=data.get("tenant"),
                last_seq=int(data.get("last_seq", 0)),
                users={k: UserLink(v["id"], dict(v["sent"])) for k, v in data["users"].items()},
                groups={
                    k: GroupLink(v["id"], v["displayName"], dict(v["members"]))
                    for k, v in data["groups"].items()
                },
            )
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise RecordError(f"malformed push state file: {exc!r}") from None


def load_record(path: Path, dialect: str, target: str) -> PushRecord:
    """The record in ``path``, or a fresh one if there is no file; refuses another dialect or target."""
    if not path.exists():
        return PushRecord(dialect, target)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise RecordError(f"cannot read {path}: {exc}") from None
    record = PushRecord.from_json(data)
    if record.dialect != dialect or record.target.rstrip("/") != target.rstrip("/"):
        raise RecordError(
            f"{path} records a push as {record.dialect} to {record.target}; use another --state file"
        )
    return record


def save_record(path: Path, record: PushRecord) -> None:
    """Write ``record`` atomically (a temporary file renamed over ``path``)."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(record.to_json(), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(temporary, path)
