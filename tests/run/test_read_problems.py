"""What a read cannot take as the IdP's word changes nobody (docs/contract.md, "2. Map", "Absent
groups and incomplete member lists"): a malformed object is skipped and reported, never read as
inactive or absent; over 1% malformed stops the run; a group whose member list is not known keeps
its memberships, and so do the groups above it.  Through the whole plan and the scoped one.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from builders import user
from fakes import FakeProvider
from fakes import seeded

from connector.errors import IncompleteReadError
from connector.model import AccountStatus
from connector.model import IdpMember
from connector.model import IdpUser
from connector.model import ReadProblem
from connector.rules.settings import SyncSettings
from connector.run.sync import sync_directory
from connector.store import Store

SETTINGS = SyncSettings(verified_domains=("example.com",), product_grants={"jira-software": ("Group 0",)})


class TroubledProvider(FakeProvider):
    """The fake directory, with users it answers malformed and groups whose members it cannot say."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.malformed: set[str] = set()
        self.idless = 0
        self.unsettled: set[str] = set()

    def iter_users(self) -> Iterator[IdpUser]:
        for found in super().iter_users():
            if found.idp_user_id in self.malformed:
                self.problems.append(ReadProblem("user", found.idp_user_id, f"user {found.idp_user_id}: bad"))
            else:
                yield found
        for _ in range(self.idless):
            self.problems.append(ReadProblem("user", None, "a user: its 'id' is an object"))

    def iter_members(self, group_id: str) -> Iterator[IdpMember]:
        if group_id in self.unsettled:
            self.problems.append(ReadProblem("members", group_id, f"group {group_id}: no members"))
            return
        yield from super().iter_members(group_id)


def _state(store: Store) -> tuple[dict[str, str], set[tuple[str, str]]]:
    accounts = {a.account_id: a for a in store.accounts()}
    statuses = {link.idp_user_id: accounts[link.account_id].status.value for link in store.links()}
    by_account = {link.account_id: link.idp_user_id for link in store.links()}
    groups = {g.group_id: g.name for g in store.groups()}
    members = {(groups[m.group_id], by_account.get(m.account_id, "?")) for m in store.memberships()}
    return statuses, members


@pytest.fixture
def org(store: Store) -> Store:
    store.set_verified_domains(SETTINGS.verified_domains)
    store.set_product_grants(SETTINGS.product_grants)
    return store


def _synced(org: Store, users: int = 6) -> TroubledProvider:
    provider = TroubledProvider()
    source = seeded(users=users)
    provider.users, provider.groups, provider.members = source.users, source.groups, source.members
    first = sync_directory(provider, org, SETTINGS)
    assert first.outcome == "applied" and first.read_problems == ()
    return provider


@pytest.mark.parametrize("whole", [False, True], ids=["scoped", "whole"])
def test_a_malformed_linked_identity_is_neither_inactive_nor_absent(org: Store, whole: bool) -> None:
    provider = _synced(org, users=200)  # one malformed of 202 objects: under 1%, the run goes on
    before = _state(org)
    provider.malformed.add("u1")
    provider.update_user("u1", active=False, raw_status="SUSPENDED")  # whatever it says, it is unread
    for _ in range(3):  # past the missing threshold (2)
        report = sync_directory(provider, org, SETTINGS, full=True, whole=whole)
        assert [(p.kind, p.object_id) for p in report.read_problems] == [("user", "u1")]
        assert report.outcome == "applied"
        assert not report.counts["deactivate"] and not report.counts["remove_membership"]
        provider.problems.clear()
    assert _state(org) == before


@pytest.mark.parametrize("whole", [False, True], ids=["scoped", "whole"])
def test_a_malformed_user_without_an_id_makes_every_absence_uncertain(org: Store, whole: bool) -> None:
    provider = _synced(org, users=200)
    before = _state(org)
    provider.delete_user("u2")  # absent from the read; but an unreadable user could be u2
    provider.idless = 1
    for _ in range(3):
        report = sync_directory(provider, org, SETTINGS, full=True, whole=whole)
        assert not report.counts["deactivate"]
        provider.problems.clear()
    assert _state(org)[0] == before[0]
    provider.idless = 0
    for _ in range(2):  # a clean read counts absence again: two misses deactivate
        report = sync_directory(provider, org, SETTINGS, full=True, whole=whole)
    assert report.counts["deactivate"] == 1


def test_one_malformed_object_of_a_small_read_is_over_one_percent(org: Store) -> None:
    provider = _synced(org)
    provider.malformed.add("u1")
    with pytest.raises(IncompleteReadError, match="1 of the 8 objects read are malformed"):
        sync_directory(provider, org, SETTINGS, full=True)


def test_over_one_percent_malformed_stops_the_read_before_planning(org: Store) -> None:
    provider = _synced(org, users=300)
    before = _state(org)
    provider.malformed |= {f"u{n}" for n in range(20)}  # 6.7%, under the guard's 10%: it was missed
    with pytest.raises(IncompleteReadError, match="20 of the 302 objects read are malformed, over 1%"):
        sync_directory(provider, org, SETTINGS, full=True)
    assert _state(org) == before
    provider.problems.clear()
    provider.malformed = {"u1", "u2"}  # 2 of 302: skipped, reported, the run goes on
    report = sync_directory(provider, org, SETTINGS, full=True)
    assert report.outcome == "applied" and len(report.read_problems) == 2
    assert _state(org) == before


@pytest.mark.parametrize("whole", [False, True], ids=["scoped", "whole"])
def test_a_group_whose_members_are_not_known_keeps_them_and_so_do_the_groups_above(
    org: Store, whole: bool
) -> None:
    provider = _synced(org)
    before = _state(org)
    assert ("Group 1", "u1") in before[1] and ("Group 0", "u1") in before[1]  # g0 holds g1
    provider.unsettled.add("g1")
    report = sync_directory(provider, org, SETTINGS, full=True, whole=whole)
    assert [(p.kind, p.object_id) for p in report.read_problems] == [("members", "g1")]
    assert not report.counts["remove_membership"] and not report.counts["add_membership"]
    assert _state(org) == before
    provider.problems.clear()
    provider.unsettled.clear()
    provider.put_user(user(6))
    provider.add_member("g1", "u6")  # known again: the list is planned as read
    report = sync_directory(provider, org, SETTINGS, full=True, whole=whole)
    assert ("Group 1", "u6") in _state(org)[1] and ("Group 0", "u6") in _state(org)[1]
    assert AccountStatus.ACTIVE.value == _state(org)[0]["u6"]
