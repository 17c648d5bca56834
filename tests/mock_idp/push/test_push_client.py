"""The push client's retries (Retry-After honoured, waits capped) and its report."""

from __future__ import annotations

from typing import Any

from mock_idp.push.client import RetryPolicy
from mock_idp.push.record import PushRecord
from mock_idp.push.run import make_dialect
from mock_idp.push.run import push
from mock_idp.push.source import from_directory
from mock_idp.state.directory import Directory

BASE = "https://scim.example.test/scim/v2"  # the recording service's (conftest.py)
FakeScim = Any  # the recording service, conftest.py


def test_waits_honour_an_integer_retry_after_and_double() -> None:
    policy = RetryPolicy(attempts=10, default_wait=300, max_wait=1000)
    assert [policy.wait(n, "7") for n in (1, 2, 3)] == [7, 14, 28]
    assert policy.wait(1, "Wed, 21 Oct 2026 07:28:00 GMT") == 300  # not an integer: the default
    assert RetryPolicy(10, 300, 30).wait(4, None) == 30


def test_429_and_5xx_are_retried_then_succeed(fake_scim: FakeScim, small: Directory) -> None:
    fake_scim.queue += [(429, {"Retry-After": "2"}, {"detail": "slow down"}), (503, {}, None)]
    waits: list[float] = []
    dialect = make_dialect("okta", BASE, "t", sleep=waits.append)
    report = push(from_directory(small), PushRecord("okta", BASE), dialect)
    assert waits == [2, 30]  # Retry-After 2 s, then Okta's 5 min doubled, capped at 30 s
    assert report.retries == 2 and report.failures == []
    assert report.requests["GET"] == 2 + 2 + 1  # the first look-up three times


def test_failures_are_reported_with_status_and_body_and_retried_next_run(
    fake_scim: FakeScim, small: Directory
) -> None:
    fake_scim.queue += [(200, {}, {"Resources": []}), (409, {}, {"detail": "uniqueness: taken"})]
    record = PushRecord("entra", BASE)
    report = push(from_directory(small), record, make_dialect("entra", BASE, "t", sleep=lambda s: None))
    (failure,) = report.failures
    assert (failure.method, failure.path, failure.status) == ("POST", "/Users", 409)
    assert "uniqueness: taken" in failure.body
    assert len(record.users) == 1 and record.last_seq == -1
    again = push(from_directory(small), record, make_dialect("entra", BASE, "t", sleep=lambda s: None))
    assert again.failures == [] and len(record.users) == 2
    assert again.actions["user created"] == 1


def test_the_token_is_sent_but_never_reported(fake_scim: FakeScim, small: Directory) -> None:
    fake_scim.queue.append((500, {}, {"detail": "boom"}))
    dialect = make_dialect("entra", BASE, "secret-token-value", sleep=lambda s: None)
    dialect.client.policy = RetryPolicy(1, 0, 0)
    report = push(from_directory(small), PushRecord("entra", BASE), dialect)
    assert fake_scim.sent[0].headers["Authorization"] == "Bearer secret-token-value"
    assert report.failures and "secret-token-value" not in repr(report.to_json())
