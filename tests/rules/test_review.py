"""The review CSV (PRODUCT.md, "Review before sync")."""

from __future__ import annotations

import csv
import io

from builders import DIR
from builders import account
from builders import snapshot
from builders import user
from builders import view

from connector.model import Group
from connector.model import GroupMembership
from connector.model import Link
from connector.rules.review import COLUMNS
from connector.rules.review import mixed_groups
from connector.rules.review import review_rows
from connector.rules.review import write_review_csv


def _world():
    users = [
        user("u-new", "new@partner.io"),
        user("u-link", "PAT@partner.io"),
        user("u-upd", "kim@partner.io"),
        user("u-off", "lee@partner.io", active=False),
        user("u-skip", "sam@partner.io", active=False),
        user("u-dup1", "dup@partner.io"),
        user("u-dup2", "dup@partner.io"),
        user("u-same", "same@partner.io"),
        user("u-int", "kate@example.com"),
    ]
    groups = {"g-parent": ["g-child", "u-int"], "g-child": ["u-new", "u-upd"], "g-ext": ["u-same"]}
    names = {"g-parent": "all-staff", "g-child": "contractors", "g-ext": "=HYPERLINK(1)"}
    accounts = [
        account("a-pat", "pat@partner.io"),
        account("a-kim", "kim@partner.io", active=False),
        account("a-lee", "lee@partner.io"),
        account("a-same", "same@partner.io"),
        account("a-gone", "gone@partner.io"),
    ]
    links = [
        Link(DIR, "u-upd", "a-kim"),
        Link(DIR, "u-off", "a-lee"),
        Link(DIR, "u-same", "a-same"),
        Link(DIR, "u-gone", "a-gone", missing_count=1),
    ]
    managed = [Group("m-ext", "=HYPERLINK(1)", DIR, "g-ext")]
    memberships = [GroupMembership("m-ext", "a-same", DIR)]
    return view(users, groups, names=names), snapshot(accounts, links, managed, memberships)


def test_one_row_per_touched_external_user(settings) -> None:
    v, snap = _world()
    rows = {r.unique_identifier: r for r in review_rows(v, snap, settings)}
    assert {k: (r.action, r.account_id) for k, r in rows.items()} == {
        "u-new": ("create", ""),
        "u-link": ("link", "a-pat"),
        "u-upd": ("update", "a-kim"),
        "u-off": ("deactivate", "a-lee"),
        "u-skip": ("skip", ""),
        "u-dup1": ("conflict", ""),
        "u-dup2": ("conflict", ""),
        "u-gone": ("deactivate", "a-gone"),
    }  # u-same is untouched, u-int is internal
    assert rows["u-new"].groups == ("all-staff", "contractors")  # nested groups included
    assert "external" in rows["u-link"].note and "stay" in rows["u-link"].note
    assert "reactivated" in rows["u-upd"].note
    assert "2 IdP users share" in rows["u-dup1"].note
    assert "absent from 2 full reads" in rows["u-gone"].note
    assert rows["u-off"].active is False and rows["u-new"].active is True


def test_all_adds_internal_users(settings) -> None:
    v, snap = _world()
    rows = {r.unique_identifier: r for r in review_rows(v, snap, settings, include_internal=True)}
    assert rows["u-int"].action == "create" and rows["u-int"].internal


def test_csv_columns_values_and_formula_safety(settings) -> None:
    v = view(
        [user("u1", "=cmd@partner.io", active=False), user("u2", "ann@partner.io")],
        {"g1": ["u2"], "g2": ["u2"]},
        names={"g1": "beta", "g2": "@alpha"},
    )
    out = io.StringIO(newline="")
    assert write_review_csv(review_rows(v, snapshot(), settings), out) == 2
    table = list(csv.reader(io.StringIO(out.getvalue())))
    assert (
        tuple(table[0])
        == COLUMNS
        == ("email", "unique_identifier", "active", "groups", "action", "account_id", "note")
    )
    assert table[1][:6] == ["'=cmd@partner.io", "u1", "no", "", "skip", ""]
    assert table[2][:6] == ["ann@partner.io", "u2", "yes", "'@alpha;beta", "create", ""]


def test_adoption_is_named_in_the_note(settings) -> None:
    v = view([user("u1", "ann@partner.io")], {"g1": ["u1"]}, names={"g1": "jira-users"})
    (row,) = review_rows(v, snapshot([], [], [Group("local-1", "jira-users")]), settings)
    assert "adopts the local group" in row.note


def test_mixed_groups(settings) -> None:
    v = view(
        [user("u1", "kate@example.com"), user("u2", "pat@partner.io"), user("u3", "lee@example.com")],
        {"mixed": ["u1", "nested"], "nested": ["u2"], "inside": ["u1", "u3"]},
        names={"mixed": "all", "nested": "vendors", "inside": "staff"},
    )
    (group,) = mixed_groups(v, settings)
    assert (group.name, group.internal, group.external) == ("all", 1, 1)


def test_internal_or_external_is_decided_by_the_domain_alone(settings) -> None:
    """An address that does not parse is still internal when its domain is verified."""
    v = view(
        [
            user("u-bad-int", "not an address@example.com"),
            user("u-kelvin", "\u212aelvin@example.com"),  # the Kelvin sign, not K
            user("u-bad-ext", "not an address@partner.io"),
        ]
    )
    rows = {r.unique_identifier: r for r in review_rows(v, snapshot([]), settings)}
    assert set(rows) == {"u-bad-ext"} and rows["u-bad-ext"].action == "conflict"
    everyone = {r.unique_identifier: r for r in review_rows(v, snapshot([]), settings, include_internal=True)}
    assert everyone["u-bad-int"].internal and everyone["u-kelvin"].internal
    assert not everyone["u-bad-ext"].internal
