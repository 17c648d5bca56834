"""Product access and billing (PRODUCT.md, "Product access", "Billing")."""

from __future__ import annotations

import pytest
from builders import account

from connector.model import LOCAL_SOURCE
from connector.model import Group
from connector.model import GroupMembership
from connector.rules.billing import billing

GRANTS = {"jira-software": ("jira-users",), "confluence": ("confluence-users", "everyone")}
DOMAINS = ("Example.COM",)
GROUPS = [
    Group("g-jira", "jira-users", "okta", "o1"),
    Group("g-conf", "confluence-users"),
    Group("g-all", "everyone", "azure", "z1"),
    Group("g-none", "no-product"),
]


def _report(accounts, memberships):
    return billing(accounts, GROUPS, [GroupMembership(*m) for m in memberships], GRANTS, DOMAINS)


@pytest.mark.parametrize(
    ("accounts", "memberships", "billable", "per_product", "external"),
    [
        pytest.param(
            [account("a1", "kate@example.com")],
            [("g-jira", "a1", "okta")],
            1,
            {"jira-software": 1},
            0,
            id="one",
        ),
        pytest.param(
            [account("a1", "pat@partner.io")],
            [("g-jira", "a1", "okta")],
            0,
            {"jira-software": 0},
            1,
            id="external",
        ),
        pytest.param(
            [account("a1", "kate@example.com")],
            [("g-jira", "a1", "okta"), ("g-conf", "a1", LOCAL_SOURCE), ("g-all", "a1", "azure")],
            1,
            {"jira-software": 1, "confluence": 1},
            0,
            id="many-groups-counted-once",
        ),
        pytest.param(
            [account("a1", "kate@example.com")],
            [("g-jira", "a1", "okta"), ("g-jira", "a1", "azure"), ("g-jira", "a1", LOCAL_SOURCE)],
            1,
            {"jira-software": 1},
            0,
            id="one-account-from-two-directories",
        ),
        pytest.param(
            [account("a1", "kate@example.com", active=False)],
            [("g-jira", "a1", "okta")],
            0,
            {"jira-software": 0},
            0,
            id="deactivated",
        ),
        pytest.param(
            [account("a1", "kate@example.com")], [("g-none", "a1", LOCAL_SOURCE)], 0, {}, 0, id="no-product"
        ),
        pytest.param(
            [account("a1", "kate@eu.example.com")],
            [("g-jira", "a1", "okta")],
            0,
            {},
            1,
            id="subdomain-external",
        ),
    ],
)
def test_billing(accounts, memberships, billable, per_product, external) -> None:
    report = _report(accounts, memberships)
    assert report.billable == billable
    assert report.external_with_access == external
    for product, count in per_product.items():
        assert report.per_product[product] == count
    assert set(report.per_product) == {"jira-software", "confluence"}


def test_every_group_of_a_granted_name_grants() -> None:
    groups = [Group("x1", "jira-users", "okta", "o1"), Group("x2", "jira-users", "azure", "z1")]
    members = [GroupMembership("x2", "a1", "azure")]
    report = billing({"a1": account("a1", "kate@example.com")}, groups, members, GRANTS, DOMAINS)
    assert report.billable == 1


def test_report_counts_and_dict() -> None:
    accounts = [
        account("a1", "kate@example.com"),
        account("a2", "pat@partner.io"),
        account("a3", "x@example.com"),
    ]
    report = _report(accounts, [("g-jira", "a1", "okta"), ("g-conf", "a2", LOCAL_SOURCE)])
    assert report.to_dict() == {
        "billable": 1,
        "per_product": {"confluence": 0, "jira-software": 1},
        "external_with_access": 1,
        "external_per_product": {"confluence": 1, "jira-software": 0},
        "active_accounts": 3,
        "active_internal": 2,
        "active_external": 1,
    }
