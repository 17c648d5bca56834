"""The events outbox: one event per applied change, in the change's transaction, read in id order
after a cursor; pruned events make their cursors expire rather than be skipped."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime
from datetime import timedelta
from datetime import timezone

import pytest
from builders import user
from fakes import seeded
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from connector.errors import ConfigError
from connector.errors import EventCursorExpiredError
from connector.rules import events as ev
from connector.rules.events import expected_counts
from connector.rules.settings import SyncSettings
from connector.run.sync import sync_directory
from connector.store import Store
from connector.store.event_ids import first_id_at
from connector.store.event_ids import id_time
from connector.store.event_ids import next_ids

SETTINGS = SyncSettings(verified_domains=("example.com",))


@pytest.fixture
def org(store: Store) -> Store:
    store.set_verified_domains(["example.com"])
    store.set_product_grants({"jira": ["Group 0"]})
    return store


def _all(store: Store) -> list:
    found, after = [], None
    while page := store.events(after, limit=1000):
        found += page
        after = page[-1].event_id
    return found


def _types(events: list) -> Counter[str]:
    return Counter(e.type for e in events)


@settings(max_examples=200, deadline=None)
@given(
    count=st.integers(1, 300),
    after_ms=st.integers(0, 2**40),
    clock_ms=st.integers(0, 2**40),
    after_random=st.integers(0, (1 << 74) - 1),
)
def test_new_ids_increase_and_follow_the_newest_whatever_the_clock(
    count: int, after_ms: int, clock_ms: int, after_random: int
) -> None:
    rand_a, rand_b = after_random >> 62, after_random & ((1 << 62) - 1)
    after = str(uuid.UUID(int=(after_ms << 80) | (7 << 76) | (rand_a << 64) | (2 << 62) | rand_b))
    ids = next_ids(count, after, now_ms=clock_ms)
    assert ids == sorted(ids) and len(set(ids)) == count
    assert ids[0] > after
    assert all(uuid.UUID(i).version == 7 for i in ids)
    assert id_time(ids[0]) >= datetime.fromtimestamp(min(after_ms, clock_ms) / 1000, tz=timezone.utc)


def test_an_id_of_another_shape_is_no_cursor(org: Store) -> None:
    for bad in ("nope", str(uuid.uuid4()), str(uuid.uuid4()).upper()):
        with pytest.raises(ConfigError, match="is not an event id"):
            org.events(bad)


def test_a_first_sync_writes_one_event_per_applied_change_then_sync_completed(org: Store) -> None:
    provider = seeded(users=8, groups=2)
    provider.put_user(user(20, domain="partner.io"))
    report = sync_directory(provider, org, SETTINGS)
    events = _all(org)
    changes = Counter({k: v for k, v in _types(events).items() if not k.startswith("access.")})
    assert changes == Counter({**expected_counts(report.counts), ev.SYNC_COMPLETED: 1})
    assert events[-1].type == ev.SYNC_COMPLETED and events[-1].data["run_id"] == report.run_id
    assert [e.event_id for e in events] == sorted(e.event_id for e in events)
    assert {e.run_id for e in events} == {report.run_id} and {e.org_id for e in events} == {org.org}
    created = {
        e.data["identity"]["idp_user_id"]: e.data["account"] for e in events if e.type == ev.ACCOUNT_CREATED
    }
    assert created["u1"]["email"] == "user1@example.com" and created["u1"]["external"] is False
    assert created["u20"]["external"] is True and created["u20"]["status"] == "active"
    added = [e.data for e in events if e.type == ev.MEMBERSHIP_ADDED]
    assert all(d["group"]["name"].startswith("Group ") and "@" in d["account"]["email"] for d in added)


def test_access_follows_the_granted_groups_memberships(org: Store) -> None:
    provider = seeded(users=6, groups=2)  # u0, u2, u4 in Group 0 (granted jira); g0 nests g1
    sync_directory(provider, org, SETTINGS)
    granted = {e.data["account"]["email"] for e in _all(org) if e.type == ev.ACCESS_GRANTED}
    members = {
        m.account_id
        for m in org.memberships()
        if m.group_id in {g.group_id for g in org.groups() if g.name == "Group 0"}
    }
    by_id = {a.account_id: a.email for a in org.accounts()}
    assert granted == {by_id[a] for a in members} and granted
    cursor = org.newest_event_id()
    provider.remove_member("g0", "u2")
    sync_directory(provider, org, SETTINGS)
    later = org.events(cursor)
    assert [(e.type, e.data["account"]["email"]) for e in later if e.type.startswith("access.")] == [
        (ev.ACCESS_REVOKED, "user2@example.com")
    ]
    assert _types(later)[ev.MEMBERSHIP_REMOVED] == 1


def test_a_second_run_with_nothing_to_do_writes_only_its_end(org: Store) -> None:
    provider = seeded()
    sync_directory(provider, org, SETTINGS)
    cursor = org.newest_event_id()
    sync_directory(provider, org, SETTINGS)
    assert [e.type for e in org.events(cursor)] == [ev.SYNC_COMPLETED]


def test_updates_carry_what_changed_and_deactivations_the_account_as_it_is(org: Store) -> None:
    provider = seeded()
    sync_directory(provider, org, SETTINGS)
    cursor = org.newest_event_id()
    provider.update_user("u1", display_name="Renamed")
    provider.update_user("u3", active=False, raw_status="SUSPENDED")
    sync_directory(provider, org, SETTINGS)
    later = {e.type: e for e in org.events(cursor)}
    assert later[ev.ACCOUNT_UPDATED].data["changes"]["display_name"] == {"old": "User 1", "new": "Renamed"}
    assert later[ev.ACCOUNT_UPDATED].data["account"]["display_name"] == "Renamed"
    assert later[ev.ACCOUNT_DEACTIVATED].data["account"]["status"] == "deactivated"
    assert later[ev.ACCOUNT_DEACTIVATED].data["identity"]["idp_user_id"] == "u3"


def test_conflicts_and_hand_links_write_their_events(org: Store) -> None:
    provider = seeded()
    d = provider.directory_id
    provider.put_user(user(10, email="shared@example.com"))
    provider.put_user(user(11, email="shared@example.com"))
    sync_directory(provider, org, SETTINGS)
    opened = [e for e in _all(org) if e.type == ev.CONFLICT_OPENED]
    assert sorted(e.data["conflict"]["idp_user_id"] for e in opened) == ["u10", "u11"]
    cursor = org.newest_event_id()
    chosen = org.add_account("shared@example.com")
    org.link_by_hand(d, "u10", chosen.account_id)
    linked, resolved = org.events(cursor)
    assert (linked.type, linked.run_id, linked.data["account"]["id"]) == (
        ev.ACCOUNT_LINKED,
        None,
        chosen.account_id,
    )
    assert (resolved.type, resolved.data["resolution"]) == (ev.CONFLICT_RESOLVED, "link_by_hand")


def test_a_tripped_guard_writes_guard_tripped_and_no_change(org: Store) -> None:
    provider = seeded(users=20)
    sync_directory(provider, org, SETTINGS)
    cursor = org.newest_event_id()
    for n in range(20):
        provider.delete_user(f"u{n}")
    report = sync_directory(provider, org, SETTINGS, full=True)
    assert report.outcome == "guard_tripped"
    [tripped] = org.events(cursor)
    assert tripped.type == ev.GUARD_TRIPPED and tripped.data["outcome"] == "guard_tripped"


def test_a_dry_run_writes_nothing(org: Store) -> None:
    sync_directory(seeded(), org, SETTINGS, dry_run=True)
    assert org.events() == []


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(limit=st.integers(1, 40), types=st.sets(st.sampled_from(ev.EVENT_TYPES)))
def test_reading_page_by_page_gives_every_event_once_in_order(
    org: Store, limit: int, types: set[str]
) -> None:
    if not org.newest_event_id():
        sync_directory(seeded(users=12, groups=3), org, SETTINGS)
    every = [e for e in _all(org) if not types or e.type in types]
    pages, after = [], None
    while page := org.events(after, limit=limit, types=types):
        assert len(page) <= limit
        pages += page
        after = page[-1].event_id
    assert [e.event_id for e in pages] == [e.event_id for e in every]


def test_events_are_the_organizations_own(org: Store) -> None:
    sync_directory(seeded(), org, SETTINGS)
    org.ensure_organization("other")
    other = org.for_org("other")
    assert other.events() == [] and other.newest_event_id() is None
    sync_directory(seeded(), other, SETTINGS)
    assert {e.org_id for e in other.events(limit=1000)} == {"other"}
    assert {e.org_id for e in _all(org)} == {org.org}


def test_pruned_events_expire_their_cursors_and_never_are_skipped(org: Store) -> None:
    sync_directory(seeded(), org, SETTINGS)
    old = _all(org)
    later = datetime.now(timezone.utc) + timedelta(days=31)
    assert org.prune_events(timedelta(days=30)) == 0  # nothing is that old yet
    assert org.prune_events(timedelta(days=30), now=later) == len(old)
    assert org.events() == []
    for cursor in (old[0].event_id, old[-2].event_id):
        with pytest.raises(EventCursorExpiredError, match="cursor expired, resync"):
            org.events(cursor)
    assert org.events(old[-1].event_id) == []  # it had seen every pruned event: nothing lost
    newest = org.newest_event_id()
    assert newest == old[-1].event_id  # a consumer that resyncs starts here
    provider = seeded()
    provider.put_user(user(40))
    sync_directory(provider, org, SETTINGS)
    assert org.events(newest) and all(e.event_id > newest for e in org.events(newest))


def test_the_cutoff_id_sorts_below_every_id_made_after_it() -> None:
    moment = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert first_id_at(moment) < next_ids(1, now_ms=int(moment.timestamp() * 1000))[0]


def test_access_is_granted_once_however_the_apply_is_cut_into_transactions(org: Store) -> None:
    org.set_product_grants({"jira": ["Group 0", "Group 1"]})
    provider = seeded(users=9, groups=3)
    for n in range(9):
        provider.add_member("g1", f"u{n}")  # every user in Group 1 too, some in Group 0 as well
    sync_directory(provider, org, SETTINGS, batch_size=2)
    granted = Counter(
        (e.data["account"]["id"], e.data["product"]) for e in _all(org) if e.type == ev.ACCESS_GRANTED
    )
    assert set(granted.values()) == {1} and len(granted) == 9


@given(st.integers(0, 2**128 - 1))
def test_ids_are_written_as_uuid_writes_them(value: int) -> None:
    from connector.store.event_ids import _text

    assert _text(value) == str(uuid.UUID(int=value))


def test_a_rename_to_or_from_a_granted_name_grants_or_revokes_its_members_access(org: Store) -> None:
    org.set_product_grants({"jira": ["Chosen"]})
    provider = seeded(users=6, groups=2)  # g1 holds u1, u3, u5 (and is nested in g0)
    sync_directory(provider, org, SETTINGS)
    assert [e for e in _all(org) if e.type.startswith("access.")] == []
    cursor = org.newest_event_id()
    provider.put_group("g1", "Chosen")
    sync_directory(provider, org, SETTINGS)
    granted = [e for e in org.events(cursor) if e.type == ev.ACCESS_GRANTED]
    members = {a.account_id for a in org.accounts() if a.email in {f"user{n}@example.com" for n in (1, 3, 5)}}
    assert {e.data["account"]["id"] for e in granted} == members and len(granted) == 3
    cursor = org.newest_event_id()
    provider.put_group("g1", "Group 1")
    sync_directory(provider, org, SETTINGS)
    revoked = [e for e in org.events(cursor) if e.type.startswith("access.")]
    assert {(e.type, e.data["account"]["id"]) for e in revoked} == {(ev.ACCESS_REVOKED, a) for a in members}
