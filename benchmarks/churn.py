"""Change a share of the mock's directory through its admin plane, as a day at the IdP would.

Of the users picked, one in ten is deactivated and the rest get a new given
name; of the memberships, half are removed and as many added (a random user
to a random group it is not in), the built-in ``Everyone`` left alone (it holds
every user and refuses edits by hand).  The choice is seeded, so two runs change
the same objects.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from mockproc import MockProcess


@dataclass(frozen=True)
class Churn:
    users_renamed: int
    users_deactivated: int
    members_removed: int
    members_added: int

    @property
    def users_changed(self) -> int:
        return self.users_renamed + self.users_deactivated

    @property
    def memberships_changed(self) -> int:
        return self.members_removed + self.members_added


def apply_churn(mock: MockProcess, share: float, seed: int) -> Churn:
    """Change ``share`` of the users and ``share`` of the user memberships; admin calls only."""
    rng = random.Random(seed)
    user_ids = sorted(u["id"] for u in mock.admin("GET", "/users")["users"])
    listed = mock.admin("GET", "/groups")["groups"]
    groups = sorted((g for g in listed if not g.get("built_in")), key=lambda g: g["id"])
    picked = rng.sample(user_ids, min(len(user_ids), math.ceil(len(user_ids) * share)))
    renamed = deactivated = 0
    for n, user_id in enumerate(picked):
        if n % 10 == 0:
            mock.admin("POST", f"/users/{user_id}/deactivate", {})
            deactivated += 1
        else:
            mock.admin("PATCH", f"/users/{user_id}", {"given_name": f"Renamed{n}"})
            renamed += 1
    pairs = [(g["id"], m) for g in groups for m in g["members"]]
    moves = math.ceil(len(pairs) * share)
    removed = 0
    for group_id, user_id in rng.sample(pairs, min(len(pairs), moves // 2)):
        mock.admin("DELETE", f"/groups/{group_id}/members/{user_id}")
        removed += 1
    members = {g["id"]: set(g["members"]) for g in groups}
    added = 0
    while groups and user_ids and added < moves - moves // 2:
        group_id, user_id = rng.choice(groups)["id"], rng.choice(user_ids)
        if user_id in members[group_id]:
            continue
        members[group_id].add(user_id)
        mock.admin("POST", f"/groups/{group_id}/members/{user_id}")
        added += 1
    return Churn(renamed, deactivated, removed, added)
