"""The planner against the real store: plan, apply with ``connector.apply.applier``, plan again.

The rules' other tests apply plans in memory; these check that the store's
handlers read the plan the same way (on SQLite and PostgreSQL).
"""

from __future__ import annotations

import dataclasses

from builders import DIR
from builders import user
from builders import view

from connector.apply.applier import apply_plan
from connector.model import LOCAL_SOURCE
from connector.model import AccountStatus
from connector.model import GroupMembership
from connector.rules.planner import make_plan
from connector.rules.settings import SyncSettings
from connector.store import Store

SETTINGS = SyncSettings(verified_domains=("example.com",), product_grants={"jira": ("jira-users",)})


def _sync(store: Store, v):
    plan = make_plan(v, store.snapshot(DIR), SETTINGS)
    result = apply_plan(store, plan)
    assert result.ok, result.to_dict()
    return plan


def _prepare(store: Store) -> dict[str, str]:
    store.set_verified_domains(SETTINGS.verified_domains)
    store.set_product_grants(SETTINGS.product_grants)
    store.ensure_directory(DIR, "okta")
    kate = store.add_account("KATE@example.com", "K", groups=["jira-users"])
    pat = store.add_account("pat@partner.io", "Pat", groups=["vendors"])
    return {"kate": kate.account_id, "pat": pat.account_id}


def _directory(*, with_kate: bool = True):
    users = [user("u-pat", "Pat@Partner.io", display_name="Patricia"), user("u-new", "new@example.com")]
    if with_kate:
        users.append(user("u-kate", "Kate@example.com", display_name="Kate Smith"))
    users.append(user("u-off", "off@example.com", active=False))
    groups = {"g-jira": ["g-nested", "u-pat"], "g-nested": ["u-kate", "u-new", "g-jira"]}
    return view(users, groups, names={"g-jira": "jira-users", "g-nested": "engineers"})


def test_plan_apply_plan_again_is_empty(store: Store) -> None:
    ids = _prepare(store)
    plan = _sync(store, _directory())
    assert [c.action.value for c in plan.changes][:2] == ["create_group", "adopt_group"]
    again = make_plan(dataclasses.replace(_directory(), full_read=False), store.snapshot(DIR), SETTINGS)
    assert again.changes == ()
    accounts = {a.account_id: a for a in store.accounts()}
    assert accounts[ids["kate"]].display_name == "Kate Smith"  # internal: follows the IdP
    assert accounts[ids["pat"]].display_name == "Pat"  # external: never changed
    jira = next(g for g in store.groups() if g.name == "jira-users")
    assert jira.adopted and jira.idp_group_id == "g-jira"
    assert GroupMembership(jira.group_id, ids["kate"], LOCAL_SOURCE) in store.memberships()
    assert store.billing().billable == 2  # kate and new; pat is external


def test_two_misses_deactivate_and_keep_local_memberships(store: Store) -> None:
    ids = _prepare(store)
    _sync(store, _directory())
    _sync(store, _directory(with_kate=False))
    assert store.account(ids["kate"]).status is AccountStatus.ACTIVE
    _sync(store, _directory(with_kate=False))
    assert store.account(ids["kate"]).status is AccountStatus.DEACTIVATED
    kept = {(m.source) for m in store.memberships() if m.account_id == ids["kate"]}
    assert kept == {LOCAL_SOURCE}
    assert make_plan(_directory(with_kate=False), store.snapshot(DIR), SETTINGS).changes == ()
    plan = _sync(store, _directory())  # back again: the same account, reactivated
    assert [c.action.value for c in plan.changes if getattr(c, "account_id", None) == ids["kate"]][
        0
    ] == "activate"
    assert store.account(ids["kate"]).status is AccountStatus.ACTIVE
