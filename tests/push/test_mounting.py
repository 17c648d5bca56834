"""docs/push.md's example of mounting the push app inside a gateway's WSGI app, run as written."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client

from connector.store import Store
from connector.store.registry import OrganizationEntry
from tests.push.conftest import USER_SCHEMA
from tests.push.conftest import add_push_directory

DOC = Path(__file__).resolve().parents[2] / "docs" / "push.md"


def mount_example() -> str:
    found = re.search(r"<!-- mount-example -->\n```python\n(.*?)```", DOC.read_text(), re.S)
    assert found, "docs/push.md lost its mount example"
    return found.group(1)


def test_the_documented_mount_serves_under_the_prefix(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Store.open(store_url) as store:
        store.save_organization(OrganizationEntry("acme", "Acme", ("example.com",)))
        token = add_push_directory(store, "acme", "okta-push")
    monkeypatch.setenv("CONNECTOR_STORE_URL", store_url)
    namespace: dict[str, Any] = {"__name__": "gateway_example"}
    exec(compile(mount_example(), str(DOC), "exec"), namespace)
    client = Client(namespace["gateway"])
    assert client.get("/health").text == "ok"
    base = "/idp/scim/v2/acme/okta-push"
    auth = {"Authorization": f"Bearer {token}"}
    body = {"schemas": [USER_SCHEMA], "userName": "ann@example.com", "active": True}
    created = client.post(f"{base}/Users", json=body, headers=auth)
    assert created.status_code == 201, created.text
    assert created.headers["Location"].startswith(f"http://localhost{base}/Users/")
    assert created.json["meta"]["location"] == created.headers["Location"]
    assert client.get(f"{base}/Users", headers={"Authorization": "Bearer x"}).status_code == 401
    assert client.get("/scim/v2/acme/okta-push/Users", headers=auth).status_code == 404  # the gateway's
    namespace["gateway"].wsgi_app.mounts["/idp"].extensions["idp-connector-push"].store.close()
