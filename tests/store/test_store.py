"""The Store API: organization settings, directories, accounts, snapshot, runs."""

from __future__ import annotations

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from connector.errors import StoreError
from connector.model import LOCAL_SOURCE
from connector.model import AccountOrigin
from connector.model import AccountStatus
from connector.store import Store
from connector.store import tables as t
from connector.store.store import utcnow


@pytest.fixture
def directory(store: Store) -> str:
    store.ensure_directory("okta-main", "okta")
    return "okta-main"


def test_verified_domains_are_idna_encoded_lower_cased_and_replaced(store: Store) -> None:
    store.set_verified_domains(["Example.COM", " bücher.de ", "example.com"])
    assert store.verified_domains() == ("example.com", "xn--bcher-kva.de")
    store.set_verified_domains(["other.org"])
    assert store.verified_domains() == ("other.org",)


@pytest.mark.parametrize("bad", ["not a domain", "exa mple.com"])
def test_a_bad_domain_is_named_in_the_error(store: Store, bad: str) -> None:
    with pytest.raises(StoreError, match=repr(bad)):
        store.set_verified_domains([bad])


def test_one_string_is_not_a_list_of_domains(store: Store) -> None:
    with pytest.raises(StoreError, match="not one string"):
        store.set_verified_domains("example.com")


def test_product_grants_round_trip(store: Store) -> None:
    store.set_product_grants({"jira-software": ["eng", "ops"], "confluence": ("everyone",)})
    assert store.product_grants() == {"confluence": ("everyone",), "jira-software": ("eng", "ops")}
    store.set_product_grants({})
    assert store.product_grants() == {}


def test_ensure_directory_is_idempotent_and_keeps_its_provider(store: Store, directory: str) -> None:
    store.ensure_directory(directory, "okta")
    state = store.directory_state(directory)
    assert state is not None and state.cursor is None and not state.synced_before
    with pytest.raises(StoreError, match="registered with provider 'okta'"):
        store.ensure_directory(directory, "scim")


def test_add_account_with_local_groups(store: Store) -> None:
    account = store.add_account(" Ann@Example.COM ", "Ann", groups=["eng", "eng", "ops"])
    assert account.email == "Ann@example.com"
    assert account.origin is AccountOrigin.INVITED and account.status is AccountStatus.ACTIVE
    assert store.accounts() == [account]
    groups = {g.name: g for g in store.groups()}
    assert set(groups) == {"eng", "ops"} and not any(g.managed for g in groups.values())
    assert {(m.group_id, m.source) for m in store.memberships()} == {
        (groups["eng"].group_id, LOCAL_SOURCE),
        (groups["ops"].group_id, LOCAL_SOURCE),
    }
    second = store.add_account("bob@example.com", groups=["eng"])
    assert len(store.groups()) == 2
    assert store.account(second.account_id) == second


def test_add_account_refuses_a_bad_email_and_a_taken_id(store: Store) -> None:
    with pytest.raises(StoreError, match="not a valid email"):
        store.add_account("no-at-sign")
    store.add_account("a@example.com", account_id="a1")
    with pytest.raises(StoreError, match="already exists"):
        store.add_account("b@example.com", account_id="a1")


def test_add_membership_checks_both_ends(store: Store) -> None:
    account = store.add_account("a@example.com")
    group = store.add_group("eng")
    store.add_membership(group.group_id, account.account_id)
    store.add_membership(group.group_id, account.account_id)
    assert len(store.memberships()) == 1
    with pytest.raises(StoreError, match="no group"):
        store.add_membership("nope", account.account_id)
    with pytest.raises(StoreError, match="no account"):
        store.add_membership(group.group_id, "nope")


def _link(conn, directory: str, idp_user_id: str, account_id: str) -> None:
    conn.execute(
        insert(t.links).values(
            directory_id=directory,
            idp_user_id=idp_user_id,
            account_id=account_id,
            missing_count=0,
            idp_active=True,
            linked_at=utcnow(),
        )
    )


def test_constraint_one_identity_one_account(store: Store, directory: str) -> None:
    a = store.add_account("a@example.com")
    b = store.add_account("b@example.com")
    with store.transaction() as conn:
        _link(conn, directory, "u1", a.account_id)
    with pytest.raises(IntegrityError), store.transaction() as conn:
        _link(conn, directory, "u1", b.account_id)


