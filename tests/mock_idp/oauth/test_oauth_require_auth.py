"""``require_auth`` for Graph and SCIM (Okta's goes through its routes in test_okta_auth.py)."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta
from datetime import timezone

import pytest
from flask import Flask

from mock_idp.oauth import views as oauth
from mock_idp.oauth.views import Principal
from mock_idp.oauth.views import Refused
from mock_idp.oauth.views import auth_failure_response
from mock_idp.oauth.views import require_auth
from mock_idp.okta import views as okta
from mock_idp.state.directory import ApiToken
from mock_idp.state.directory import Directory

T0 = datetime(2026, 1, 5, 9, 0, 0, tzinfo=timezone.utc)
USERS = ("User.Read.All", "Directory.Read.All")
MEMBERS = ("GroupMember.Read.All", "Group.Read.All", "Directory.Read.All")


@pytest.fixture
def directory(clock) -> Directory:  # type: ignore[no-untyped-def]
    d = Directory(seed=8, clock=clock)
    d.add_api_token(ApiToken("scim-all", "scim", name="unrestricted"))
    d.add_api_token(ApiToken("scim-ro", "scim", ("scim.read",), name="read only"))
    d.add_api_token(ApiToken("okta-ssws", "okta", name="ssws"))
    return d


@pytest.fixture
def app(blueprint_app) -> Flask:  # type: ignore[no-untyped-def]
    return blueprint_app()


def check(app: Flask, dialect: str, scopes, authorization: str | None) -> Principal:
    headers = {"Authorization": authorization} if authorization is not None else {}
    with app.test_request_context("/v1.0/users", headers=headers):
        return require_auth(dialect, scopes)  # type: ignore[arg-type]


def refused(app: Flask, dialect: str, scopes, authorization: str | None) -> Refused:
    with pytest.raises(Refused) as caught:
        check(app, dialect, scopes, authorization)
    return caught.value


# ---------------------------------------------------------------------------- Graph


def test_graph_token_with_any_of_the_roles(app, directory):
    token = directory.issue_token("app", "graph", ["Directory.Read.All"]).token
    principal = check(app, "graph", USERS, f"Bearer {token}")
    assert principal.name == "app" and principal.kind == "access_token"
    assert check(app, "graph", MEMBERS, f"Bearer {token}").dialect == "graph"


@pytest.mark.parametrize("header", [None, "", "Bearer", "Basic abc", "SSWS okta-ssws"])
def test_graph_empty_token(app, header):
    failure = refused(app, "graph", USERS, header)
    assert (failure.status, failure.code, failure.message) == (
        401,
        "InvalidAuthenticationToken",
        "Access token is empty.",
    )
    assert failure.challenge and failure.challenge.startswith("Bearer ")


def test_graph_expired_token(app, directory, clock):
    token = directory.issue_token("app", "graph", ["User.Read.All"], lifetime=3599).token
    clock.now = T0 + timedelta(seconds=3600)
    failure = refused(app, "graph", USERS, f"Bearer {token}")
    assert failure.status == 401
    assert failure.message == "Access token has expired or is not yet valid."


def test_graph_unknown_and_foreign_tokens(app, directory):
    assert refused(app, "graph", USERS, "Bearer garbage").status == 401
    okta_token = directory.issue_token("svc", "okta", ["okta.users.read"]).token
    failure = refused(app, "graph", USERS, f"Bearer {okta_token}")
    assert failure.status == 401 and "audience" in failure.message


def test_graph_missing_role(app, directory):
    token = directory.issue_token("app", "graph", ["User.Read.All"]).token
    failure = refused(app, "graph", MEMBERS, f"Bearer {token}")
    assert (failure.status, failure.code, failure.message) == (
        403,
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
    )


# ---------------------------------------------------------------------------- SCIM


def test_scim_static_tokens(app):
    assert check(app, "scim", ["scim.write"], "Bearer scim-all").scopes is None
    assert check(app, "scim", ["scim.read"], "Bearer scim-ro").kind == "api_token"
    failure = refused(app, "scim", ["scim.write"], "Bearer scim-ro")
    assert failure.status == 403
    assert 'error="insufficient_scope"' in (failure.challenge or "")


def test_scim_issued_token_and_expiry(app, directory, clock):
    token = directory.issue_token("scim-client", "scim", ["scim.read"], lifetime=60).token
    assert check(app, "scim", ["scim.read"], f"Bearer {token}").name == "scim-client"
    clock.now = T0 + timedelta(seconds=60)
    failure = refused(app, "scim", ["scim.read"], f"Bearer {token}")
    assert failure.status == 401
    assert 'error="invalid_token"' in (failure.challenge or "")


@pytest.mark.parametrize(
    "header", [None, "Bearer nope", "Bearer okta-ssws", "SSWS scim-all", "Basic c2NpbQ=="]
)
def test_scim_refusals_carry_a_bearer_challenge(app, header):
    failure = refused(app, "scim", ["scim.read"], header)
    assert failure.status == 401
    assert failure.code is None
    assert failure.challenge and failure.challenge.startswith('Bearer realm="scim"')


def test_scim_token_issued_for_okta_is_refused(app, directory):
    token = directory.issue_token("svc", "okta", ["okta.users.read"]).token
    assert refused(app, "scim", [], f"Bearer {token}").status == 401


def test_no_scope_requirement(app):
    assert check(app, "okta", [], "SSWS okta-ssws").scopes is None


# ---------------------------------------------------------------------------- rendering


def test_auth_failure_response_adds_the_challenge(app):
    failure = Refused(403, "denied", code="E0000006", challenge='Bearer error="insufficient_scope"')
    with app.test_request_context("/api/v1/users"):
        response = auth_failure_response(failure, okta.renderer)
    assert response.status_code == 403
    assert response.headers["WWW-Authenticate"] == 'Bearer error="insufficient_scope"'


def test_app_wide_handler_renders_in_the_paths_dialect(blueprint_app):
    app = blueprint_app(oauth.blueprint)

    @app.get("/api/v1/probe")
    def probe() -> str:
        require_auth("okta", ["okta.users.read"])
        return "ok"

    @app.get("/_admin/probe")
    def admin_probe() -> str:
        raise Refused(401, "no")

    client = app.test_client()
    response = client.get("/api/v1/probe", headers={"Authorization": "Bearer nothing"})
    assert response.status_code == 401
    assert response.json["errorCode"] == "E0000011"
    assert "invalid_token" in response.headers["WWW-Authenticate"]
    assert client.get("/api/v1/probe", headers={"Authorization": "SSWS okta-ssws"}).data == b"ok"
    assert client.get("/_admin/probe").status_code == 401
