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
