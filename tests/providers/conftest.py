"""Fixtures for the adapter tests: fakes of each IdP (the signing key and fast HTTP settings are in
``tests/conftest.py``, shared with the network layer's tests)."""

from __future__ import annotations

import pytest
import responses
from joserfc.jwk import RSAKey
from responses.registries import OrderedRegistry

from connector.net.settings import AuthSettings
from connector.net.settings import HttpSettings
from connector.net.settings import Secret
from connector.providers.base import ProviderSettings
from connector.providers.okta import OktaProvider

from .harnesses import GraphHarness
from .harnesses import OktaHarness
from .harnesses import ScimHarness


@pytest.fixture
def rsps():
    """Mocked HTTP answering each registered response once, in order."""
    with responses.RequestsMock(registry=OrderedRegistry) as mock_:
        yield mock_


@pytest.fixture
def okta(fast_http: HttpSettings) -> OktaProvider:
    """An Okta adapter for ``https://okta.test`` with an SSWS token."""
    settings = ProviderSettings(
        "okta-1", "https://okta.test", AuthSettings("ssws", token=Secret("tok-1234")), http=fast_http
    )
    provider = OktaProvider.from_settings(settings)
    yield provider
    provider.close()


@pytest.fixture(params=["okta", "okta_jwt", "graph", "scim"])
def harness(request: pytest.FixtureRequest, rsa_key: RSAKey) -> object:
    return {
        "okta": lambda: OktaHarness(),
        "okta_jwt": lambda: OktaHarness(jwt_key=rsa_key),
        "graph": GraphHarness,
        "scim": ScimHarness,
    }[request.param]()
