"""The push service's door: the tokens ``directories token`` issues open their own directory only."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient

from connector.config.records import secret_context
from connector.push import create_app
from connector.store import Store
from connector.store.registry import DirectoryEntry
from connector.store.registry import OrganizationEntry
from connector.vault import Vault
from tests.push.conftest import BASE
from tests.push.conftest import add_push_directory
from tests.push.conftest import new_user


def _get(app: Flask, path: str, token: str) -> tuple[int, dict[str, object], dict[str, str]]:
    answer = app.test_client().get(path, headers={"Authorization": f"Bearer {token}"})
    return answer.status_code, answer.get_json() or {}, dict(answer.headers)


def test_an_issued_token_opens_its_directory(app: Flask, token: str) -> None:
    status, body, _ = _get(app, f"{BASE}/Users", token)
    assert status == 200 and body["totalResults"] == 0
    okta_header_mode = app.test_client().get(f"{BASE}/Users", headers={"Authorization": token})
    assert okta_header_mode.status_code == 200


def test_another_directory_or_organization_token_is_401_and_tells_nothing(
    store: Store, app: Flask, client: FlaskClient, token: str
) -> None:
    new_user(client, "ann@example.com")
    sibling = add_push_directory(store, "acme", "entra-push")
    store.save_organization(OrganizationEntry("globex", "Globex", ("globex.example",)))
    foreign = add_push_directory(store, "globex", "okta-push")  # same directory id, other organization
    refusals = [
        _get(app, f"{BASE}/Users", sibling),
        _get(app, f"{BASE}/Users", foreign),
        _get(app, "/scim/v2/acme/entra-push/Users", token),
        _get(app, "/scim/v2/globex/okta-push/Users", token),
        _get(app, f"{BASE}/Users", token[:-1] + ("A" if token[-1] != "A" else "B")),
        _get(app, f"{BASE}/Users", "not-a-token"),
    ]
    bodies = set()
    for status, body, headers in refusals:
        assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")
        assert "ann@example.com" not in str(body) and "Resources" not in body
        bodies.add(str(body))
    assert len(bodies) == 1  # the same answer whatever was wrong: nothing learned
    assert _get(app, "/scim/v2/acme/entra-push/Users", sibling)[0] == 200
    assert _get(app, "/scim/v2/globex/okta-push/Users", foreign)[0] == 200


def test_after_a_rotation_both_tokens_work_within_the_grace(acme: Store, app: Flask, token: str) -> None:
    rotated = acme.issue_push_token("okta-push", rotate=True, grace=timedelta(hours=1))
    assert rotated != token
    assert _get(app, f"{BASE}/Users", token)[0] == 200
    assert _get(app, f"{BASE}/Users", rotated)[0] == 200
    acme.issue_push_token("okta-push", rotate=True, grace=timedelta(0))  # one leaked: stop both now
    assert _get(app, f"{BASE}/Users", token)[0] == 401
    assert _get(app, f"{BASE}/Users", rotated)[0] == 401


def test_a_sealed_directory_secret_is_no_token(store: Store, acme: Store) -> None:
    """A ``--secret-stdin`` value sealed with the directory is not a way in: only issued tokens are."""
    vault = Vault.from_keys(Vault.generate_key())
    secret = "push-token-0123456789"
    sealed = vault.seal(secret, context=secret_context("acme", "okta-push", "token"))
    store.save_directory(DirectoryEntry("acme", "okta-push", "okta", mode="push", secrets={"token": sealed}))
    assert _get(create_app(acme), f"{BASE}/Users", secret)[0] == 401