def test_constraint_one_identity_per_directory_per_account(store: Store, directory: str) -> None:
    a = store.add_account("a@example.com")
    store.ensure_directory("entra", "azure_ad")
    with store.transaction() as conn:
        _link(conn, directory, "u1", a.account_id)
        _link(conn, "entra", "g-1", a.account_id)  # another directory may link it too
    with pytest.raises(IntegrityError), store.transaction() as conn:
        _link(conn, directory, "u2", a.account_id)


def test_constraint_one_membership_per_source(store: Store, directory: str) -> None:
    a = store.add_account("a@example.com")
    group = store.add_group("eng")
    store.add_membership(group.group_id, a.account_id)
    store.add_membership(group.group_id, a.account_id, directory)
    assert len(store.memberships()) == 2
    with pytest.raises(IntegrityError), store.transaction() as conn:
        conn.execute(
            insert(t.memberships).values(
                group_id=group.group_id, account_id=a.account_id, source=directory, added_at=utcnow()
            )
        )


def test_constraint_one_group_per_idp_group(store: Store, directory: str) -> None:
    row = {
        "name": "eng",
        "directory_id": directory,
        "idp_group_id": "g1",
        "adopted": False,
        "created_at": utcnow(),
    }
    with store.transaction() as conn:
        conn.execute(insert(t.groups).values(group_id="one", **row))
    with pytest.raises(IntegrityError), store.transaction() as conn:
        conn.execute(insert(t.groups).values(group_id="two", **row))


def test_foreign_keys_hold(store: Store, directory: str) -> None:
    with pytest.raises(IntegrityError), store.transaction() as conn:
        _link(conn, directory, "u1", "no-such-account")


def test_snapshot_holds_what_the_planner_needs(store: Store, directory: str) -> None:
    store.ensure_directory("other", "scim")
    a = store.add_account("a@example.com", groups=["local-group"])
    local = store.groups()[0]
    other = store.add_group("theirs")
    store.add_membership(other.group_id, a.account_id, "other")
    with store.transaction() as conn:
        _link(conn, directory, "u1", a.account_id)
    snapshot = store.snapshot(directory)
    assert set(snapshot.accounts) == {a.account_id}
    assert snapshot.links[(directory, "u1")].account_id == a.account_id
    assert set(snapshot.groups) == {local.group_id, other.group_id}
    # another directory's memberships in a group this directory does not manage are not its business
    assert {(m.group_id, m.source) for m in snapshot.memberships} == {(local.group_id, LOCAL_SOURCE)}
    assert snapshot.directory is not None and snapshot.directory.directory_id == directory


def test_fingerprint_is_stable_and_follows_every_planner_input(store: Store, directory: str) -> None:
    first = store.fingerprint(directory)
    assert store.fingerprint(directory) == first
    a = store.add_account("a@example.com")
    second = store.fingerprint(directory)
    assert second != first
    group = store.add_group("eng")
    third = store.fingerprint(directory)
    store.add_membership(group.group_id, a.account_id)
    fourth = store.fingerprint(directory)
    store.set_verified_domains(["example.com"])
    fifth = store.fingerprint(directory)
    assert len({first, second, third, fourth, fifth}) == 5


def test_runs_newest_first_and_interrupted_runs_closed(store: Store, directory: str) -> None:
    first = store.start_run(directory, kind="sync", dry_run=False)
    second = store.start_run(directory, kind="sync", dry_run=True)
    store.finish_run(second, outcome="dry_run", counts={"create_account": 3}, detail="ok")
    assert store.close_interrupted_runs(directory) == 1
    runs = store.runs(directory)
    assert [r.run_id for r in runs] == [second, first]
    assert runs[0].counts == {"create_account": 3} and runs[0].dry_run and runs[0].finished_at is not None
    assert runs[1].outcome == "interrupted"
    assert store.runs("elsewhere") == []
    with pytest.raises(StoreError, match="no sync run"):
        store.finish_run(9999, outcome="applied", counts={})


def test_the_organization_has_a_name(store: Store) -> None:
    assert store.organization_name() == "default"  # its id, until it is named
    store.set_organization_name("Acme")
    store.set_organization_name("Acme Corp")
    assert store.organization_name() == "Acme Corp"
    with pytest.raises(StoreError, match="non-empty name"):
        store.set_organization_name(" ")
