"""The worked example of docs/adding-a-provider.md runs and passes the conformance kit."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import ModuleType
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest

from connector.net.settings import AuthSettings
from connector.net.settings import HttpSettings
from connector.net.settings import Secret
from connector.providers.base import ProviderSettings
from connector.testing import CHECKS

DOC = Path(__file__).resolve().parents[2] / "docs" / "adding-a-provider.md"


def _example() -> ModuleType:
    code = re.search(r"```python\n# acme_connector/provider.py\n(.*?)```", DOC.read_text(), re.S).group(1)
    module = ModuleType("acme_connector_provider")
    exec(compile(code, str(DOC), "exec"), module.__dict__)  # the doc's own code, as a reader would paste it
    return module


ACME = _example()


class AcmeHarness:
    base_url = "https://acme.test"
    members_paged = True
    nested_groups = False
    secret = "acme-token-123456"

    def make_provider(self, http, page_size):
        auth = AuthSettings("bearer", token=Secret(self.secret))
        return ACME.AcmeProvider(
            ProviderSettings("acme-1", self.base_url, auth, page_size=page_size, http=http)
        )

    def is_token_request(self, request):
        return False

    def error(self, status, code, message):
        return {"Content-Type": "application/json"}, json.dumps({"error": {"code": code, "text": message}})

    def serve(self, request, directory):
        if request.headers.get("Authorization") != f"Bearer {self.secret}":
            return (401, *self.error(401, "UNAUTHENTICATED", "bad token"))
        path = urlsplit(request.url).path
        query = {k: v[-1] for k, v in parse_qs(urlsplit(request.url).query).items()}
        people = {
            u.id: {
                "id": u.id,
                "login": u.user_name,
                "email": u.email,
                "state": "enabled" if u.active else u.status.lower(),
            }
            for u in directory.users
        }
        if path == "/v2/people":
            return self._page("people", list(people.values()), query)
        if path == "/v2/teams":
            teams = [{"id": g.id, "name": g.name, "about": g.description} for g in directory.groups]
            return self._page("teams", teams, query)
        match = re.fullmatch(r"/v2/teams/([^/]+)/people", path)
        if match:
            team = next((g for g in directory.groups if g.id == match.group(1)), None)
            if team is None:
                return (404, *self.error(404, "NOT_FOUND", "no such team"))
            return self._page("people", [people[i] for i in team.user_ids], query)
        return (404, *self.error(404, "NOT_FOUND", "no such path"))

    def _page(self, key, items, query):
        start = int(query.get("page_token", 0))
        size = int(query["page_size"])
        body = {key: items[start : start + size], "total": len(items)}
        if start + size < len(items):
            body["next_page_token"] = str(start + size)
        return 200, {"Content-Type": "application/json"}, json.dumps(body)


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_the_documented_adapter_meets_the_contract(check):
    check(AcmeHarness())


def test_the_documented_check_reports_trouble_instead_of_raising():
    settings = ProviderSettings(
        "acme-1",
        "http://127.0.0.1:9",  # nobody answers
        AuthSettings("bearer", token=Secret("acme-token-123456")),
        http=HttpSettings(max_retries=0),
    )
    provider = ACME.AcmeProvider(settings)
    try:
        result = provider.check()
    finally:
        provider.close()
    assert result.ok is False
    assert "connection refused" in result.detail
    assert result.error is not None and result.error.exit_code == 4
