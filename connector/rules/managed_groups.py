"""Planning the groups a directory manages: create, rename, adopt.

docs/contract.md, "Group": an IdP group mirrors into a managed product group, linked
by the IdP group id (so a rename in the IdP renames the product group).  An IdP
group whose name equals a *local* group's adopts that group: the group becomes
managed, and its local members and product grants stay.  Groups of other
directories are never adopted, and a local group is adopted once.  Groups
are never deleted: a managed group whose IdP group is gone only loses the
memberships this directory gave (the planner's membership diff).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field

from connector.model import DirectoryView
from connector.model import Group
from connector.model import StoreSnapshot
from connector.rules.plan import AdoptGroup
from connector.rules.plan import Change
from connector.rules.plan import CreateGroup
from connector.rules.plan import MarkGroupMissing
from connector.rules.plan import UpdateGroup


@dataclass
class GroupPlan:
    """The group changes, and where each IdP group lands.

    ``group_ids`` maps every IdP group id in the read to its product group id;
    ``names`` maps product group ids to names (for reasons).
    """

    changes: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    group_ids: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)


def plan_groups(view: DirectoryView, snapshot: StoreSnapshot, new_id: Callable[[], str]) -> GroupPlan:
    """Plan the managed groups of ``view.directory_id`` (deterministic in IdP group id order)."""
    directory_id = view.directory_id
    out = GroupPlan()
    managed: dict[str, Group] = {}
    local_by_name: dict[str, Group] = {}
    for group in sorted(snapshot.groups.values(), key=lambda g: g.group_id):
        out.names[group.group_id] = group.name
        if group.idp_group_id is not None:
            if group.directory_id == directory_id:
                managed[group.idp_group_id] = group
        elif group.directory_id is None:
            local_by_name.setdefault(group.name, group)
    for idp_group_id in sorted(view.groups):
        idp_group = view.groups[idp_group_id]
        existing = managed.get(idp_group_id)
        if existing is None:
            local = local_by_name.pop(idp_group.name, None)
            if local is not None:
                out.changes.append(
                    AdoptGroup(
                        f"local group of the same name as IdP group {idp_group.name!r}: adopted;"
                        " its local members and product grants stay",
                        group_id=local.group_id,
                        directory_id=directory_id,
                        idp_group_id=idp_group_id,
                    )
                )
                out.notes.append(
                    f"local group {local.name!r} ({local.group_id}) is adopted by IdP group {idp_group_id}"
                )
                existing = local
        if existing is None:
            group_id = new_id()
            out.changes.append(
                CreateGroup(
                    f"new IdP group {idp_group.name!r}",
                    group_id=group_id,
                    name=idp_group.name,
                    directory_id=directory_id,
                    idp_group_id=idp_group_id,
                    description=idp_group.description,
                )
            )
        else:
            group_id = existing.group_id
            new_description = (
                idp_group.description if idp_group.description is not None else existing.description
            )
            if existing.name != idp_group.name or existing.description != new_description:
                what = "renamed" if existing.name != idp_group.name else "description changed"
                out.changes.append(
                    UpdateGroup(
                        f"{what} in the IdP",
                        group_id=group_id,
                        name=idp_group.name,
                        description=new_description,
                        old_name=existing.name,
                    )
                )
        out.group_ids[idp_group_id] = group_id
        out.names[group_id] = idp_group.name
    return out


@dataclass
class GroupAbsence:
    """The missing rule for managed groups (docs/contract.md, "Absent groups and incomplete member
    lists"): a managed group absent from a full read keeps its memberships until the next full
    read misses it too (``threshold`` in a row)."""

    changes: list[MarkGroupMissing] = field(default_factory=list)
    kept: set[str] = field(default_factory=set)  # product groups whose memberships stay this run
    kept_idp: set[str] = field(default_factory=set)  # their IdP group ids: the mirror keeps them


def group_absence(view: DirectoryView, snapshot: StoreSnapshot, threshold: int) -> GroupAbsence:
    """Count the absence of each managed group of ``view.directory_id`` from a full read."""
    out = GroupAbsence()
    directory_id = view.directory_id
    for group in sorted(snapshot.groups.values(), key=lambda g: g.group_id):
        if group.directory_id != directory_id or group.idp_group_id is None:
            continue
        if not view.full_read:
            # an incremental view says nothing of absence (the mirror still holds a group a full
            # read has missed): such a group stays kept until the next full read decides
            if 0 < group.missing_count < threshold:
                out.kept.add(group.group_id)
                out.kept_idp.add(group.idp_group_id)
            continue
        if group.idp_group_id in view.groups:
            if group.missing_count:
                out.changes.append(MarkGroupMissing("seen in this read", directory_id, group.group_id, 0))
            continue
        if group.idp_group_id in view.unsettled_group_ids:
            continue  # kept anyway: its member list is not known this run
        count = min(group.missing_count + 1, threshold)
        if count != group.missing_count:
            reason = f"IdP group absent from {count} full read(s) in a row"
            out.changes.append(MarkGroupMissing(reason, directory_id, group.group_id, count))
        if count < threshold:
            out.kept.add(group.group_id)  # one bad read never empties a group
            out.kept_idp.add(group.idp_group_id)
    return out
