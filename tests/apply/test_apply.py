"""Applying a plan: one handler per change type, batched, idempotent, failures recorded."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from fakes import blind_add_memberships
from sqlalchemy import event

from connector.apply.applier import apply_plan
from connector.apply.applier import batches
from connector.model import LOCAL_SOURCE
from connector.model import AccountOrigin
from connector.model import AccountStatus
from connector.rules.plan import Action
from connector.rules.plan import ActivateAccount
from connector.rules.plan import AddMembership
from connector.rules.plan import AdoptGroup
from connector.rules.plan import Change
from connector.rules.plan import CreateAccount
from connector.rules.plan import CreateGroup
from connector.rules.plan import DeactivateAccount
from connector.rules.plan import LinkAccount
from connector.rules.plan import MarkMissing
from connector.rules.plan import Plan
from connector.rules.plan import RemoveMembership
from connector.rules.plan import SetCursor
from connector.rules.plan import UpdateAccount
from connector.rules.plan import UpdateGroup
from connector.store import Store
from connector.store.handlers import handlers
from connector.store.handlers import registry

D = "okta-main"


@pytest.fixture
def org(store: Store) -> Store:
    store.set_verified_domains(["example.com"])
    store.ensure_directory(D, "okta")
    store.ensure_directory("entra", "azure_ad")
    return store


def plan(*changes: Change, directory: str = D) -> Plan:
    return Plan(directory, changes=changes)


def create(n: int) -> CreateAccount:
    return CreateAccount(
        reason="new in the IdP",
        account_id=f"a{n}",
        directory_id=D,
        idp_user_id=f"u{n}",
        email=f"user{n}@example.com",
        display_name=f"User {n}",
    )


def state(store: Store) -> tuple[object, ...]:
    """Everything a plan can change, for before/after comparisons."""
    return (
        store.accounts(),
        store.links(),
        store.groups(),
        store.memberships(),
        store.directory_state(D),
    )


def test_a_first_run_creates_groups_accounts_links_and_memberships(org: Store) -> None:
    run_id = org.start_run(D, kind="sync", dry_run=False)
    result = apply_plan(
        org,
        plan(
            CreateGroup(reason="IdP group", group_id="g1", name="eng", directory_id=D, idp_group_id="ig1"),
            create(1),
            create(2),
            AddMembership(reason="member in the IdP", group_id="g1", account_id="a1", source=D),
            SetCursor(reason="read done", directory_id=D, cursor="c-1", full_read=True, user_count=2),
        ),
        run_id=run_id,
    )
    assert result.ok and result.failed == []
    assert result.applied == {"create_group": 1, "create_account": 2, "add_membership": 1, "set_cursor": 1}
    accounts = {a.account_id: a for a in org.accounts()}
    assert accounts["a1"].origin is AccountOrigin.SYNC and accounts["a1"].status is AccountStatus.ACTIVE
    assert [(k.idp_user_id, k.account_id) for k in org.links(D)] == [("u1", "a1"), ("u2", "a2")]
    state_ = org.directory_state(D)
    assert state_ is not None and state_.cursor == "c-1" and state_.synced_before
    assert state_.last_good_user_count == 2 and state_.last_full_read_at is not None
    audit = org.audit(run_id)
    assert [a.action for a in audit] == [
        "create_group",
        "create_account",
        "create_account",
        "add_membership",
        "set_cursor",
    ]
    assert (
        audit[1].target == "account a1"
        and audit[1].reason == "new in the IdP"
        and audit[1].outcome == "applied"
    )


def test_applying_the_same_plan_twice_changes_nothing_more(org: Store) -> None:
    local = org.add_account("kim@example.com", groups=["design"])
    design = org.groups()[0]
    the_plan = plan(
        CreateGroup(reason="r", group_id="g1", name="eng", directory_id=D, idp_group_id="ig1"),
        AdoptGroup(reason="r", group_id=design.group_id, directory_id=D, idp_group_id="ig2"),
        UpdateGroup(reason="r", group_id="g1", name="engineering", old_name="eng"),
        create(1),
        LinkAccount(reason="r", directory_id=D, idp_user_id="u9", account_id=local.account_id),
        UpdateAccount(
            reason="r", account_id="a1", fields={"display_name": "Ann"}, old={"display_name": "User 1"}
        ),
        AddMembership(reason="r", group_id="g1", account_id="a1", source=D),
        AddMembership(reason="r", group_id="g1", account_id=local.account_id, source=D),
        MarkMissing(reason="r", directory_id=D, idp_user_id="u1", missing_count=1),
    )
    first = apply_plan(org, the_plan)
    assert first.ok and sum(first.applied.values()) == len(the_plan)
    after = state(org)
    second = apply_plan(org, the_plan)
    assert second.ok and second.applied == {} and sum(second.unchanged.values()) == len(the_plan)
    assert state(org) == after
    groups = {g.group_id: g for g in org.groups()}
    assert groups["g1"].name == "engineering"
    assert groups[design.group_id].adopted and groups[design.group_id].idp_group_id == "ig2"
    # the adopted group keeps its local member
    assert (design.group_id, local.account_id, LOCAL_SOURCE) in {
        (m.group_id, m.account_id, m.source) for m in org.memberships()
    }


def test_a_plan_survives_json_and_applies_the_same(org: Store) -> None:
    the_plan = plan(create(1), create(2))
    apply_plan(org, Plan.from_json(the_plan.to_json()))
    assert [a.account_id for a in org.accounts()] == ["a1", "a2"]


def test_deactivation_removes_only_this_directorys_memberships(org: Store) -> None:
    apply_plan(
        org,
        plan(
            CreateGroup(reason="r", group_id="g1", name="eng", directory_id=D, idp_group_id="ig1"), create(1)
        ),
    )
    org.add_membership("g1", "a1", D)
    org.add_membership("g1", "a1", LOCAL_SOURCE)
    org.add_membership("g1", "a1", "entra")
    result = apply_plan(
        org,
        plan(
            DeactivateAccount(reason="inactive in the IdP", account_id="a1", directory_id=D, idp_user_id="u1")
        ),
    )
    assert result.applied == {"deactivate": 1}
    assert org.account("a1").status is AccountStatus.DEACTIVATED  # type: ignore[union-attr]
    assert {m.source for m in org.memberships()} == {LOCAL_SOURCE, "entra"}
    assert [k.account_id for k in org.links(D)] == ["a1"]  # the link stays
    again = apply_plan(
        org, plan(ActivateAccount(reason="back", account_id="a1", directory_id=D, idp_user_id="u1"))
    )
    assert again.applied == {"activate": 1}
    assert org.account("a1").status is AccountStatus.ACTIVE  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (
            RemoveMembership(reason="r", group_id="g1", account_id="a1", source=LOCAL_SOURCE),
            "only touches memberships it gave",
        ),
        (
            RemoveMembership(reason="r", group_id="g1", account_id="a1", source="entra"),
            "only touches memberships it gave",
        ),
        (
            LinkAccount(reason="r", directory_id=D, idp_user_id="u1", account_id="a2"),
            "already linked to account a1",
        ),
        (
            LinkAccount(reason="r", directory_id=D, idp_user_id="u7", account_id="a1"),
            "already linked to identity u1",
        ),
        (LinkAccount(reason="r", directory_id=D, idp_user_id="u7", account_id="nobody"), "no account nobody"),
        (
            CreateAccount(
                reason="r", account_id="a9", directory_id=D, idp_user_id="u1", email="x@example.com"
            ),
            "already linked",
        ),
        (
            UpdateAccount(reason="r", account_id="ext", fields={"display_name": "X"}),
            "outside the verified domains",
        ),
        (UpdateAccount(reason="r", account_id="a1", fields={"status": "deactivated"}), "not status"),
        (AddMembership(reason="r", group_id="nope", account_id="a1", source=D), "no group nope"),
        (
            DeactivateAccount(reason="r", account_id="a2", directory_id=D, idp_user_id="u1"),
            "not linked to account a2",
        ),
        (UpdateGroup(reason="r", group_id="local", name="x"), "not managed by directory"),
        (MarkMissing(reason="r", directory_id=D, idp_user_id="ghost", missing_count=1), "not linked"),
        (
            LinkAccount(reason="r", directory_id="entra", idp_user_id="e1", account_id="a1"),
            "the plan for 'okta-main'",
        ),
    ],
)
def test_a_refused_change_is_recorded_and_the_run_goes_on(org: Store, change: Change, error: str) -> None:
    apply_plan(
        org,
        plan(
            CreateGroup(reason="r", group_id="g1", name="eng", directory_id=D, idp_group_id="ig1"),
            create(1),
            create(2),
        ),
    )
    org.add_account("ext@partner.org", account_id="ext")
    org.add_group("local", group_id="local")
    org.add_membership("g1", "a1", LOCAL_SOURCE)
    before = state(org)
    run_id = org.start_run(D, kind="sync", dry_run=False)
    result = apply_plan(org, plan(change, create(3)), run_id=run_id)
    assert [f.error for f in result.failed if error in f.error], result.failed
    assert result.applied == {"create_account": 1}  # the rest of the plan went through
    failed = [a for a in org.audit(run_id) if a.outcome == "failed"]
    assert len(failed) == 1 and error in (failed[0].error or "")
    # nothing else changed: only the new account and its link were added
    assert [a for a in org.accounts() if a.account_id != "a3"] == before[0]
    assert [k.account_id for k in org.links(D)] == ["a1", "a2", "a3"]
    assert (org.groups(), org.memberships()) == (before[2], before[3])


def test_a_database_refusal_fails_only_the_offending_change(
    org: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    apply_plan(
        org,
        plan(
            CreateGroup(reason="r", group_id="g1", name="eng", directory_id=D, idp_group_id="ig1"),
            create(1),
            create(2),
            create(3),
        ),
    )
    org.add_membership("g1", "a2", D)  # already there: the blind insert of it hits the primary key
    monkeypatch.setitem(registry._HANDLERS, Action.ADD_MEMBERSHIP, blind_add_memberships)
    result = apply_plan(
        org,
        plan(*(AddMembership(reason="r", group_id="g1", account_id=f"a{n}", source=D) for n in (1, 2, 3))),
    )
    assert result.applied == {"add_membership": 2}
    assert len(result.failed) == 1 and result.failed[0].change.account_id == "a2"  # type: ignore[attr-defined]
    assert "the database refused it" in result.failed[0].error
    assert {m.account_id for m in org.memberships()} == {"a1", "a2", "a3"}


def test_batches_cut_the_work_and_keep_the_bookkeeping_whole() -> None:
    the_plan = plan(
        *(create(n) for n in range(5)),
        *(MarkMissing(reason="r", directory_id=D, idp_user_id=f"u{n}", missing_count=1) for n in range(3)),
        SetCursor(reason="r", directory_id=D, cursor="c"),
    )
    cut = batches(the_plan, 2)
    assert [len(b) for b in cut] == [2, 2, 1, 4]
    assert {c.action for c in cut[-1]} == {Action.MARK_MISSING, Action.SET_CURSOR}
    with pytest.raises(ValueError, match="batch_size"):
        batches(the_plan, 0)


def test_progress_is_reported_after_each_committed_batch(org: Store) -> None:
    seen: list[tuple[str, int, int | None]] = []
    the_plan = plan(*(create(n) for n in range(5)), SetCursor(reason="r", directory_id=D, cursor="c"))
    result = apply_plan(org, the_plan, batch_size=2, progress=lambda *a: seen.append(a))
    assert result.batches == 4
    assert seen == [("apply", 2, 6), ("apply", 4, 6), ("apply", 5, 6), ("apply", 6, 6)]


def test_the_tail_is_one_transaction_handed_to_handlers_in_batch_sized_chunks(
    org: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = handlers()[Action.MARK_MISSING]
    calls: list[int] = []

    def counting(ctx: registry.ApplyContext, changes: Sequence[MarkMissing]) -> list[registry.Result]:
        calls.append(len(changes))
        return real(ctx, changes)

    apply_plan(org, plan(*(create(n) for n in range(5))))
    monkeypatch.setitem(registry._HANDLERS, Action.MARK_MISSING, counting)
    seen: list[tuple[str, int, int | None]] = []
    tail = [MarkMissing(reason="r", directory_id=D, idp_user_id=f"u{n}", missing_count=1) for n in range(5)]
    result = apply_plan(org, plan(*tail), batch_size=2, progress=lambda *a: seen.append(a))
    assert calls == [2, 2, 1] and result.applied == {"mark_missing": 5}
    assert seen == [("apply", 5, 5)] and result.batches == 1


def _membership_selects(store: Store) -> list[str]:
    seen: list[str] = []

    @event.listens_for(store.engine, "before_cursor_execute")
    def _watch(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM memberships" in statement:
            seen.append(statement)

    return seen


def test_memberships_of_accounts_created_in_the_same_apply_are_not_looked_up(org: Store) -> None:
    group = CreateGroup(reason="IdP group", group_id="g1", name="eng", directory_id=D, idp_group_id="ig1")
    adds = [AddMembership(reason="member", group_id="g1", account_id=f"a{n}", source=D) for n in range(4)]
    seen = _membership_selects(org)
    result = apply_plan(org, plan(group, *(create(n) for n in range(4)), *adds), batch_size=2)
    assert result.ok and result.applied["add_membership"] == 4
    assert seen == []  # every account was new: nothing to look up
    assert {(m.group_id, m.account_id) for m in org.memberships()} == {("g1", f"a{n}") for n in range(4)}
    again = apply_plan(org, plan(*adds), batch_size=2)  # a rerun: accounts not new any more
    assert again.ok and again.unchanged["add_membership"] == 4 and seen


def test_a_repeated_membership_of_a_new_account_is_already_so_not_failed(org: Store) -> None:
    group = CreateGroup(reason="IdP group", group_id="g1", name="eng", directory_id=D, idp_group_id="ig1")
    add = AddMembership(reason="member", group_id="g1", account_id="a1", source=D)
    other = AddMembership(reason="member", group_id="g1", account_id="a2", source=D)
    # the same membership in two batches: the second batch is refused by the database, retried
    # one change at a time, and each single change is looked up in full
    result = apply_plan(org, plan(group, create(1), create(2), add, other, add, other), batch_size=2)
    assert result.ok, result.failed
    assert result.applied["add_membership"] == 2 and result.unchanged["add_membership"] == 2
    assert len(org.memberships()) == 2


def test_a_large_apply_refreshes_the_planners_statistics(org: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """A first sync fills tables the planner knew empty; PostgreSQL then plans the next queries
    with statistics (it once chose a look-up that turned a re-run from seconds into hours)."""
    from connector.apply import applier
    from connector.store.store import STATISTICS_TABLES

    monkeypatch.setattr(applier, "STATISTICS_AFTER", 50)
    small = apply_plan(org, plan(*(create(n) for n in range(10))))
    assert small.ok
    analyzed = _analyzed(org)
    big = apply_plan(org, plan(*(create(n) for n in range(10, 70))))
    assert big.ok
    if org.engine.dialect.name == "postgresql":
        assert analyzed == set()
        assert _analyzed(org) == set(STATISTICS_TABLES)


def _analyzed(store: Store) -> set[str]:
    """The tables of the store's schema PostgreSQL has analyzed by hand (none on SQLite)."""
    if store.engine.dialect.name != "postgresql":
        return set()
    from sqlalchemy import text

    with store.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT relname FROM pg_stat_user_tables "
                "WHERE schemaname = current_schema() AND last_analyze IS NOT NULL"
            )
        )
        return {r[0] for r in rows}
