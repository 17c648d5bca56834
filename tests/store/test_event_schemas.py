"""Every event type has a JSON Schema in docs/events/, and the events a varied history writes
(every type among them) are valid against their type's schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from builders import user
from fakes import seeded

from connector.rules import events as ev
from connector.rules.settings import SyncSettings
from connector.run.sync import sync_directory
from connector.store import Store

DOCS = Path(__file__).resolve().parents[2] / "docs" / "events"
SETTINGS = SyncSettings(verified_domains=("example.com",))


def schema(event_type: str) -> dict:
    return json.loads((DOCS / f"{event_type}.schema.json").read_text())


def test_there_is_one_schema_per_event_type_and_no_other() -> None:
    assert sorted(p.name.removesuffix(".schema.json") for p in DOCS.glob("*.schema.json")) == sorted(
        ev.EVENT_TYPES
    )
    for event_type in ev.EVENT_TYPES:
        jsonschema.Draft202012Validator.check_schema(schema(event_type))


def test_every_type_a_history_writes_is_valid_against_its_schema(store: Store) -> None:
    store.set_verified_domains(["example.com"])
    store.set_product_grants({"jira": ["Group 0"]})
    provider = seeded(users=12, groups=2)
    d = provider.directory_id
    provider.put_user(user(20, email="shared@example.com"))
    provider.put_user(user(21, email="shared@example.com"))
    provider.put_user(user(30, domain="partner.io"))
    sync_directory(provider, store, SETTINGS)
    provider.update_user("u1", display_name="Renamed", active=False, raw_status="SUSPENDED")
    provider.update_user("u2", display_name="New Name")
    provider.put_group("g1", "Group One")
    provider.remove_member("g0", "u4")
    sync_directory(provider, store, SETTINGS)
    provider.update_user("u1", active=True, raw_status="ACTIVE")
    sync_directory(provider, store, SETTINGS)
    chosen = store.add_account("shared@example.com")
    store.link_by_hand(d, "u20", chosen.account_id)
    for n in range(12):
        provider.delete_user(f"u{n}")
    assert sync_directory(provider, store, SETTINGS, full=True).outcome == "guard_tripped"
    found = store.events(limit=1000)
    assert {e.type for e in found} == set(ev.EVENT_TYPES)
    for event in found:
        try:
            jsonschema.validate(
                event.to_dict(), schema(event.type), format_checker=jsonschema.FormatChecker()
            )
        except jsonschema.ValidationError as exc:  # pragma: no cover - the message names the event
            pytest.fail(f"{event.type}: {exc.message}\n{json.dumps(event.to_dict(), indent=1)}")
