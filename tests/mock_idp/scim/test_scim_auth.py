"""SCIM dialect auth: missing, invalid, expired and foreign tokens (401), too few scopes (403)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask

from mock_idp.scim import views as scim
from mock_idp.state.directory import ApiToken
from mock_idp.state.directory import Directory


@pytest.fixture
def directory(clock) -> Directory:  # type: ignore[no-untyped-def]
    return Directory(seed=11, clock=clock)


@pytest.fixture
def app(blueprint_app) -> Flask:  # type: ignore[no-untyped-def]
    return blueprint_app(scim.blueprint)


@pytest.fixture
def anonymous(app: Flask):  # type: ignore[no-untyped-def]
    return app.test_client()


def refused(anonymous, headers: dict[str, str], status: int, method: str = "get") -> dict:  # type: ignore[no-untyped-def]
    response = getattr(anonymous, method)("/scim/v2/Users", headers=headers, json={"userName": "x"})
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/scim+json"
    body = response.get_json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"] and body["status"] == str(
        status
    )
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    return body


def test_missing_and_invalid_tokens(anonymous) -> None:
    refused(anonymous, {}, 401)
    refused(anonymous, {"Authorization": "Bearer nope"}, 401)
    refused(anonymous, {"Authorization": "Basic c2NpbTpzY2lt"}, 401)


def test_expired_token(anonymous, directory: Directory, clock) -> None:  # type: ignore[no-untyped-def]
    token = directory.issue_token("client", "scim", ["scim.read"], lifetime=60).token
    assert anonymous.get("/scim/v2/Users", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    clock.now += timedelta(minutes=5)
    refused(anonymous, {"Authorization": f"Bearer {token}"}, 401)


def test_read_token_cannot_write(anonymous, directory: Directory) -> None:
    token = directory.issue_token("client", "scim", ["scim.read"]).token
    refused(anonymous, {"Authorization": f"Bearer {token}"}, 403, method="post")


def test_other_dialects_tokens(anonymous, directory: Directory) -> None:
    graph = directory.issue_token("app", "graph", ["User.Read.All"]).token
    refused(anonymous, {"Authorization": f"Bearer {graph}"}, 401)
    directory.add_api_token(ApiToken("okta-ssws", "okta"))
    refused(anonymous, {"Authorization": "Bearer okta-ssws"}, 401)
    refused(anonymous, {"Authorization": "SSWS okta-ssws"}, 401)
