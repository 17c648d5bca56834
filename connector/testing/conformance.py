"""The conformance checks an adapter must pass, driven through the author's :class:`Harness`.

Each check is a plain function ``check(harness) -> None`` that raises
``AssertionError`` with a reason.  Run them all with :func:`run_conformance`,
or one per test with ``pytest.mark.parametrize("check", CHECKS)``.

The kit patches ``time.sleep`` while a check runs, so waits cost nothing and
are recorded: an adapter must wait through ``time.sleep`` (as
:mod:`connector.net.http` does) for the retry checks to see it honour
``Retry-After``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol
from unittest import mock

import requests
import responses

from connector.errors import AuthError
from connector.errors import IncompleteReadError
from connector.errors import NotFoundError
from connector.errors import ProviderError
from connector.errors import RateLimitedError
from connector.errors import RetryableError
from connector.errors import TerminalError
from connector.model import MemberKind
from connector.net.settings import HttpSettings
from connector.providers.base import Provider
from connector.testing.directory import KitDirectory
from connector.testing.directory import sample_directory
from connector.testing.fake import FakeIdp
from connector.testing.fake import Fault

PAGE_SIZE = 5
KIT_HTTP = HttpSettings(max_retries=2, backoff_base=0.01, backoff_max=0.05, max_total_wait=30.0)


class Harness(Protocol):
    """What an adapter author writes so the kit can drive the adapter.

    ``serve`` renders the kit's directory in the IdP's wire format, honouring
    the page size the adapter asks for and giving a next link only while more
    remains; it answers the token endpoint too, and 404s an unknown group.
    """

    base_url: str
    members_paged: bool  # False when one request returns a whole group's members (SCIM)
    nested_groups: bool  # False when the IdP has no groups inside groups (Okta)
    secret: str  # the credential the adapter is given; must never show in an error or repr

    def make_provider(self, http: HttpSettings, page_size: int) -> Provider:
        """The adapter under test, pointed at ``base_url`` with these settings."""
        ...

    def serve(
        self, request: requests.PreparedRequest, directory: KitDirectory
    ) -> tuple[int, dict[str, str], str]:
        """Answer one request: ``(status, headers, body)``."""
        ...

    def error(self, status: int, code: str, message: str) -> tuple[dict[str, str], str]:
        """Headers and body of an error in the IdP's own shape, carrying ``code``."""
        ...

    def is_token_request(self, request: requests.PreparedRequest) -> bool:
        """True for a request to the token endpoint."""
        ...


class Run:
    """One check's world: the fake IdP, the adapter, and the recorded sleeps."""

    def __init__(self, harness: Harness, fake: FakeIdp, provider: Provider, sleeps: list[float]) -> None:
        self.harness = harness
        self.fake = fake
        self.provider = provider
        self.sleeps = sleeps

    def read_all(self) -> tuple[list, list, dict]:
        users = list(self.provider.iter_users())
        groups = list(self.provider.iter_groups())
        members = {g.idp_group_id: list(self.provider.iter_members(g.idp_group_id)) for g in groups}
        return users, groups, members


@contextmanager
def running(
    harness: Harness, directory: KitDirectory | None = None, http: HttpSettings = KIT_HTTP
) -> Iterator[Run]:
    """The fake IdP on ``responses``, an adapter, and ``time.sleep`` recorded instead of slept."""
    sleeps: list[float] = []
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake = FakeIdp(harness, directory or sample_directory(), rsps)
        with mock.patch("time.sleep", sleeps.append):
            provider = harness.make_provider(http, PAGE_SIZE)
            try:
                yield Run(harness, fake, provider, sleeps)
            finally:
                provider.close()


def _pages(n: int) -> int:
    return max(1, math.ceil(n / PAGE_SIZE))


def expected_requests(harness: Harness, directory: KitDirectory) -> int:
    """⌈U/page⌉ + ⌈G/page⌉ + Σ⌈members/page⌉ (one request a group when members are not paged).

    The sample directory avoids exact multiples of the page size, where an
    adapter may spend one more request confirming the end (Okta does).
    """
    count = _pages(len(directory.users)) + _pages(len(directory.groups))
    for group in directory.groups:
        size = len(group.user_ids) + (len(group.group_ids) if harness.nested_groups else 0)
        count += _pages(size) if harness.members_paged else 1
    return count


