"""The sync facade against the in-memory provider, on SQLite and PostgreSQL."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from datetime import datetime
from datetime import timedelta
from datetime import timezone

import pytest
from builders import user
from fakes import FakeProvider
from fakes import FullReadOnlyProvider
from fakes import seeded
from sqlalchemy import update

from connector.errors import IncompleteReadError
from connector.errors import RunInProgressError
from connector.errors import StalePlanError
from connector.model import AccountStatus
from connector.model import IdpUser
from connector.model import MemberKind
from connector.rules.plan import Action
from connector.rules.settings import GuardSettings
from connector.rules.settings import SyncSettings
from connector.run.sync import apply_saved_plan
from connector.run.sync import plan_directory
from connector.run.sync import read_directory
from connector.run.sync import sync_directory
from connector.store import Store
from connector.store import tables as t
from connector.store.handlers import handlers
from connector.store.handlers import registry
from connector.store.mirror import load_mirror

SETTINGS = SyncSettings(verified_domains=("example.com",), product_grants={"jira-software": ("Group 0",)})


@pytest.fixture
def org(store: Store) -> Store:
    store.set_verified_domains(SETTINGS.verified_domains)
    store.set_product_grants(SETTINGS.product_grants)
    return store


@pytest.fixture(params=[True, False], ids=["member-diffs", "whole-member-lists"])
def idp(request: pytest.FixtureRequest) -> FakeProvider:
    return seeded(member_diffs=request.param)


def changed(report) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {k: v for k, v in report.counts.items() if v}


def by_identity(store: Store, directory_id: str) -> dict[str, tuple[str, str]]:
    """idp_user_id -> (email, status), the store as a directory sees it."""
    accounts = {a.account_id: a for a in store.accounts()}
    return {
        k.idp_user_id: (accounts[k.account_id].email, accounts[k.account_id].status.value)
        for k in store.links(directory_id)
    }


def test_first_sync_creates_everything_and_a_second_plans_nothing(org: Store, idp: FakeProvider) -> None:
    first = sync_directory(idp, org, SETTINGS)
    assert first.applied and first.outcome == "applied" and first.full_read
    assert first.read_reason == "first sync of this directory"
    assert changed(first) == {"create_group": 2, "create_account": 6, "add_membership": 9}
    assert first.billing_before is not None and first.billing_before.billable == 0
    assert first.billing_after is not None and first.billing_after.billable == 6  # g1 nests in g0
    assert first.requests == 1 + 1 + 1 + 2  # cursor, users, groups, two member lists
    assert len(org.accounts()) == 6 and len(org.links(idp.directory_id)) == 6
    second = sync_directory(idp, org, SETTINGS)
    assert not second.full_read and second.requests == 1
    assert changed(second) == {} and second.plan is not None and second.plan.is_empty
    runs = org.runs(idp.directory_id)
    assert [r.outcome for r in runs] == ["applied", "applied"]
    assert runs[1].counts["create_account"] == 6
    assert first.to_dict()["counts"]["create_account"] == 6


def test_incremental_runs_follow_changes_and_keep_the_mirror_exact(org: Store, idp: FakeProvider) -> None:
    sync_directory(idp, org, SETTINGS)
    idp.update_user("u1", display_name="Renamed One", family_name="One")
    idp.put_user(user(7))
    idp.add_member("g1", "u7")
    idp.remove_member("g0", "u0")
    idp.update_user("u3", active=False, raw_status="SUSPENDED")
    idp.delete_user("u4")
    idp.put_group("g2", "Group 2")
    idp.add_member("g2", "u5")
    report = sync_directory(idp, org, SETTINGS)
    assert not report.full_read and report.outcome == "applied", report.failed
    assert changed(report) == {
        "create_group": 1,
        "create_account": 1,
        "update_account": 1,
        "add_membership": 3,
        "remove_membership": 4,  # u0 left g0; inactive u3 leaves g1 and (nested) g0; deleted u4 left g0
        "deactivate": 2,
    }
    status = by_identity(org, idp.directory_id)
    assert status["u3"][1] == status["u4"][1] == AccountStatus.DEACTIVATED.value
    assert status["u7"] == ("user7@example.com", "active")
    # the mirror now equals a fresh full read of the directory
    with org.transaction(write=False) as conn:
        mirror = load_mirror(conn, idp.directory_id)
    fresh = read_directory(idp, idp.directory_id)
    assert mirror.users == fresh.users and mirror.groups == fresh.groups
    assert {g: set(m) for g, m in mirror.members.items()} == {g: set(m) for g, m in fresh.members.items()}
    again = sync_directory(idp, org, SETTINGS)
    assert changed(again) == {}
    full = sync_directory(idp, org, SETTINGS, full=True)
    assert full.full_read and changed(full) == {}


def test_a_refused_cursor_falls_back_to_a_full_read(org: Store, idp: FakeProvider) -> None:
    sync_directory(idp, org, SETTINGS)
    idp.put_user(user(8))
    idp.expire_cursors()
    report = sync_directory(idp, org, SETTINGS)
    assert report.full_read and report.read_reason.startswith("the IdP refused the stored cursor")
    assert changed(report) == {"create_account": 1}
    assert not sync_directory(idp, org, SETTINGS).full_read  # the new cursor works


def test_a_full_read_is_due_after_the_interval(org: Store, idp: FakeProvider) -> None:
    sync_directory(idp, org, SETTINGS)
    long_ago = datetime.now(timezone.utc) - timedelta(days=2)
    with org.transaction() as conn:
        conn.execute(update(t.directories).values(last_full_read_at=long_ago))
    report = sync_directory(idp, org, SETTINGS)
    assert report.full_read and "older than 1 day" in report.read_reason
    state = org.directory_state(idp.directory_id)
    assert state is not None and state.last_full_read_at.replace(tzinfo=timezone.utc) > long_ago  # type: ignore[union-attr]
    hourly = SyncSettings(verified_domains=("example.com",), full_read_interval=timedelta(microseconds=1))
    assert sync_directory(idp, org, hourly).full_read


def test_a_provider_without_changes_always_reads_everything(org: Store) -> None:
    idp = FullReadOnlyProvider()
    for n in range(3):
        idp.put_user(user(n))
    first = sync_directory(idp, org, SETTINGS)
    second = sync_directory(idp, org, SETTINGS)
    assert first.full_read and second.full_read and changed(second) == {}
    assert second.read_reason == "the fake provider cannot say what changed"
    assert org.counts()["idp_users"] == 0  # no mirror without incremental runs
    state = org.directory_state(idp.directory_id)
    assert state is not None and state.cursor is None and state.last_good_user_count == 3


def test_one_miss_does_not_deactivate_two_do(org: Store) -> None:
    idp = FullReadOnlyProvider()
    for n in range(30):
        idp.put_user(user(n))
    sync_directory(idp, org, SETTINGS)
    gone = idp.users.pop("u0")
    first = sync_directory(idp, org, SETTINGS)
    assert changed(first) == {} and first.bookkeeping["mark_missing"] == 1
    second = sync_directory(idp, org, SETTINGS)
    assert changed(second) == {"deactivate": 1}
    idp.users["u0"] = gone
    back = sync_directory(idp, org, SETTINGS)
    assert changed(back) == {"activate": 1}
    assert by_identity(org, idp.directory_id)["u0"][1] == "active"


def test_the_guard_stops_a_shrunken_read_and_force_lets_it_through(org: Store, idp: FakeProvider) -> None:
    sync_directory(idp, org, SETTINGS)
    for n in range(3):
        idp.delete_user(f"u{n}")
    state_before = org.directory_state(idp.directory_id)
    stopped = sync_directory(idp, org, SETTINGS, full=True)
    assert stopped.guard.tripped and stopped.outcome == "guard_tripped" and not stopped.applied
    assert stopped.guard.rule == "read_shrank"
    assert org.directory_state(idp.directory_id) == state_before  # not even the cursor moved
    assert org.runs(idp.directory_id)[0].outcome == "guard_tripped"
    forced = sync_directory(idp, org, SETTINGS, full=True, force=True)
    assert forced.applied and forced.guard.forced


def test_a_raised_threshold_lets_the_plan_through(org: Store, idp: FakeProvider) -> None:
    sync_directory(idp, org, SETTINGS)
    for n in range(3):
        idp.delete_user(f"u{n}")
    lenient = SyncSettings(verified_domains=("example.com",), guard=GuardSettings(max_shrink_ratio=0.9))
    assert sync_directory(idp, org, lenient, full=True).applied


def test_a_dry_run_writes_nothing_but_its_run(org: Store, idp: FakeProvider) -> None:
    report = sync_directory(idp, org, SETTINGS, dry_run=True)
    assert report.dry_run and not report.applied and changed(report)["create_account"] == 6
    assert org.accounts() == [] and org.runs()[0].outcome == "dry_run"
    state = org.directory_state(idp.directory_id)
    assert state is not None and not state.synced_before


def test_a_second_concurrent_run_is_refused(org: Store, idp: FakeProvider) -> None:
    with org.run_lock(idp.directory_id), pytest.raises(RunInProgressError):
        sync_directory(idp, org, SETTINGS)
    assert org.runs() == []


def test_a_failed_read_records_the_run_and_applies_nothing(org: Store, idp: FakeProvider) -> None:
    idp.fail_reads = True
    with pytest.raises(IncompleteReadError):
        sync_directory(idp, org, SETTINGS)
    run = org.runs()[0]
    assert run.outcome == "failed" and "IncompleteReadError" in run.detail
    assert org.accounts() == []


def test_a_killed_run_is_found_interrupted_by_the_next(org: Store, idp: FakeProvider) -> None:
    dead = org.start_run(idp.directory_id, kind="sync", dry_run=False)
    sync_directory(idp, org, SETTINGS)
    assert {r.run_id: r.outcome for r in org.runs()}[dead] == "interrupted"


def test_a_saved_plan_applies_once_and_a_stale_one_is_refused(org: Store, idp: FakeProvider) -> None:
    plan, guard, view = plan_directory(idp, org, SETTINGS)
    assert not guard.tripped and len(view.users) == 6 and org.accounts() == []
    result = apply_saved_plan(org, plan)
    assert result.ok and result.applied["create_account"] == 6
    assert org.runs()[0].kind == "apply"
    with pytest.raises(StalePlanError):
        apply_saved_plan(org, plan)


def test_nested_groups_give_members_to_every_ancestor(org: Store, idp: FakeProvider) -> None:
    sync_directory(idp, org, SETTINGS)
    groups = {g.idp_group_id: g.group_id for g in org.groups()}
    members = {(m.group_id, m.account_id) for m in org.memberships()}
    links = {k.idp_user_id: k.account_id for k in org.links(idp.directory_id)}
    assert (groups["g0"], links["u1"]) in members  # u1 is in g1, which is nested in g0
    idp.remove_member("g0", "g1", MemberKind.GROUP)
    sync_directory(idp, org, SETTINGS)
    members = {(m.group_id, m.account_id) for m in org.memberships()}
    assert (groups["g0"], links["u1"]) not in members and (groups["g1"], links["u1"]) in members


def test_a_change_the_store_refuses_is_retried_by_the_next_run(
    org: Store, idp: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = handlers()[Action.CREATE_ACCOUNT]

    def refuse_u3(ctx, changes):  # type: ignore[no-untyped-def]
        kept = [c for c in changes if c.idp_user_id != "u3"]
        results = iter(real(ctx, kept))
        return [
            registry.failed("refused for the test") if c.idp_user_id == "u3" else next(results)
            for c in changes
        ]

    monkeypatch.setitem(registry._HANDLERS, Action.CREATE_ACCOUNT, refuse_u3)
    first = sync_directory(idp, org, SETTINGS)
    assert first.outcome == "applied_with_failures"
    # the refused account, and its two memberships (g1 and, nested, g0) that need it
    assert sorted(f.change.action.value for f in first.failed) == [
        "add_membership",
        "add_membership",
        "create_account",
    ]
    assert org.runs()[0].outcome == "applied_with_failures"
    assert "u3" not in by_identity(org, idp.directory_id)
    monkeypatch.undo()
    second = sync_directory(idp, org, SETTINGS)
    assert second.outcome == "applied" and changed(second) == {"create_account": 1, "add_membership": 2}
    assert "u3" in by_identity(org, idp.directory_id)
    assert changed(sync_directory(idp, org, SETTINGS)) == {}


def test_the_garbage_collector_is_paused_for_a_run_and_restored_after(org: Store, idp: FakeProvider) -> None:
    seen: list[bool] = []
    reads = idp.iter_users

    def watching() -> Iterator[IdpUser]:
        seen.append(gc.isenabled())
        yield from reads()

    idp.iter_users = watching  # type: ignore[method-assign]
    assert gc.isenabled()
    sync_directory(idp, org, SETTINGS, full=True)
    assert seen == [False] and gc.isenabled()
    idp.fail_reads = True
    with pytest.raises(IncompleteReadError):
        sync_directory(idp, org, SETTINGS, full=True)
    assert gc.isenabled()
