"""The generator: deterministic, realistic, fast enough for 100k users."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from datetime import timezone

import pytest

from mock_idp.state.directory import OKTA_STATUSES
from mock_idp.state.directory import Directory
from mock_idp.state.fixtures import dump_fixture
from mock_idp.state.generator import generate

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def big() -> Directory:
    return generate(3000, 60, seed=4, now=NOW)


def test_same_seed_same_directory() -> None:
    assert dump_fixture(generate(200, 12, seed=9, now=NOW)) == dump_fixture(
        generate(200, 12, seed=9, now=NOW)
    )


def test_other_seed_other_directory() -> None:
    first = [u.user_name for u in generate(50, 3, seed=1, now=NOW).users.values()]
    second = [u.user_name for u in generate(50, 3, seed=2, now=NOW).users.values()]
    assert first != second


def test_sizes_and_memberships(big: Directory) -> None:
    assert (len(big.users), len(big.groups)) == (3000, 60)
    memberships = sum(len(g.user_ids) for g in big.groups.values())
    assert 2.3 <= memberships / len(big.users) <= 3.5
    per_user = Counter(uid for g in big.groups.values() for uid in g.user_ids)
    assert max(per_user.values()) >= 15  # some users are in very many groups
    assert big.last_seq == len(big.users) + len(big.groups) + memberships + sum(
        len(g.group_ids) for g in big.groups.values()
    )


def test_internal_and_external_users(big: Directory) -> None:
    domains = Counter(u.user_name.rsplit("@", 1)[1].lower() for u in big.users.values())
    internal = domains["example.com"] / len(big.users)
    assert 0.75 <= internal <= 0.95
    assert {"gmail.com", "outlook.com"} & set(domains)
    assert {"acme-consulting.com", "northwind-partners.io"} & set(domains)


def test_every_status_appears(big: Directory) -> None:
    statuses = Counter(u.status for u in big.users.values())
    assert set(statuses) == set(OKTA_STATUSES)
    assert statuses["ACTIVE"] > len(big.users) * 0.7


def test_guests_look_like_entra_b2b(big: Directory) -> None:
    guests = [u for u in big.users.values() if u.user_type == "Guest"]
    assert guests
    for guest in guests:
        assert guest.creation_type == "Invitation"
        assert guest.external_user_state in ("PendingAcceptance", "Accepted")
        assert guest.upn.endswith("#EXT#@example.onmicrosoft.com")
        assert guest.email in guest.other_mails
    assert {g.external_user_state for g in guests} == {"PendingAcceptance", "Accepted"}


def test_case_variants_shared_emails_and_non_ascii_names() -> None:
    small = generate(12, 3, seed=0, now=NOW)  # even a tiny directory shows each feature
    users = list(small.users.values())
    assert any(
        u.email and u.email != u.email.lower() and u.email.lower() == u.user_name.lower() for u in users
    )
    emails = Counter(u.email.lower() for u in users if u.email)
    shared = [e for e, n in emails.items() if n > 1]
    assert shared
    owners = [u.user_name for u in users if u.email and u.email.lower() == shared[0]]
    assert len(set(owners)) == len(owners) == 2
    assert any(u.user_type == "Guest" for u in users)
    assert {"SUSPENDED", "DEPROVISIONED", "STAGED"} <= {u.status for u in users}
    big_names = " ".join(
        f"{u.given_name} {u.family_name}" for u in generate(400, 2, seed=3, now=NOW).users.values()
    )
    assert not big_names.isascii()
    assert any(ch in big_names for ch in "éëŁø山ü")


def test_user_names_are_unique_case_insensitively(big: Directory) -> None:
    names = [u.user_name.lower() for u in big.users.values()]
    assert len(set(names)) == len(names)


def test_nested_groups_without_cycle_unless_asked() -> None:
    def has_cycle(directory: Directory) -> bool:
        state: dict[str, int] = {}

        def visit(gid: str) -> bool:
            state[gid] = 1
            for child in directory.groups[gid].group_ids:
                if state.get(child) == 1 or (child not in state and visit(child)):
                    return True
            state[gid] = 2
            return False

        return any(gid not in state and visit(gid) for gid in list(directory.groups))

    plain = generate(100, 20, seed=5, now=NOW)
    assert any(g.group_ids for g in plain.groups.values())
    assert not has_cycle(plain)
    assert has_cycle(generate(100, 20, seed=5, now=NOW, cycle=True))
    assert has_cycle(generate(10, 3, seed=5, now=NOW, cycle=True))  # Everyone is not in it


def test_timestamps_are_in_the_past_and_ordered(big: Directory) -> None:
    for user in list(big.users.values())[:500]:
        assert user.created <= user.last_updated <= NOW


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        generate(-1, 2)
    with pytest.raises(ValueError, match="at least three groups"):
        generate(5, 2, cycle=True)


def test_empty_and_group_free_directories() -> None:
    assert len(generate(0, 0).users) == 0
    assert len(generate(5, 0, seed=1).users) == 5


def test_a_large_directory_keeps_its_proportions() -> None:
    # 100k users / 1k groups take a few seconds (figure in docs/mock-idp.md); a fifth of it here
    directory = generate(20_000, 200, seed=1)
    memberships = sum(len(g.user_ids) for g in directory.groups.values())
    assert len(directory.users) == 20_000 and len(directory.groups) == 200
    assert 50_000 <= memberships <= 70_000
    assert len({u.user_name.lower() for u in directory.users.values()}) == 20_000
