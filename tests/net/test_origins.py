"""Credentials go only to the origin they were configured for: one rule for next links and redirects."""

from __future__ import annotations

import pytest
import requests
import responses

from connector.errors import AuthError
from connector.errors import IncompleteReadError
from connector.errors import TerminalError
from connector.net.auth import Authenticator
from connector.net.http import HttpClient
from connector.net.origins import same_origin
from connector.net.paging import okta_pages
from connector.net.settings import AuthSettings
from connector.net.settings import HttpSettings
from connector.net.settings import Secret
from connector.providers.azure_ad import AzureADProvider
from connector.providers.base import ProviderSettings

BASE = "https://acme.okta.test"


@pytest.mark.parametrize(
    ("url", "same"),
    [
        (f"{BASE}/api/v1/users?after=x", True),
        ("https://acme.okta.test:443/api/v1/users", True),
        ("https://ACME.okta.test/api", True),
        ("http://acme.okta.test/api", False),
        ("https://acme.okta.test:8443/api", False),
        ("https://evil.test/api", False),
        ("https://acme.okta.test.evil.test/api", False),
        ("https://user@evil.test/api", False),
        ("https://acme.okta.test:notaport/api", False),
    ],
)
def test_same_origin_is_scheme_host_and_port(url: str, same: bool) -> None:
    assert same_origin(url, BASE) is same


@pytest.fixture
def client() -> HttpClient:
    auth = Authenticator(requests.Session(), (Secret("the-secret-token"),))
    auth.session.headers["Authorization"] = "SSWS the-secret-token"
    return HttpClient(auth, HttpSettings(max_retries=0), sleep=lambda _: None)


def test_a_redirect_to_another_origin_is_refused_and_not_followed(client: HttpClient) -> None:
    with responses.RequestsMock() as rsps:
        rsps.get(f"{BASE}/api/v1/users", status=302, headers={"Location": "https://evil.test/api/v1/users"})
        with pytest.raises(TerminalError, match="redirected to evil.test, another origin; not followed"):
            client.get_json(f"{BASE}/api/v1/users")
        assert [c.request.url for c in rsps.calls] == [f"{BASE}/api/v1/users"]


def test_a_redirect_within_the_origin_is_followed(client: HttpClient) -> None:
    with responses.RequestsMock() as rsps:
        rsps.get(f"{BASE}/api/v1/users", status=301, headers={"Location": "/api/v2/users"})
        rsps.get(f"{BASE}/api/v2/users", json=[{"id": "u1"}])
        body, _ = client.get_json(f"{BASE}/api/v1/users")
    assert body == [{"id": "u1"}]


def test_endless_redirects_stop(client: HttpClient) -> None:
    with responses.RequestsMock() as rsps:
        rsps.get(f"{BASE}/loop", status=302, headers={"Location": f"{BASE}/loop"})
        with pytest.raises(TerminalError, match="redirected more than"):
            client.get_json(f"{BASE}/loop")


def test_a_next_link_to_another_origin_is_refused(client: HttpClient) -> None:
    with responses.RequestsMock() as rsps:
        rsps.get(
            f"{BASE}/api/v1/users",
            json=[{"id": "u1"}],
            headers={"Link": '<https://evil.test/api/v1/users?after=u1>; rel="next"'},
        )
        with pytest.raises(IncompleteReadError, match="another host"):
            list(okta_pages(client, f"{BASE}/api/v1/users", {"limit": 1}, BASE))


def test_a_token_endpoint_redirect_is_not_followed() -> None:
    token_url = "https://login.test/tenant-1/oauth2/v2.0/token"
    auth = AuthSettings("client_secret", client_id="app-1", client_secret=Secret("client-secret-value"))
    options = {"tenant": "tenant-1", "authority": "https://login.test"}
    settings = ProviderSettings("d1", "https://graph.test/v1.0", auth, options=options)
    provider = AzureADProvider(settings)
    try:
        with responses.RequestsMock() as rsps:
            rsps.post(token_url, status=307, headers={"Location": "https://evil.test/token"})
            with pytest.raises(AuthError, match="redirect"):
                list(provider.iter_users())
            assert [c.request.url for c in rsps.calls] == [token_url]
    finally:
        provider.close()
