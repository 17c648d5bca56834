"""Whatever a token endpoint answers becomes an authentication error (exit 3) with its own words.

An OAuth error (``error`` / ``error_description``), Okta's error shape (``errorCode`` /
``errorSummary``), a 200 without ``access_token``, a token type other than Bearer, JSON
that is not an object, a body that is not JSON: none of them may escape as a traceback.
"""

from __future__ import annotations

import pytest
import responses
from responses.registries import OrderedRegistry

from connector.errors import AuthError
from connector.net.settings import AuthSettings
from connector.net.settings import HttpSettings
from connector.net.settings import Secret
from connector.providers.azure_ad import AzureADProvider
from connector.providers.base import ProviderSettings

GRAPH = "https://graph.test/v1.0"
TOKEN_URL = "https://login.test/tenant-1/oauth2/v2.0/token"
SECRET = "client-secret-value-42"


@pytest.fixture
def graph():
    auth = AuthSettings("client_secret", client_id="app-1", client_secret=Secret(SECRET))
    http = HttpSettings(max_retries=1, backoff_base=0.01, backoff_max=0.02, max_total_wait=5.0)
    options = {"tenant": "tenant-1", "authority": "https://login.test"}
    provider = AzureADProvider(ProviderSettings("d1", GRAPH, auth, http=http, options=options))
    yield provider
    provider.close()


ANSWERS = [
    pytest.param(
        400,
        {"errorCode": "E0000021", "errorSummary": "Bad request. Accept and/or Content-Type headers"},
        "E0000021: Bad request. Accept and/or Content-Type headers",
        id="okta-error-shape",
    ),
    pytest.param(
        401, {"error": "invalid_client", "error_description": "no such app"}, "invalid_client", id="oauth"
    ),
    pytest.param(400, {"message": "something odd"}, "answered 400", id="unknown-error-shape"),
    pytest.param(200, {"token_type": "Bearer", "expires_in": 3600}, "without an access_token", id="no-token"),
    pytest.param(
        200, {"access_token": 12345, "token_type": "Bearer"}, "without an access_token", id="token-int"
    ),
    pytest.param(
        200, {"access_token": "t", "token_type": "MAC", "expires_in": 3600}, "'MAC' token", id="mac-token"
    ),
    pytest.param(200, {"access_token": "t", "expires_in": 3600}, "'None' token", id="no-token-type"),
    pytest.param(
        200, {"access_token": "t", "token_type": "Bearer", "expires_in": "soon"}, "expires_in", id="expiry"
    ),
    pytest.param(200, ["access_token", "t"], "not a JSON object", id="json-list"),
    pytest.param(200, "a string", "not a JSON object", id="json-string"),
]


@pytest.mark.parametrize(("status", "body", "says"), ANSWERS)
def test_every_token_answer_is_an_auth_error_naming_what_came(graph, status, body, says):
    with responses.RequestsMock(registry=OrderedRegistry) as rsps:
        rsps.post(TOKEN_URL, status=status, json=body)
        with pytest.raises(AuthError) as info:
            list(graph.iter_users())
    assert says in str(info.value)
    assert info.value.exit_code == 3
    assert SECRET not in str(info.value)


def test_html_instead_of_json_is_an_auth_error(graph):
    with responses.RequestsMock() as rsps:
        rsps.post(TOKEN_URL, status=200, body="<html><body>Sign in</body></html>", content_type="text/html")
        with pytest.raises(AuthError, match="without a JSON body"):
            list(graph.iter_users())


def test_a_huge_error_message_is_cut(graph):
    with responses.RequestsMock() as rsps:
        rsps.post(TOKEN_URL, status=400, json={"errorCode": "E1", "errorSummary": "x" * 100_000})
        with pytest.raises(AuthError) as info:
            list(graph.iter_users())
    assert len(str(info.value)) < 1000
