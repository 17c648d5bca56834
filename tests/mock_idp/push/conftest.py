"""A recording SCIM service (``responses``) and a small directory to push from."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
import responses

from mock_idp.state.directory import Directory

BASE = "https://scim.example.test/scim/v2"
TOKEN = "push-test-token"


@dataclass
class Sent:
    """One request the fake service received."""

    method: str
    path: str
    query: dict[str, list[str]]
    raw_query: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeScim:
    """Answers like a lenient SCIM service: nothing found, POSTs get ids ``u1``, ``g1``, ...;
    ``queue`` holds canned (status, headers, body) answers served first."""

    base: str = BASE
    token: str = TOKEN
    sent: list[Sent] = field(default_factory=list)
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    queue: list[tuple[int, dict[str, str], Any]] = field(default_factory=list)
    counter: int = 0

    def handle(self, request: Any) -> tuple[int, dict[str, str], str]:
        parts = urlsplit(request.url)
        body = json.loads(request.body) if request.body else None
        path = parts.path[len(urlsplit(BASE).path) :]
        self.sent.append(
            Sent(request.method, path, parse_qs(parts.query), parts.query, dict(request.headers), body)
        )
        if self.queue:
            status, headers, answer = self.queue.pop(0)
            return status, headers, json.dumps(answer) if answer is not None else ""
        if request.method == "GET" and path in ("/Users", "/Groups"):
            empty = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 0}
            return 200, {}, json.dumps({**empty, "Resources": []})
        if request.method == "POST":
            self.counter += 1
            scim_id = f"{path[1].lower()}{self.counter}"
            self.resources[scim_id] = {**body, "id": scim_id, "meta": {"resourceType": path[1:-1]}}
            return 201, {}, json.dumps(self.resources[scim_id])
        if request.method == "GET":
            return 200, {}, json.dumps(self.resources[path.rsplit("/", 1)[1]])
        if request.method == "DELETE":
            return 204, {}, ""
        return 200, {}, json.dumps(body)

    def requests(self, method: str | None = None) -> list[Sent]:
        return [s for s in self.sent if method is None or s.method == method]


@pytest.fixture
def fake_scim() -> Iterator[FakeScim]:
    fake = FakeScim()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            mock.add_callback(method, re.compile(re.escape(BASE) + r".*"), callback=fake.handle)
        yield fake


@pytest.fixture
def small() -> Directory:
    """Two users (one suspended) and one group holding both, plus Okta's Everyone."""
    d = Directory(seed=21)
    d.add_group("Everyone", built_in=True)
    alice = d.add_user(
        "alice@example.com",
        email="alice@example.com",
        given_name="Alice",
        family_name="Smith",
        upn="alice@contoso.onmicrosoft.com",
        title="Engineer",
        department="R&D",
        employee_number="42",
    )
    bob = d.add_user("bob@example.com", email="bob@example.com", given_name="Bob", family_name="Jones")
    d.set_status(bob.object_id, "SUSPENDED")
    group = d.add_group("Engineering")
    d.add_member(group.object_id, alice.object_id)
    d.add_member(group.object_id, bob.object_id)
    return d
