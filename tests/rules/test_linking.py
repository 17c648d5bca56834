"""Link decisions (PRODUCT.md, "A sync run", step 3), one table row a rule."""

from __future__ import annotations

import pytest
from builders import DIR
from builders import account
from builders import snapshot
from builders import user
from builders import view

from connector.model import Link
from connector.rules.linking import LinkKind
from connector.rules.linking import decide_links

DOMAINS = ("example.com",)

CASES = [
    pytest.param(
        [user("u1", "Kate@EXAMPLE.com")],
        [account("a1", "kate@example.com")],
        [],
        {"u1": (LinkKind.LINK, "a1")},
        id="case-variant-links",
    ),
    pytest.param(
        [user("u1", "kate@example.com")],
        [],
        [],
        {"u1": (LinkKind.CREATE, None)},
        id="no-account-creates",
    ),
    pytest.param(
        [user("u1", "kate@other.io")],
        [account("a1", "kate@example.com")],
        [Link(DIR, "u1", "a1")],
        {"u1": (LinkKind.LINKED, "a1")},
        id="existing-link-wins-over-email",
    ),
    pytest.param(
        [user("u1", "\u212aate@example.com")],
        [account("a1", "kate@example.com")],
        [],
        {"u1": (LinkKind.CONFLICT, "KELVIN SIGN")},
        id="kelvin-sign-is-a-conflict",
    ),
    pytest.param(
        [user("u1", "fıle@example.com")],
        [account("a1", "file@example.com")],
        [],
        {"u1": (LinkKind.CONFLICT, "look-alike")},
        id="dotless-i-is-a-conflict",
    ),
    pytest.param(
        [user("u1", "\u00c9LODIE@example.com")],
        [account("a1", "\u00e9lodie@example.com")],
        [],
        {"u1": (LinkKind.CONFLICT, "only after Unicode case folding")},
        id="unicode-case-only-is-a-conflict",
    ),
    pytest.param(
        [user("u1", "kate@example.com"), user("u2", "KATE@example.com")],
        [account("a1", "kate@example.com")],
        [],
        {"u1": (LinkKind.CONFLICT, "2 IdP users share"), "u2": (LinkKind.CONFLICT, "2 IdP users share")},
        id="two-idp-users-one-email",
    ),
    pytest.param(
        [user("u1", "kate@example.com")],
        [account("a1", "kate@example.com"), account("a2", "Kate@Example.com")],
        [],
        {"u1": (LinkKind.CONFLICT, "2 accounts share")},
        id="two-accounts-one-email",
    ),
    pytest.param(
        [user("u1", "kate@example.com"), user("u2", "kate@example.com", active=False)],
        [account("a1", "kate@example.com")],
        [Link(DIR, "u0", "a1")],
        {"u1": (LinkKind.CONFLICT, "already linked to identity u0"), "u2": (LinkKind.SKIP, "inactive")},
        id="account-linked-to-another-identity",
    ),
    pytest.param(
        [user("u1", "kate@example.com")],
        [account("a1", "kate@example.com")],
        [Link("azure-other", "x9", "a1")],
        {"u1": (LinkKind.LINK, "a1")},
        id="linked-in-another-directory-is-fine",
    ),
    pytest.param(
        [user("u1", "kate@example.com", active=False)],
        [],
        [],
        {"u1": (LinkKind.SKIP, "inactive in the IdP")},
        id="inactive-unlinked-skipped",
    ),
    pytest.param(
        [user("u1", "kate@example.com", active=False)],
        [account("a1", "kate@example.com")],
        [Link(DIR, "u1", "a1")],
        {"u1": (LinkKind.LINKED, "a1")},
        id="inactive-linked-keeps-link",
    ),
    pytest.param(
        [user("u1", "not-an-email"), user("u2", None)],
        [],
        [],
        {"u1": (LinkKind.CONFLICT, "not a valid email"), "u2": (LinkKind.CONFLICT, "no email")},
        id="invalid-or-missing-email",
    ),
    pytest.param(
        [user("u1", "kate.smith+jira@example.com"), user("u2", "katesmith@example.com")],
        [account("a1", "kate.smith@example.com")],
        [],
        {"u1": (LinkKind.CREATE, None), "u2": (LinkKind.CREATE, None)},
        id="no-plus-or-dot-folding",
    ),
    pytest.param(
        [user("u1", "\u0430lice@example.com"), user("u2", "alice@example.com")],
        [],
        [],
        {"u1": (LinkKind.CONFLICT, "also new"), "u2": (LinkKind.CONFLICT, "also new")},
        id="two-new-lookalikes",
    ),
    pytest.param(
        [user("u1", "pat@partner.io")],
        [account("a1", "PAT@PARTNER.IO")],
        [],
        {"u1": (LinkKind.LINK, "a1")},
        id="external-links-too",
    ),
]


