"""A store with organization ``acme`` (verifying example.com) and its push directory ``okta-push``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from connector.push import create_app
from connector.store import Store
from connector.store.registry import DirectoryEntry
from connector.store.registry import OrganizationEntry

BASE = "/scim/v2/acme/okta-push"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def add_push_directory(store: Store, org: str, directory: str, **kw: Any) -> str:
    """Store push directory ``directory`` of ``org`` (which must exist) and issue its token."""
    store.save_directory(
        DirectoryEntry(org, directory, "okta", mode="push", settings=kw.pop("settings", {}), **kw)
    )
    scoped = store.for_org(org)
    try:
        return scoped.issue_push_token(directory)
    finally:
        scoped.close()


@pytest.fixture
def acme(store: Store) -> Iterator[Store]:
    store.save_organization(
        OrganizationEntry("acme", "Acme", ("example.com",), product_grants={"jira": ("Engineering",)})
    )
    scoped = store.for_org("acme")
    yield scoped
    scoped.close()


@pytest.fixture
def token(store: Store, acme: Store) -> str:
    """The issued token of acme's push directory ``okta-push``."""
    return add_push_directory(store, "acme", "okta-push")


@pytest.fixture
def app(acme: Store, token: str) -> Flask:
    return create_app(acme)


@pytest.fixture
def client(app: Flask, token: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def new_user(client: FlaskClient, user_name: str, **extra: Any) -> dict[str, Any]:
    body = {"schemas": [USER_SCHEMA], "userName": user_name, "active": True, **extra}
    body.setdefault("emails", [{"primary": True, "value": user_name, "type": "work"}])
    response = client.post(f"{BASE}/Users", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def patch(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_SCHEMA], "Operations": list(operations)}