# ---------------------------------------------------------------------- the checks


def check_full_read(harness: Harness) -> None:
    """Every user, group and direct member comes back, with ids, names, emails and kinds."""
    directory = sample_directory()
    with running(harness, directory) as run:
        users, groups, members = run.read_all()
    got = {u.idp_user_id: u for u in users}
    assert len(got) == len(users), "a user was read twice"
    assert set(got) == {u.id for u in directory.users}, "users read differ from the directory"
    for kit in directory.users:
        user = got[kit.id]
        if not kit.guest:  # a guest's login is IdP-specific (Entra: the #EXT# UPN)
            assert user.user_name == kit.user_name, f"user {kit.id}: user_name {user.user_name!r}"
        assert user.email == kit.email, f"user {kit.id}: email {user.email!r}, expected {kit.email!r}"
    assert {g.idp_group_id: g.name for g in groups} == {g.id: g.name for g in directory.groups}
    for kit_group in directory.groups:
        want = {(m, MemberKind.USER) for m in kit_group.user_ids}
        if harness.nested_groups:
            want |= {(m, MemberKind.GROUP) for m in kit_group.group_ids}
        have = {(m.member_id, m.kind) for m in members[kit_group.id]}
        assert have == want, f"members of {kit_group.id} differ: {sorted(have ^ want)[:5]}"


def check_active_mapping(harness: Harness) -> None:
    """``active`` follows docs/contract.md, "Map", for every status; inactive users are read too."""
    directory = sample_directory()
    with running(harness, directory) as run:
        users = {u.idp_user_id: u for u in run.provider.iter_users()}
    for kit in directory.users:
        assert kit.id in users, f"user {kit.id} ({kit.status}) was not read"
        assert users[kit.id].active is kit.active, (
            f"user {kit.id} ({kit.status}) read active={users[kit.id].active}"
        )
        assert users[kit.id].raw_status, f"user {kit.id} has no raw_status"


def check_request_count(harness: Harness) -> None:
    """A full read costs exactly the pages it needs plus at most one token request."""
    directory = sample_directory()
    with running(harness, directory) as run:
        run.read_all()
        want = expected_requests(harness, directory)
        assert run.fake.api_requests == want, f"{run.fake.api_requests} API requests, expected {want}"
        assert run.fake.token_requests <= 1, (
            f"{run.fake.token_requests} token requests; the token is not cached"
        )
        assert run.provider.request_count == len(run.fake.requests), "request_count does not match the wire"


def check_retry_429(harness: Harness) -> None:
    """429, 429, 200: the read completes and waits what ``Retry-After`` asked."""
    with running(harness) as run:
        headers, body = harness.error(429, "rate_limited", "slow down")
        for wait in ("1", "2"):
            run.fake.inject(Fault(status=429, headers={**headers, "Retry-After": wait}, body=body))
        users = list(run.provider.iter_users())
        assert len(users) == len(sample_directory().users), "users lost after 429s"
        assert run.sleeps[:2] == [1.0, 2.0], f"waits were {run.sleeps}, expected Retry-After 1 then 2"


def check_retry_5xx_and_drops(harness: Harness) -> None:
    """A 503 and a dropped connection are retried; the read completes."""
    with running(harness) as run:
        headers, body = harness.error(503, "unavailable", "try later")
        run.fake.inject(Fault(status=503, headers=headers, body=body))
        run.fake.inject(Fault(drop=True))
        users = list(run.provider.iter_users())
        assert len(users) == len(sample_directory().users), "users lost after a 503 and a drop"
        assert len(run.sleeps) >= 2, "retries did not back off"


def check_5xx_gives_up(harness: Harness) -> None:
    """A 500 that never ends raises a retryable error after a bounded number of tries."""
    with running(harness) as run:
        headers, body = harness.error(500, "boom", "internal")
        run.fake.inject(Fault(status=500, headers=headers, body=body, times=None))
        _expect(RetryableError, lambda: list(run.provider.iter_users()))
        assert run.fake.api_requests == KIT_HTTP.max_retries + 1, f"{run.fake.api_requests} tries"


def check_429_budget(harness: Harness) -> None:
    """A 429 storm ends with RateLimitedError once the total wait budget is spent."""
    with running(harness) as run:
        headers, body = harness.error(429, "rate_limited", "slow down")
        run.fake.inject(Fault(status=429, headers={**headers, "Retry-After": "7"}, body=body, times=None))
        _expect(RateLimitedError, lambda: list(run.provider.iter_users()))
        assert sum(run.sleeps) <= KIT_HTTP.max_total_wait, f"waited {sum(run.sleeps)}s, over budget"


