"""Fixtures of the rules' tests: settings, a deterministic id source, plan-and-apply."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from builders import sequential_ids
from memory_apply import apply_in_memory

from connector.model import DirectoryView
from connector.model import StoreSnapshot
from connector.rules.plan import Plan
from connector.rules.planner import make_plan
from connector.rules.settings import SyncSettings


@pytest.fixture
def settings() -> SyncSettings:
    return SyncSettings(verified_domains=("example.com",), product_grants={"jira-software": ("jira-users",)})


@pytest.fixture
def plan_for(settings: SyncSettings) -> Callable[[DirectoryView, StoreSnapshot], Plan]:
    """``plan_for(view, snap)``: a plan with ids new-1, new-2, ..."""

    def run(view: DirectoryView, snap: StoreSnapshot, **kwargs: object) -> Plan:
        return make_plan(view, snap, kwargs.pop("settings", settings), new_id=sequential_ids("new"))  # type: ignore[arg-type]

    return run


@pytest.fixture
def sync(plan_for) -> Callable[[DirectoryView, StoreSnapshot], tuple[Plan, StoreSnapshot]]:
    """``sync(view, snap)``: plan, apply in memory, and check a second plan is empty."""

    def run(view: DirectoryView, snap: StoreSnapshot) -> tuple[Plan, StoreSnapshot]:
        plan = plan_for(view, snap)
        after = apply_in_memory(snap, plan)
        again = plan_for(_incremental(view), after)
        assert again.changes == (), f"second plan not empty: {again.changes}"
        return plan, after

    return run


def _incremental(view: DirectoryView) -> DirectoryView:
    return DirectoryView(view.directory_id, view.users, view.groups, view.members, full_read=False)
