"""A full read over a store its last run left as it was plans only what differs from the last read.

The property test in ``tests/store/test_scoped.py`` holds these plans equal to whole ones
on random directories; these are the cases a reader looks for by name.
"""

from __future__ import annotations

from collections.abc import Iterator

from builders import user
from fakes import FakeProvider
from fakes import FullReadOnlyProvider

from connector.model import AccountStatus
from connector.model import IdpUser
from connector.model import MemberKind
from connector.rules.settings import GuardSettings
from connector.rules.settings import SyncSettings
from connector.run import read_differences as read_differences_module
from connector.run.read_differences import MirrorDigests
from connector.run.read_differences import read_differences
from connector.run.report import SyncReport
from connector.run.store_inputs import StoreInputs
from connector.run.sync import sync_directory
from connector.store import Store
from connector.store.mirror import load_mirror
from connector.store.mirror import load_mirror_lists
from connector.store.mirror import load_user_digests

DOMAINS = ("example.com",)
SETTINGS = SyncSettings(
    verified_domains=DOMAINS, guard=GuardSettings(min_deactivations=100, max_shrink_ratio=0.5)
)
D = "fake-dir"


def _synced(users: int = 6) -> tuple[Store, FakeProvider]:
    provider = FakeProvider()
    for n in range(users):
        provider.put_user(user(n))
    provider.put_group("g0", "Group 0")
    for n in range(users):
        provider.add_member("g0", f"u{n}")
    store = Store.open("sqlite://")
    store.set_verified_domains(DOMAINS)
    report = sync_directory(provider, store, SETTINGS)
    assert report.failed == [] and report.full_read
    return store, provider


def _changed(report: SyncReport) -> dict[str, int]:
    """What the run changed in the product, and the links' absence counts it moved."""
    changed = {action: n for action, n in report.counts.items() if n}
    if report.bookkeeping.get("mark_missing"):
        changed["mark_missing"] = report.bookkeeping["mark_missing"]
    return changed


def test_a_full_read_with_nothing_changed_plans_and_writes_nothing() -> None:
    store, provider = _synced()
    with store:
        before = store.directory_state(D)
        assert before is not None
        report = sync_directory(provider, store, SETTINGS, full=True)
        assert report.full_read and report.users_read == 6
        assert report.read_reason == (
            "a full read was asked for; planned only the 0 identities that differ from the last read"
        )
        assert _changed(report) == {} and report.bookkeeping.get("mirror_user", 0) == 0
        after = store.directory_state(D)
        assert after is not None and after.last_full_read_at is not None
        assert before.last_full_read_at is not None and after.last_full_read_at > before.last_full_read_at
        assert after.last_good_user_count == 6


def test_a_full_read_plans_the_users_it_finds_changed() -> None:
    store, provider = _synced()
    with store:
        provider.users["u1"] = IdpUser(
            "u1", "u1", "user1@example.com", True, "ACTIVE", display_name="Renamed"
        )
        provider.members["g0"].pop(("u2", MemberKind.USER))
        report = sync_directory(provider, store, SETTINGS, full=True)
        assert "planned only the 2 identities that differ" in report.read_reason
        assert _changed(report) == {"update_account": 1, "remove_membership": 1}
        with store.transaction(write=False) as conn:
            mirror = load_mirror(conn, D)
        assert mirror.users["u1"].display_name == "Renamed"
        assert {m.member_id for m in mirror.members["g0"]} == {"u0", "u1", "u3", "u4", "u5"}


def test_absence_from_full_reads_is_counted_not_taken_as_deletion() -> None:
    store, provider = _synced()
    with store:
        del provider.users["u3"]  # no longer listed (and no delta says so)
        provider.members["g0"].pop(("u3", MemberKind.USER))
        first = sync_directory(provider, store, SETTINGS, full=True)
        assert "planned only" in first.read_reason
        assert _changed(first) == {"mark_missing": 1}  # one bad read never deprovisions anybody
        second = sync_directory(provider, store, SETTINGS, full=True)  # u3 is in neither read nor mirror
        assert "planned only the 1 identities" in second.read_reason
        assert _changed(second) == {"mark_missing": 1, "deactivate": 1, "remove_membership": 1}
        links = {link.idp_user_id: link for link in store.links(D)}
        assert links["u3"].missing_count == SETTINGS.missing_threshold
        third = sync_directory(provider, store, SETTINGS, full=True)  # done with: planned no more
        assert "planned only the 0 identities" in third.read_reason and _changed(third) == {}
        provider.put_user(user(3))  # back again
        back = sync_directory(provider, store, SETTINGS, full=True)
        assert _changed(back) == {"activate": 1, "mark_missing": 1}


def test_a_member_the_user_listing_lacks_stays_listed_as_read() -> None:
    store, provider = _synced()
    with store:
        del provider.users["u4"]  # still named by g0, as Okta lists a deprovisioned member
        sync_directory(provider, store, SETTINGS, full=True)
        with store.transaction(write=False) as conn:
            listed = {m.member_id for m in load_mirror(conn, D).members["g0"]}
        assert "u4" in listed
        again = sync_directory(provider, store, SETTINGS, full=True)
        assert _changed(again) == {"mark_missing": 1, "deactivate": 1, "remove_membership": 1}