def check_truncated_page(harness: Harness) -> None:
    """A page cut off once is read again; cut off every time, the read raises."""
    with running(harness) as run:
        run.fake.inject(Fault(truncate=True))
        assert len(list(run.provider.iter_users())) == len(sample_directory().users)
    with running(harness) as run:
        run.fake.inject(Fault(truncate=True, times=None))
        _expect(IncompleteReadError, lambda: list(run.provider.iter_users()))


def check_malformed_page(harness: Harness) -> None:
    """A well-formed JSON body of the wrong shape mid-sequence raises; it never shortens the read."""
    with running(harness) as run:
        users = run.provider.iter_users()
        next(users)
        run.fake.inject(Fault(garble=True, times=None))
        _expect(IncompleteReadError, lambda: list(users))


def check_error_translation(harness: Harness) -> None:
    """401/403 are AuthError, an unknown group NotFoundError, a 400 terminal at once with the IdP's code."""
    for status in (401, 403):
        with running(harness) as run:
            headers, body = harness.error(status, f"E{status}", "refused")
            run.fake.inject(Fault(status=status, headers=headers, body=body, times=None))
            error = _expect(AuthError, lambda: list(run.provider.iter_users()))
            assert error.status == status, f"AuthError.status {error.status}, expected {status}"
    with running(harness) as run:
        error = _expect(NotFoundError, lambda: list(run.provider.iter_members("no-such-group")))
        assert error.status == 404, f"NotFoundError.status is {error.status}"
    with running(harness) as run:
        headers, body = harness.error(400, "bad", "bad request")
        run.fake.inject(Fault(status=400, headers=headers, body=body, times=None))
        error = _expect(TerminalError, lambda: list(run.provider.iter_users()))
        assert not error.retryable and run.fake.api_requests == 1, "a 400 was retried"
        assert error.code == "bad", f"the IdP's code 'bad' is not carried (code={error.code!r})"


def check_secret_never_shown(harness: Harness) -> None:
    """The credential is absent from the adapter's repr and from errors, even when the IdP echoes it."""
    with running(harness) as run:
        assert harness.secret not in repr(run.provider), "the secret shows in the adapter's repr"
        headers, body = harness.error(401, "E401", f"token {harness.secret} refused")
        run.fake.inject(Fault(status=401, headers=headers, body=body, times=None))
        error = _expect(ProviderError, lambda: list(run.provider.iter_users()))
        for text in (str(error), repr(error), str(error.args)):
            assert harness.secret not in text, "the secret shows in an error"


def check_changes_cursor(harness: Harness) -> None:
    """``changes(None)`` is an empty change set whose cursor marks now."""
    with running(harness) as run:
        if not run.provider.supports_changes:
            return
        first = run.provider.changes(None)
        assert first.is_empty and first.cursor, "changes(None) must be empty with a cursor"


CHECKS: tuple[Callable[[Harness], None], ...] = (
    check_full_read,
    check_active_mapping,
    check_request_count,
    check_retry_429,
    check_retry_5xx_and_drops,
    check_5xx_gives_up,
    check_429_budget,
    check_truncated_page,
    check_malformed_page,
    check_error_translation,
    check_secret_never_shown,
    check_changes_cursor,
)


def run_conformance(harness: Harness) -> dict[str, str | None]:
    """Run every check; map check name -> None (passed) or the failure's reason."""
    results: dict[str, str | None] = {}
    for check in CHECKS:
        try:
            check(harness)
            results[check.__name__] = None
        except AssertionError as exc:
            results[check.__name__] = str(exc) or "failed"
        except Exception as exc:  # an adapter that crashes fails the check, it does not stop the run
            results[check.__name__] = f"{type(exc).__name__}: {exc}"
    return results


def _expect(kind: type[ProviderError], action: Callable[[], object]) -> ProviderError:
    try:
        action()
    except kind as exc:
        return exc
    except ProviderError as exc:
        raise AssertionError(f"expected {kind.__name__}, got {type(exc).__name__}: {exc}") from exc
    raise AssertionError(f"expected {kind.__name__}, nothing was raised")
