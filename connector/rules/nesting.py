"""Flattening nested IdP groups, with cycles reported and never looped on.

docs/contract.md, "Group": a member of a child group is a member of every ancestor.
Groups that contain each other (a cycle, found as a strongly connected
component with Tarjan's algorithm, iteratively so that deep nesting cannot
overflow the stack) all end up with the union of their members, and the cycle
is reported.  Linear in groups plus memberships when nothing is nested.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass

from connector.model import DirectoryView
from connector.model import MemberKind


@dataclass(frozen=True)
class Flattened:
    """Members of every IdP group, nested ones included.

    ``users`` maps an IdP group id to the ids of the users in it directly or
    through nested groups (only users present in the view).  ``cycles`` lists
    each cycle's group ids, sorted.  ``unknown_groups`` are nested group ids
    that the view does not hold (ignored).
    """

    users: Mapping[str, frozenset[str]]
    cycles: tuple[tuple[str, ...], ...] = ()
    unknown_groups: frozenset[str] = frozenset()

    def groups_by_user(self) -> dict[str, list[str]]:
        """IdP user id -> ids of the groups it is in (nested included), sorted."""
        out: dict[str, list[str]] = {}
        for group_id in sorted(self.users):
            for user_id in self.users[group_id]:
                out.setdefault(user_id, []).append(group_id)
        return out


def flatten(view: DirectoryView) -> Flattened:
    """Flatten the direct member lists of ``view`` (see the module docstring)."""
    direct: dict[str, set[str]] = {}
    children: dict[str, list[str]] = {}
    unknown: set[str] = set()
    for group_id in view.groups:
        users: set[str] = set()
        kids: list[str] = []
        for member in view.members.get(group_id, ()):
            if member.kind == MemberKind.GROUP:
                if member.member_id in view.groups:
                    kids.append(member.member_id)
                else:
                    unknown.add(member.member_id)
            elif member.member_id in view.users:
                users.add(member.member_id)
        direct[group_id] = users
        if kids:
            children[group_id] = sorted(set(kids))
    if not children:
        return Flattened(
            users={g: frozenset(u) for g, u in direct.items()}, unknown_groups=frozenset(unknown)
        )
    components = _strongly_connected(sorted(view.groups), children)
    result: dict[str, frozenset[str]] = {}
    cycles: list[tuple[str, ...]] = []
    for component in components:  # children's components come first
        members: set[str] = set()
        for group_id in component:
            members |= direct[group_id]
            for kid in children.get(group_id, ()):
                if kid in result:  # a kid in this very component is not done yet
                    members |= result[kid]
        frozen = frozenset(members)
        for group_id in component:
            result[group_id] = frozen
        if len(component) > 1 or component[0] in children.get(component[0], ()):
            cycles.append(tuple(sorted(component)))
    return Flattened(users=result, cycles=tuple(sorted(cycles)), unknown_groups=frozenset(unknown))


def _strongly_connected(nodes: list[str], edges: Mapping[str, list[str]]) -> list[list[str]]:
    """Tarjan's SCCs, iteratively; each component after every component it reaches."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, child_pos = work.pop()
            if child_pos == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            kids = edges.get(node, ())
            recursed = False
            while child_pos < len(kids):
                kid = kids[child_pos]
                child_pos += 1
                if kid not in index:
                    work.append((node, child_pos))
                    work.append((kid, 0))
                    recursed = True
                    break
                if kid in on_stack:
                    low[node] = min(low[node], index[kid])
            if recursed:
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    component.append(top)
                    if top == node:
                        break
                components.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return components


def with_ancestors(view: DirectoryView, group_ids: Iterable[str]) -> set[str]:
    """``group_ids`` and every group that holds one of them, directly or through nesting."""
    parents: dict[str, set[str]] = {}
    for group_id, members in view.members.items():
        for member in members:
            if member.kind == MemberKind.GROUP:
                parents.setdefault(member.member_id, set()).add(group_id)
    found = set(group_ids)
    todo = list(found)
    while todo:
        for parent in parents.get(todo.pop(), ()):
            if parent not in found:
                found.add(parent)
                todo.append(parent)
    return found