def test_whole_plans_every_identity() -> None:
    store, provider = _synced()
    with store:
        report = sync_directory(provider, store, SETTINGS, full=True, whole=True)
        assert report.read_reason == "a full read was asked for; planned whole: a whole plan was asked for"
        assert _changed(report) == {}


class _WritesDuringTheRead(FakeProvider):
    """A provider whose user listing lets the product write to the store halfway through."""

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store
        self.write_once = False

    def iter_users(self) -> Iterator[IdpUser]:
        for n, found in enumerate(super().iter_users()):
            if n == 2 and self.write_once:
                self.write_once = False
                self.store.add_account("late@example.com")
            yield found


def test_a_store_written_during_the_read_is_read_again_and_planned_whole() -> None:
    with Store.open("sqlite://") as store:
        store.set_verified_domains(DOMAINS)
        provider = _WritesDuringTheRead(store)
        for n in range(5):
            provider.put_user(user(n))
        sync_directory(provider, store, SETTINGS)
        provider.update_user("u1", active=False, raw_status="SUSPENDED")
        provider.write_once = True
        report = sync_directory(provider, store, SETTINGS, full=True)
        assert report.read_reason.startswith("a full read was asked for; planned whole: something besides")
        assert _changed(report) == {"deactivate": 1, "mark_missing": 1}  # and its link notes it inactive
        accounts = {a.email: a for a in store.accounts()}
        assert accounts["user1@example.com"].status is AccountStatus.DEACTIVATED
        assert "late@example.com" in accounts
        after = sync_directory(provider, store, SETTINGS, full=True)
        assert "planned only the 0 identities" in after.read_reason


class _Late:
    """A future whose result is there when asked for, but which never says it is done."""

    def __init__(self, value: object) -> None:
        self.value = value
        self.asked = 0

    def done(self) -> bool:
        return False

    def result(self) -> object:
        self.asked += 1
        return self.value


def test_users_read_before_the_digests_wait_at_most_max_waiting(monkeypatch) -> None:
    store, provider = _synced(users=8)
    with store:
        with store.transaction(write=False) as conn:
            users, lists = load_user_digests(conn, D), load_mirror_lists(conn, D)
        monkeypatch.setattr(read_differences_module, "MAX_WAITING", 3)
        waited: list[int] = []
        real = read_differences_module._UserDiff.add

        def add(self, user):  # noqa: ANN001, ANN202
            real(self, user)
            waited.append(len(self.waiting))

        monkeypatch.setattr(read_differences_module._UserDiff, "add", add)
        provider.update_user("u5", display_name="Renamed")
        late_users, late_lists = _Late(users), _Late(lists)
        diff = read_differences(provider, MirrorDigests(late_users, late_lists), "c")  # type: ignore[arg-type]
        assert max(waited) == 3 and waited[-1] == 0  # the fourth user waited for the digests instead
        assert [u.idp_user_id for u in diff.changes.users] == ["u5"] and diff.users_read == 8


def test_a_user_listed_twice_is_read_once() -> None:
    store, provider = _synced(users=4)
    with store:

        class Twice(FakeProvider):
            def iter_users(self) -> Iterator[IdpUser]:
                yield from provider.iter_users()
                yield provider.users["u1"]

        twice = Twice()
        twice.groups, twice.members = provider.groups, provider.members
        digests = MirrorDigests.load(store, D)
        diff = read_differences(twice, digests, "c")
        assert diff.users_read == 4 and diff.changes.removed_user_ids == ()
        assert [u.idp_user_id for u in diff.changes.users] == ["u1"]  # planned, as listed last


def test_a_provider_that_cannot_say_what_changed_plans_every_full_read_whole(monkeypatch) -> None:
    provider = FullReadOnlyProvider()
    for n in range(4):
        provider.put_user(user(n))
    with Store.open("sqlite://") as store:
        store.set_verified_domains(DOMAINS)
        sync_directory(provider, store, SETTINGS)
        started: list[bool] = []
        real = StoreInputs.__init__

        def spy(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
            real(self, *args, **kwargs)
            started.append(self._snapshot is not None)  # loading alongside the read, not after it

        monkeypatch.setattr(StoreInputs, "__init__", spy)
        provider.update_user("u1", display_name="Renamed")
        report = sync_directory(provider, store, SETTINGS)
        assert report.read_reason == "the fake provider cannot say what changed"
        assert _changed(report) == {"update_account": 1} and started == [True]


def test_a_full_read_that_shrank_trips_the_guard_and_applies_nothing() -> None:
    store, provider = _synced(users=10)
    with store:
        for n in range(4):  # 40% of the directory missing from the read
            del provider.users[f"u{n}"]
        strict = SyncSettings(verified_domains=DOMAINS)  # max_shrink_ratio 10%
        report = sync_directory(provider, store, strict, full=True)
        assert "planned only the 4 identities" in report.read_reason
        assert report.outcome == "guard_tripped" and report.guard.rule == "read_shrank"
        assert report.guard.numbers["users_read"] == 6 and report.guard.numbers["last_good_user_count"] == 10
        assert all(link.missing_count == 0 for link in store.links(D))  # nothing applied
        with store.transaction(write=False) as conn:
            assert len(load_mirror(conn, D).users) == 10  # the mirror, and the cursor, as they were
