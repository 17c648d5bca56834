"""Bearer tokens of push directories, on SQLite and PostgreSQL: issued once, kept as a hash,
checked without exceptions for any input, rotated with an overlap, scoped by organization."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from datetime import timedelta
from datetime import timezone

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis_profiles import examples
from sqlalchemy import text

from connector.errors import ConfigError
from connector.store import Store
from connector.store.push_tokens import DEFAULT_GRACE
from connector.store.push_tokens import PREFIX
from connector.store.registry import DirectoryEntry
from connector.store.registry import OrganizationEntry

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=timezone.utc)


def add_directory(store: Store, org: str, directory_id: str, mode: str = "push") -> None:
    if store.organization_entry(org) is None:
        store.save_organization(OrganizationEntry(org_id=org, name=org))
    store.save_directory(
        DirectoryEntry(org_id=org, directory_id=directory_id, provider="scim", mode=mode, settings={})
    )


@pytest.fixture
def acme(store: Store) -> Iterator[Store]:
    """Organization ``acme`` with push directories ``okta`` and ``entra`` and pull directory ``pull``;
    ``globex`` has a push directory ``okta`` too."""
    add_directory(store, "acme", "okta")
    add_directory(store, "acme", "entra")
    add_directory(store, "acme", "pull", mode="pull")
    add_directory(store, "globex", "okta")
    yield store.for_org("acme")


def raw_rows(store: Store) -> list[tuple[object, ...]]:
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT * FROM push_tokens"))]


def test_an_issued_token_checks_and_names_its_row(acme: Store) -> None:
    token = acme.issue_push_token("okta", now=T0)
    assert token.startswith(PREFIX)
    assert acme.check_push_token("okta", token, now=T0)
    [info] = acme.push_token_info("okta", now=T0)
    assert token.startswith(f"{PREFIX}{info.token_id}_")
    assert info.created_at == T0 and info.expires_at is None


def test_the_table_holds_a_hash_never_the_token(acme: Store) -> None:
    token = acme.issue_push_token("okta", now=T0)
    secret = token[len(PREFIX) + 17 :]  # idpc_<16 hex digits>_<secret>
    dump = repr(raw_rows(acme))
    assert token not in dump and secret not in dump
    assert "hash" not in repr(acme.push_token_info("okta"))


def test_wrong_tokens_fail(acme: Store) -> None:
    token = acme.issue_push_token("okta", now=T0)
    other = acme.issue_push_token("entra", now=T0)
    globex = acme.for_org("globex").issue_push_token("okta", now=T0)
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    for wrong in (flipped, other, globex, token + "x", token.upper()):
        assert not acme.check_push_token("okta", wrong, now=T0)
    assert not acme.check_push_token("entra", token, now=T0)
    assert not acme.for_org("globex").check_push_token("okta", token, now=T0)
    assert acme.for_org("globex").check_push_token("okta", globex, now=T0)


@pytest.mark.parametrize(
    "malformed",
    [
        "",
        "idpc_",
        "Bearer x",
        "x" * 100_000,
        "idpc_é_ü",
        "\ud800",
        "\x00",
        PREFIX + "0" * 16 + "_" + "A" * 43,
    ],
)
def test_malformed_tokens_fail_without_exceptions(acme: Store, malformed: str) -> None:
    acme.issue_push_token("okta", now=T0)
    assert acme.check_push_token("okta", malformed, now=T0) is False
    assert acme.check_push_token("nowhere", malformed, now=T0) is False


def test_a_rotation_keeps_the_old_token_until_the_grace_ends(acme: Store) -> None:
    old = acme.issue_push_token("okta", now=T0)
    with pytest.raises(ConfigError, match="rotate it"):
        acme.issue_push_token("okta", now=T0)
    rotated_at = T0 + timedelta(days=3)
    new = acme.issue_push_token("okta", rotate=True, now=rotated_at)
    end = rotated_at + DEFAULT_GRACE
    assert acme.check_push_token("okta", old, now=end - timedelta(seconds=1))
    assert acme.check_push_token("okta", new, now=end - timedelta(seconds=1))
    assert [i.expires_at for i in acme.push_token_info("okta", now=rotated_at)] == [end, None]
    assert not acme.check_push_token("okta", old, now=end)
    assert acme.check_push_token("okta", new, now=end + timedelta(days=365))
    assert len(acme.push_token_info("okta", now=end)) == 1


def test_a_second_rotation_never_lengthens_an_overlap_and_cleans_up_expired_rows(acme: Store) -> None:
    first = acme.issue_push_token("okta", now=T0)
    second = acme.issue_push_token("okta", rotate=True, grace=timedelta(hours=1), now=T0)
    acme.issue_push_token("okta", rotate=True, grace=timedelta(days=7), now=T0 + timedelta(minutes=30))
    assert not acme.check_push_token("okta", first, now=T0 + timedelta(hours=2))
    assert acme.check_push_token("okta", second, now=T0 + timedelta(days=6))
    assert len(raw_rows(acme)) == 3
    acme.issue_push_token("okta", rotate=True, grace=timedelta(0), now=T0 + timedelta(hours=2))
    assert len(raw_rows(acme)) == 3  # the first is gone; the second and third ended now, the fourth works
    assert not acme.check_push_token("okta", second, now=T0 + timedelta(hours=2))


def test_pull_unknown_and_negative_grace_are_refused(acme: Store) -> None:
    with pytest.raises(ConfigError, match="'pull' is a pull directory"):
        acme.issue_push_token("pull")
    with pytest.raises(ConfigError, match="no directory 'nowhere'"):
        acme.issue_push_token("nowhere")
    with pytest.raises(ConfigError, match="negative"):
        acme.issue_push_token("okta", grace=timedelta(seconds=-1))
    assert raw_rows(acme) == []


def test_revoke_and_directory_removal(acme: Store) -> None:
    token = acme.issue_push_token("okta")
    acme.issue_push_token("okta", rotate=True)
    assert acme.revoke_push_tokens("okta") == 2
    assert not acme.check_push_token("okta", token)
    assert acme.push_token_info("okta") == []
    acme.issue_push_token("entra")
    acme.remove_directory("acme", "entra")
    acme.for_org("globex").issue_push_token("okta")
    acme.remove_organization("globex")
    assert raw_rows(acme) == []


def test_a_directory_turned_pull_takes_no_token(acme: Store) -> None:
    token = acme.issue_push_token("okta")
    add_directory(acme, "acme", "okta", mode="pull")
    assert not acme.check_push_token("okta", token)


@settings(
    max_examples=examples(100),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    guess=st.one_of(
        st.text(),
        st.text(alphabet="0123456789abcdef", min_size=16, max_size=16).map(
            lambda s: f"{PREFIX}{s}_{'A' * 43}"
        ),
        st.binary(max_size=64).map(lambda b: PREFIX + b.hex()),
    ),
    later=st.integers(min_value=0, max_value=3),
)
def test_any_string_checks_false_but_the_issued_unexpired_ones(acme: Store, guess: str, later: int) -> None:
    acme.revoke_push_tokens("okta")
    old = acme.issue_push_token("okta", now=T0)
    new = acme.issue_push_token("okta", rotate=True, grace=timedelta(days=2), now=T0)
    globex = acme.for_org("globex")
    globex.revoke_push_tokens("okta")
    theirs = globex.issue_push_token("okta", now=T0)
    now = T0 + timedelta(days=later)
    for candidate in (guess, guess + old, old[:-1], theirs):
        assert acme.check_push_token("okta", candidate, now=now) is (candidate in {old, new} and later < 2)
    assert acme.check_push_token("okta", old, now=now) is (later < 2)
    assert acme.check_push_token("okta", new, now=now)
    assert acme.check_push_token("entra", guess, now=now) is False
