"""An Entra app's certificates: the default app's test certificate, and certificates in fixtures."""

from __future__ import annotations

import json
from datetime import datetime
from datetime import timezone
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from mock_idp.state.certificates import registered_certificate
from mock_idp.state.certificates import self_signed_certificate
from mock_idp.state.credentials import add_default_credentials
from mock_idp.state.credentials import default_credentials
from mock_idp.state.credentials import known_certificate_key
from mock_idp.state.directory import Directory
from mock_idp.state.fixtures import SAMPLE_FIXTURE
from mock_idp.state.fixtures import FixtureError
from mock_idp.state.fixtures import dump_fixture
from mock_idp.state.fixtures import load_fixture


def test_the_default_entra_app_holds_the_shipped_certificate_of_the_shipped_key() -> None:
    directory = Directory(seed=5)
    creds = add_default_credentials(directory)
    assert creds is not None
    graph = directory.clients[creds.graph_client_id]
    assert graph.certificates == (creds.graph_certificate_pem,)
    assert graph.client_secret == creds.graph_client_secret  # the secret stays: an app holds both
    assert known_certificate_key(graph) == (creds.graph_certificate_pem, creds.graph_private_key_pem)
    cert = x509.load_pem_x509_certificate(creds.graph_certificate_pem.encode())
    key = serialization.load_pem_private_key(creds.graph_private_key_pem.encode(), password=None)
    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert cert.public_key().public_bytes(*spki) == key.public_key().public_bytes(*spki)
    assert registered_certificate(creds.graph_certificate_pem).valid_at(datetime.now(timezone.utc))
    assert default_credentials(5).graph_certificate_pem == default_credentials(6).graph_certificate_pem


def test_the_shipped_certificate_is_made_again_byte_for_byte() -> None:
    """How the shipped certificate was made (the module docstring says so), held by a test."""
    creds = default_credentials(0)
    remade = self_signed_certificate(
        creds.graph_private_key_pem,
        "mock-idp default Entra app",
        datetime(2025, 1, 1, tzinfo=timezone.utc),
        datetime(2045, 1, 1, tzinfo=timezone.utc),
    )
    assert remade == creds.graph_certificate_pem


def _sample_with(certificates: Any) -> dict[str, Any]:
    data = json.loads(SAMPLE_FIXTURE.read_text(encoding="utf-8"))
    graph = next(c for c in data["clients"] if c["dialect"] == "graph")
    graph["certificates"] = certificates
    return data


def test_certificates_round_trip_through_a_fixture() -> None:
    pem = default_credentials(0).graph_certificate_pem
    directory = load_fixture(_sample_with([pem]))
    graph = next(c for c in directory.clients.values() if c.dialect == "graph")
    assert graph.certificates == (pem,)
    again = load_fixture(dump_fixture(directory))
    assert next(c for c in again.clients.values() if c.dialect == "graph").certificates == (pem,)
    okta = next(c for c in dump_fixture(directory)["clients"] if c["dialect"] == "okta")
    assert "certificates" not in okta  # an empty list is left out of the dump


@pytest.mark.parametrize(
    ("certificates", "message"),
    [
        ("pem", "must be a list of PEM certificates"),
        (
            ["-----BEGIN CERTIFICATE-----\nxx\n-----END CERTIFICATE-----\n"],
            "[0]: must be a PEM RSA certificate",
        ),
    ],
)
def test_a_bad_certificate_in_a_fixture_is_named(certificates: Any, message: str) -> None:
    with pytest.raises(FixtureError) as info:
        load_fixture(_sample_with(certificates))
    assert ".certificates" in str(info.value) and message in str(info.value)


def test_certificates_are_only_for_entra_apps() -> None:
    data = _sample_with([])
    okta = next(c for c in data["clients"] if c["dialect"] == "okta")
    okta["certificates"] = [default_credentials(0).graph_certificate_pem]
    with pytest.raises(FixtureError, match="only for dialect graph"):
        load_fixture(data)
