"""A store with organization ``acme`` (verifying example.com) and its push directory ``okta-push``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from connector.config.records import secret_context
from connector.push import create_app
from connector.push.auth import sealed_token_check
from connector.store import Store
from connector.store.registry import DirectoryEntry
from connector.store.registry import OrganizationEntry
from connector.vault import Vault

TOKEN = "push-token-0123456789"
BASE = "/scim/v2/acme/okta-push"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@pytest.fixture
def vault() -> Vault:
    return Vault.from_keys(Vault.generate_key())


def add_push_directory(store: Store, vault: Vault, org: str, directory: str, token: str, **kw: Any) -> None:
    sealed = vault.seal(token, context=secret_context(org, directory, "token"))
    entry = DirectoryEntry(
        org, directory, "okta", mode="push", settings=kw.pop("settings", {}), secrets={"token": sealed}, **kw
    )
    store.save_directory(entry)


@pytest.fixture
def acme(store: Store, vault: Vault) -> Iterator[Store]:
    store.save_organization(
        OrganizationEntry("acme", "Acme", ("example.com",), product_grants={"jira": ("Engineering",)})
    )
    add_push_directory(store, vault, "acme", "okta-push", TOKEN)
    scoped = store.for_org("acme")
    yield scoped
    scoped.close()


@pytest.fixture
def app(acme: Store, vault: Vault) -> Flask:
    return create_app(acme, token_check=sealed_token_check(vault))


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {TOKEN}"
    return client


def new_user(client: FlaskClient, user_name: str, **extra: Any) -> dict[str, Any]:
    body = {"schemas": [USER_SCHEMA], "userName": user_name, "active": True, **extra}
    body.setdefault("emails", [{"primary": True, "value": user_name, "type": "work"}])
    response = client.post(f"{BASE}/Users", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def patch(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_SCHEMA], "Operations": list(operations)}
