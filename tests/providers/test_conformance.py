"""The three built-in adapters pass the conformance kit (Okta twice: SSWS and private_key_jwt)."""

from __future__ import annotations

import dataclasses

import pytest

from connector.net.paging import okta_pages
from connector.net.settings import AuthSettings
from connector.net.settings import Secret
from connector.providers.base import ProviderSettings
from connector.providers.okta import OktaProvider
from connector.testing import CHECKS
from connector.testing import run_conformance

from .harnesses import OktaHarness


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_builtin_adapter_meets_the_contract(harness, check):
    check(harness)


def test_run_conformance_reports_every_check(harness):
    assert run_conformance(harness) == {c.__name__: None for c in CHECKS}


class _PlainListOkta(OktaProvider):
    """A faulty adapter: lists users without a filter, so DEPROVISIONED users go missing."""

    def iter_users(self):
        for page in okta_pages(self.http, f"{self.base_url}/api/v1/users", {"limit": 5}, self.base_url):
            yield from (self.to_user(raw) for raw in page)


class _AllActiveOkta(OktaProvider):
    """A faulty adapter: calls everybody active."""

    def to_user(self, raw):
        return dataclasses.replace(super().to_user(raw), active=True)


class _FaultyHarness(OktaHarness):
    def __init__(self, provider_class):
        super().__init__()
        self.provider_class = provider_class

    def make_provider(self, http, page_size):
        auth = AuthSettings("ssws", token=Secret(self.secret))
        return self.provider_class(
            ProviderSettings("okta-1", self.base_url, auth, page_size=page_size, http=http)
        )


def test_the_kit_catches_an_adapter_that_misses_deprovisioned_users():
    results = run_conformance(_FaultyHarness(_PlainListOkta))
    assert "users read differ" in results["check_full_read"]


def test_the_kit_catches_a_wrong_active_mapping():
    results = run_conformance(_FaultyHarness(_AllActiveOkta))
    assert "read active=True" in results["check_active_mapping"]
    assert results["check_request_count"] is None