@pytest.mark.parametrize(("users", "accounts", "links", "expected"), CASES)
def test_link_decisions(users, accounts, links, expected) -> None:
    result = decide_links(view(users), snapshot(accounts, links), DOMAINS)
    for idp_user_id, (kind, detail) in expected.items():
        decision = result.decisions[idp_user_id]
        assert decision.kind is kind, decision
        if kind in (LinkKind.LINK, LinkKind.LINKED):
            assert decision.account_id == detail
        elif detail is not None:
            assert detail in decision.reason
    conflicted = {c.idp_user_id for c in result.conflicts}
    assert conflicted == {u for u, (k, _) in expected.items() if k is LinkKind.CONFLICT}
    assert {s for s, _ in result.skipped} == {u for u, (k, _) in expected.items() if k is LinkKind.SKIP}


def test_conflict_lists_the_accounts_involved() -> None:
    result = decide_links(
        view([user("u1", "kate@example.com")]),
        snapshot([account("a2", "KATE@example.com"), account("a1", "kate@example.com")]),
        DOMAINS,
    )
    (conflict,) = result.conflicts
    assert conflict.account_ids == ("a1", "a2")
    assert conflict.email == "kate@example.com"


def test_steady_state_never_parses_accounts(monkeypatch: pytest.MonkeyPatch) -> None:
    import connector.rules.linking as linking

    def boom(*args: object) -> None:
        raise AssertionError("the account index was built")

    monkeypatch.setattr(linking._AccountIndex, "__init__", boom)
    result = decide_links(
        view([user("u1", "kate@example.com")]),
        snapshot([account("a1", "x@example.com")], [Link(DIR, "u1", "a1")]),
        DOMAINS,
    )
    assert result.decisions["u1"].kind is LinkKind.LINKED


MANAGED_CASES = [
    pytest.param(
        [user("p1", "ceo@example.com")],
        [account("a-ceo", "ceo@example.com")],
        [Link("okta-primary", "o1", "a-ceo")],
        (),
        {"p1": (LinkKind.CONFLICT, "a domain this directory does not manage")},
        id="partner-holds-an-internal-address",
    ),
    pytest.param(
        [user("p1", "new.hire@example.com")],
        [],
        [],
        (),
        {"p1": (LinkKind.CONFLICT, "a domain this directory does not manage")},
        id="no-internal-account-created-either",
    ),
    pytest.param(
        [user("p1", "ceo@example.com")],
        [account("a-ceo", "ceo@example.com")],
        [],
        ("example.com",),
        {"p1": (LinkKind.LINK, "a-ceo")},
        id="the-managing-directory-links",
    ),
    pytest.param(
        [user("p1", "vendor@partner.io")],
        [account("a-v", "vendor@partner.io")],
        [Link("okta-primary", "o9", "a-v")],
        (),
        {"p1": (LinkKind.CONFLICT, "already linked to identity o9 of directory 'okta-primary'")},
        id="external-account-already-another-directorys",
    ),
    pytest.param(
        [user("p1", "vendor@partner.io")],
        [account("a-v", "vendor@partner.io")],
        [],
        (),
        {"p1": (LinkKind.LINK, "a-v")},
        id="external-address-links-from-any-directory",
    ),
]


@pytest.mark.parametrize(("users", "accounts", "links", "managed", "expected"), MANAGED_CASES)
def test_only_the_managing_directory_links_internal_addresses(
    users, accounts, links, managed, expected
) -> None:
    """docs/contract.md, "Managed domains"; found by a hostile test: a partner SCIM identity with an
    executive's internal address linked to the executive's account and kept it active."""
    result = decide_links(view(users), snapshot(accounts, links), DOMAINS, managed)
    for idp_user_id, (kind, detail) in expected.items():
        decision = result.decisions[idp_user_id]
        assert decision.kind is kind, decision
        if kind is LinkKind.LINK:
            assert decision.account_id == detail
        else:
            assert detail in decision.reason
