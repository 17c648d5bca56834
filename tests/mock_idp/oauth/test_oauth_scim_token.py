"""SCIM ``POST /scim/oauth2/token``: client credentials with a secret, in the form or HTTP Basic."""

from __future__ import annotations

import base64

import pytest
from flask.testing import FlaskClient

from mock_idp.oauth import views as oauth
from mock_idp.state.directory import Directory
from mock_idp.state.directory import OAuthClient

CLIENT_ID = "scim-client"
SECRET = "s3cret/with:colon"


@pytest.fixture
def directory() -> Directory:
    d = Directory(seed=6)
    d.add_client(
        OAuthClient(CLIENT_ID, "scim", "client_secret", ("scim.read", "scim.write"), client_secret=SECRET)
    )
    d.add_client(OAuthClient("graph-app", "graph", "client_secret", ("User.Read.All",), client_secret=SECRET))
    return d


@pytest.fixture
def client(blueprint_app) -> FlaskClient:  # type: ignore[no-untyped-def]
    return blueprint_app(oauth.blueprint).test_client()


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def assert_error(response, status: int, error: str) -> None:
    assert response.status_code == status, response.json
    assert set(response.json) == {"error", "error_description"}
    assert response.json["error"] == error
    assert response.headers["Cache-Control"] == "no-store"


def test_form_credentials_get_every_scope_by_default(client, directory):
    form = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": SECRET}
    response = client.post("/scim/oauth2/token", data=form)
    assert response.status_code == 200
    body = response.json
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert body["scope"] == "scim.read scim.write"
    issued = directory.issued_tokens[body["access_token"]]
    assert issued.dialect == "scim" and issued.client_id == CLIENT_ID


def test_basic_credentials_and_a_narrower_scope(client):
    form = {"grant_type": "client_credentials", "scope": "scim.read"}
    response = client.post("/scim/oauth2/token", data=form, headers=basic(CLIENT_ID, SECRET))
    assert response.status_code == 200
    assert response.json["scope"] == "scim.read"


def test_bad_secret_over_basic_gets_a_basic_challenge(client):
    response = client.post(
        "/scim/oauth2/token", data={"grant_type": "client_credentials"}, headers=basic(CLIENT_ID, "nope")
    )
    assert_error(response, 401, "invalid_client")
    assert response.headers["WWW-Authenticate"].startswith("Basic ")


@pytest.mark.parametrize(
    "form",
    [
        {"client_id": CLIENT_ID, "client_secret": "wrong"},
        {"client_id": "nobody", "client_secret": SECRET},
        {"client_id": "graph-app", "client_secret": SECRET},
        {"client_id": CLIENT_ID},
        {},
    ],
)
def test_refused_clients(client, form):
    response = client.post("/scim/oauth2/token", data={"grant_type": "client_credentials", **form})
    assert_error(response, 401, "invalid_client")


def test_credentials_twice_is_invalid_request(client):
    form = {"grant_type": "client_credentials", "client_secret": SECRET}
    response = client.post("/scim/oauth2/token", data=form, headers=basic(CLIENT_ID, SECRET))
    assert_error(response, 400, "invalid_request")


@pytest.mark.parametrize(
    ("grant", "error"), [(None, "invalid_request"), ("password", "unsupported_grant_type")]
)
def test_grant_type_errors(client, grant, error):
    form = {"client_id": CLIENT_ID, "client_secret": SECRET}
    if grant:
        form["grant_type"] = grant
    assert_error(client.post("/scim/oauth2/token", data=form), 400, error)


def test_scope_not_granted(client):
    form = {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
        "scope": "scim.admin",
    }
    response = client.post("/scim/oauth2/token", data=form)
    assert_error(response, 400, "invalid_scope")
    assert "scim.admin" in response.json["error_description"]
