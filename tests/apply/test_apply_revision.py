"""Apply records the store revision it left when, and only when, nothing else wrote in between."""

from __future__ import annotations

import pytest
from fakes import blind_add_memberships

from connector.apply.applier import apply_plan
from connector.rules.plan import Action
from connector.rules.plan import AddMembership
from connector.rules.plan import Change
from connector.rules.plan import CreateAccount
from connector.rules.plan import CreateGroup
from connector.rules.plan import LinkAccount
from connector.rules.plan import Plan
from connector.rules.plan import SetCursor
from connector.store import Store
from connector.store.handlers import registry
from connector.store.revision import read_revision

D = "okta-main"
OTHER = "entra"
DIGEST = "settings-sha256-abc"


@pytest.fixture
def org(store: Store) -> Store:
    store.set_verified_domains(["example.com"])
    store.ensure_directory(D, "okta")
    store.ensure_directory(OTHER, "azure_ad")
    return store


def revision(store: Store) -> int:
    with store.transaction(write=False) as conn:
        return read_revision(conn)


def planned(store: Store, directory: str = D) -> tuple[int | None, str | None]:
    state = store.directory_state(directory)
    assert state is not None
    return state.planned_revision, state.planned_settings


def create(n: int, directory: str = D) -> CreateAccount:
    return CreateAccount(
        reason="new in the IdP",
        account_id=f"{directory}-a{n}",
        directory_id=directory,
        idp_user_id=f"u{n}",
        email=f"{directory}.user{n}@example.com",
    )


def run_plan(
    *changes: Change,
    base: int | None,
    directory: str = D,
    cursor: bool = True,
    digest: str = DIGEST,
) -> Plan:
    tail = (SetCursor(reason="read done", directory_id=directory, cursor="c"),) if cursor else ()
    return Plan(directory, changes=(*changes, *tail), base_revision=base, settings_digest=digest)


def test_a_clean_apply_records_the_revision_it_left_and_the_settings_digest(org: Store) -> None:
    base = revision(org)
    result = apply_plan(org, run_plan(create(1), create(2), base=base))
    assert result.ok
    after = revision(org)
    # SQLite bumps per row (2 accounts + 2 links), PostgreSQL once per transaction
    assert after == base + (1 if org.engine.dialect.name == "postgresql" else 4)
    assert planned(org) == (after, DIGEST)


def test_a_clean_apply_over_many_transactions_is_still_clean(org: Store) -> None:
    base = revision(org)
    result = apply_plan(org, run_plan(*(create(n) for n in range(5)), base=base), batch_size=2)
    assert result.batches == 4 and result.ok
    assert planned(org) == (revision(org), DIGEST)


def test_a_later_run_based_on_the_recorded_revision_is_clean_again(org: Store) -> None:
    apply_plan(org, run_plan(create(1), base=revision(org)))
    recorded, _ = planned(org)
    apply_plan(org, run_plan(create(2), base=recorded, digest="other-digest"))
    assert planned(org) == (revision(org), "other-digest")
    assert revision(org) != recorded


def test_a_plan_with_no_changes_but_the_cursor_records_the_unchanged_revision(org: Store) -> None:
    base = revision(org)
    apply_plan(org, run_plan(base=base))
    assert revision(org) == base
    assert planned(org) == (base, DIGEST)


def test_a_write_between_plan_and_apply_records_null(org: Store) -> None:
    apply_plan(org, run_plan(create(1), base=revision(org)))
    assert planned(org)[0] is not None
    stale = revision(org)
    org.add_account("someone@example.com", account_id="by-hand")  # the product, or an admin
    apply_plan(org, run_plan(create(2), base=stale))
    assert planned(org) == (None, None)


def test_an_unknown_base_revision_records_null(org: Store) -> None:
    apply_plan(org, run_plan(create(1), base=None))
    assert planned(org) == (None, None)


def test_a_write_by_someone_else_between_two_apply_transactions_records_null(org: Store) -> None:
    def meddle(_phase: str, done: int, _total: int | None) -> None:
        if done == 2:  # after the first transaction committed, before the second began
            org.set_verified_domains(["example.com", "example.org"])

    result = apply_plan(org, run_plan(*(create(n) for n in range(4)), base=revision(org)), batch_size=2)
    assert result.ok and planned(org)[0] is not None  # without meddling: clean
    result = apply_plan(
        org,
        run_plan(*(create(n) for n in range(10, 14)), base=revision(org)),
        batch_size=2,
        progress=meddle,
    )
    assert result.ok and result.batches == 3
    assert planned(org) == (None, None)


