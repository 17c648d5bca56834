"""A managed group absent from one full read keeps its memberships (docs/contract.md, "Absent groups
and incomplete member lists"): found by a hostile test, a small group missing from one Okta read
lost its 15 members at once.  The same missing rule as identities: two full reads in a row."""

from __future__ import annotations

import pytest
from fakes import FullReadOnlyProvider
from fakes import seeded

from connector.rules.settings import SyncSettings
from connector.run.sync import sync_directory
from connector.store import Store

SETTINGS = SyncSettings(verified_domains=("example.com",), product_grants={"jira-software": ("Group 0",)})


def _members_of(store: Store, name: str) -> set[str]:
    group_id = next(g.group_id for g in store.groups() if g.name == name)
    return {m.account_id for m in store.memberships() if m.group_id == group_id}


@pytest.mark.parametrize("mirror", [True, False], ids=["with-a-mirror", "full-reads-only"])
def test_a_group_missing_from_one_full_read_keeps_its_members(store: Store, mirror: bool) -> None:
    provider = seeded(users=30, groups=3)
    if not mirror:
        source, provider = provider, FullReadOnlyProvider()
        provider.users, provider.groups, provider.members = source.users, source.groups, source.members
    sync_directory(provider, store, SETTINGS)
    members = _members_of(store, "Group 2")
    assert len(members) == 10
    hidden = (provider.groups.pop("g2"), provider.members.pop("g2"))  # missing from the listing
    first = sync_directory(provider, store, SETTINGS, full=True)
    assert first.applied and first.counts["remove_membership"] == 0
    assert first.bookkeeping["mark_group_missing"] == 1 and _members_of(store, "Group 2") == members
    provider.groups["g2"], provider.members["g2"] = hidden  # back: the count starts again
    back = sync_directory(provider, store, SETTINGS, full=True)
    assert back.counts["remove_membership"] == 0 and back.bookkeeping["mark_group_missing"] == 1
    assert [g.missing_count for g in store.groups() if g.name == "Group 2"] == [0]
    provider.groups.pop("g2"), provider.members.pop("g2")
    sync_directory(provider, store, SETTINGS, full=True)
    second = sync_directory(provider, store, SETTINGS, full=True)  # two full reads in a row: gone
    assert second.counts["remove_membership"] == 10 and _members_of(store, "Group 2") == set()
    assert "g2" not in {g.idp_group_id for g in store.groups() if g.missing_count == 0}


def test_changes_read_between_two_full_reads_do_not_reset_the_count(store: Store) -> None:
    provider = seeded(users=30, groups=3)
    sync_directory(provider, store, SETTINGS)
    provider.groups.pop("g2"), provider.members.pop("g2")  # missing from listings, deletion unreported
    sync_directory(provider, store, SETTINGS, full=True)
    provider.update_user("u1", display_name="Someone")  # a run of changes since the cursor between
    between = sync_directory(provider, store, SETTINGS)
    assert between.counts["remove_membership"] == 0 and not between.bookkeeping["mark_group_missing"]
    second = sync_directory(provider, store, SETTINGS, full=True)
    assert second.counts["remove_membership"] == 10
