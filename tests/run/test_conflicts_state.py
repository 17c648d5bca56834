"""Conflicts are state (docs/contract.md, "Conflicts"): stored by the run that finds them, kept
open through runs that do not decide them again, closed by the run that finds the cause gone."""

from __future__ import annotations

from builders import user
from fakes import seeded

from connector.rules.settings import SyncSettings
from connector.run.sync import sync_directory
from connector.store import Store

SETTINGS = SyncSettings(verified_domains=("example.com",), product_grants={"jira-software": ("Group 0",)})


def test_conflicts_open_stay_open_through_scoped_runs_and_close_when_resolved(store: Store) -> None:
    provider = seeded()
    provider.put_user(user(10, email="shared@example.com"))
    provider.put_user(user(11, email="Shared@example.com"))
    first = sync_directory(provider, store, SETTINGS)
    assert {c.idp_user_id for c in first.conflicts} == {"u10", "u11"}
    opened = {c.idp_user_id: c for c in store.open_conflicts(provider.directory_id)}
    assert set(opened) == {"u10", "u11"} and "share the email" in opened["u10"].reason

    provider.update_user("u1", display_name="Somebody else changed")
    quiet = sync_directory(provider, store, SETTINGS)
    assert "planned only" in quiet.read_reason and quiet.conflicts == ()  # not in this run's scope
    still = {c.idp_user_id: c for c in store.open_conflicts(provider.directory_id)}
    assert set(still) == {"u10", "u11"}
    assert still["u10"].first_seen == opened["u10"].first_seen

    provider.update_user("u11", email="someone.else@example.com")  # the cause is gone
    resolved = sync_directory(provider, store, SETTINGS)
    assert resolved.counts["create_account"] == 2
    assert store.open_conflicts(provider.directory_id) == []


def test_a_whole_run_closes_what_it_no_longer_finds(store: Store) -> None:
    provider = seeded(users=30)  # one user fewer must not look like a read that shrank
    provider.put_user(user(10, email="shared@example.com"))
    provider.put_user(user(11, email="shared@example.com"))
    sync_directory(provider, store, SETTINGS)
    assert len(store.open_conflicts()) == 2
    provider.delete_user("u11")
    report = sync_directory(provider, store, SETTINGS, full=True, whole=True)
    assert report.applied and report.counts["create_account"] == 1
    assert store.open_conflicts() == []
