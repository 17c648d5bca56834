"""The HTTP client draws from an installed shared budget before each request and tells it each answer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
import responses
from responses.registries import OrderedRegistry

from connector.net import shared_budget
from connector.net.auth import Authenticator
from connector.net.http import HttpClient
from connector.net.settings import HttpSettings
from connector.net.settings import Secret
from connector.net.shared_budget import Announcement
from connector.net.shared_budget import Target

URL = "https://acme.okta.example/api/v1/users"


class Recording:
    def __init__(self, wait: float = 0.0) -> None:
        self.wait = wait
        self.draws: list[tuple[Target, float]] = []
        self.seen: list[Announcement] = []

    def draw(self, target: Target, share: float) -> float:
        self.draws.append((target, share))
        return self.wait

    def observe(self, target: Target, announced: Announcement, share: float) -> None:
        self.seen.append(announced)


@pytest.fixture
def budget() -> Iterator[Recording]:
    recording = Recording(wait=2.5)
    shared_budget.install(recording)
    yield recording
    shared_budget.install(None)


@responses.activate(registry=OrderedRegistry)
def test_every_request_draws_and_every_answer_is_told(budget: Recording) -> None:
    statuses: list[int] = []
    shared_budget.listen(lambda target, status: statuses.append(status))
    headers = {"X-Rate-Limit-Limit": "600", "X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": "0"}
    responses.get(URL, status=429, json={}, headers={"Retry-After": "7", **headers})
    responses.get(URL, json=[], headers={**headers, "X-Rate-Limit-Remaining": "599"})
    sleeps: list[float] = []
    auth = Authenticator(requests.Session(), (Secret("a-secret-token"),))
    client = HttpClient(auth, HttpSettings(rate_share=0.3), sleep=sleeps.append)
    try:
        client.get_json(URL)
    finally:
        shared_budget._listeners.clear()
    assert [share for _, share in budget.draws] == [0.3, 0.3]
    target = budget.draws[0][0]
    assert target.origin == "https://acme.okta.example"
    assert "a-secret-token" not in repr(target)
    assert [(a.status, a.limit, a.retry_after) for a in budget.seen] == [(429, 600, 7.0), (200, 600, None)]
    assert statuses == [429, 200]
    assert sleeps.count(2.5) == 2  # each draw's wait was slept