def test_a_hook_that_writes_only_untracked_tables_keeps_the_run_clean(org: Store) -> None:
    def bookkeeping(_phase: str, done: int, _total: int | None) -> None:
        if done == 2:
            org.ensure_directory("scim-x", "scim")  # directories: not tracked

    apply_plan(
        org, run_plan(*(create(n) for n in range(4)), base=revision(org)), batch_size=2, progress=bookkeeping
    )
    assert planned(org) == (revision(org), DIGEST)


def test_a_failed_change_records_null(org: Store) -> None:
    base = revision(org)
    result = apply_plan(
        org,
        run_plan(
            create(1),
            LinkAccount(reason="r", directory_id=D, idp_user_id="u9", account_id="nope"),
            base=base,
        ),
    )
    assert len(result.failed) == 1
    assert planned(org) == (None, None)


def test_a_failure_in_an_earlier_transaction_records_null(org: Store) -> None:
    base = revision(org)
    result = apply_plan(
        org,
        run_plan(
            AddMembership(reason="r", group_id="no-such-group", account_id=f"{D}-a1", source=D),
            create(1),
            create(2),
            create(3),
            base=base,
        ),
        batch_size=1,
    )
    assert len(result.failed) == 1 and result.batches == 5
    assert planned(org) == (None, None)


def test_a_batch_refused_and_retried_one_by_one_counts_its_failed_change(
    org: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    apply_plan(
        org,
        run_plan(
            CreateGroup(reason="r", group_id="g1", name="eng", directory_id=D, idp_group_id="ig1"),
            create(1),
            create(2),
            base=None,
            cursor=False,
        ),
    )
    org.add_membership("g1", f"{D}-a2", D)
    monkeypatch.setitem(registry._HANDLERS, Action.ADD_MEMBERSHIP, blind_add_memberships)
    result = apply_plan(
        org,
        run_plan(
            *(AddMembership(reason="r", group_id="g1", account_id=f"{D}-a{n}", source=D) for n in (1, 2)),
            base=revision(org),
        ),
    )
    assert result.applied == {"add_membership": 1, "set_cursor": 1} and len(result.failed) == 1
    assert planned(org) == (None, None)


def test_a_plan_without_a_cursor_leaves_the_recorded_columns(org: Store) -> None:
    apply_plan(org, run_plan(create(1), base=revision(org)))
    recorded = planned(org)
    assert recorded[0] is not None
    apply_plan(org, run_plan(create(2), base=None, cursor=False, digest="ignored"))
    assert planned(org) == recorded  # untouched, and now behind the store
    assert revision(org) != recorded[0]


def test_another_directorys_sync_moves_the_revision_past_what_a_directory_recorded(org: Store) -> None:
    apply_plan(org, run_plan(create(1), base=revision(org)))
    apply_plan(org, run_plan(create(1, OTHER), base=revision(org), directory=OTHER))
    mine, theirs = planned(org), planned(org, OTHER)
    assert theirs == (revision(org), DIGEST)
    assert mine[0] is not None and mine[0] != revision(org)


def test_a_plan_round_trips_its_base_revision_and_settings_digest_through_json() -> None:
    plan = Plan(
        D,
        changes=(SetCursor(reason="r", directory_id=D, cursor="c"),),
        base_fingerprint="fp",
        base_revision=123456789012,
        settings_digest=DIGEST,
    )
    back = Plan.from_json(plan.to_json())
    assert (back.base_revision, back.settings_digest) == (123456789012, DIGEST)
    assert back == plan
    unknown = Plan.from_json(Plan(D).to_json())
    assert (unknown.base_revision, unknown.settings_digest) == (None, "")
    legacy = (
        plan.to_json()
        .replace('"base_revision": 123456789012,', "")
        .replace(f'"settings_digest": "{DIGEST}",', "")
    )
    old = Plan.from_json(legacy)
    assert (old.base_revision, old.settings_digest) == (None, "")
