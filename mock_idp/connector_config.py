"""A ready ``idp-connector`` configuration for the directories mocks serve.

One directory per dialect of a mock (Okta, Entra, SCIM), each with its own kind of credentials,
kept in files under ``secrets/`` beside the configuration (mode 600): the Okta service app's
private key (``private_key_jwt`` with a ``kid``), the Entra app's certificate and its key
(``private_key_jwt`` with a certificate: Entra's certificate credentials; the app's client secret
is written too, for the ``client_secret`` method) and the SCIM bearer token.

:func:`write_connector_config` writes one organization with all three dialects of one mock
(``mock-idp serve --write-config`` and ``idp-connector demo`` before it had organizations);
:func:`write_organizations_config` writes several organizations, each served by its own mock and
reading the dialects it names (``idp-connector demo``).  The ids and secrets always match the
served directories (their seeds).  Plain text: no import of the connector.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from mock_idp.state.credentials import DefaultCredentials

PRODUCTS = {"confluence": ("Everyone",), "jira-software": ("Engineering",)}
DIALECTS = ("okta", "entra", "scim")


@dataclass(frozen=True)
class ServedOrganization:
    """One organization of a configuration: its id and domain, and the mock that serves it.

    ``dialects`` are the directories it reads from that mock (ids ``<prefix>-<dialect>``); the
    first of them manages ``domain`` (links and updates the staff).
    """

    org_id: str
    domain: str
    base_url: str
    tenant_id: str
    credentials: DefaultCredentials
    dialects: Sequence[str] = DIALECTS
    prefix: str = "mock"
    name: str | None = None
    products: Mapping[str, Sequence[str]] = field(default_factory=lambda: dict(PRODUCTS))


def write_connector_config(
    path: Path,
    base_url: str,
    tenant_id: str,
    credentials: DefaultCredentials,
    *,
    domain: str = "example.com",
    prefix: str = "mock",
    products: Mapping[str, Sequence[str]] = PRODUCTS,
    comment: Sequence[str] = (),
) -> Path:
    """Write one organization's configuration at ``path`` and its secrets in ``secrets/`` beside
    it; the Okta directory manages ``domain``."""
    org = ServedOrganization(
        "default", domain, base_url, tenant_id, credentials, prefix=prefix, products=products
    )
    secrets = _write_secrets(path.parent / "secrets", credentials)
    text = (
        _header(comment)
        + f'\n[organization]\nverified_domains = ["{domain}"]\n'
        + _STORE
        + f"\n[products]\n{_grants(products)}\n"
        + "".join(_directory(org, dialect, "directories", secrets.name) for dialect in org.dialects)
    )
    path.write_text(text, encoding="utf-8")
    return path


def write_organizations_config(
    path: Path, organizations: Sequence[ServedOrganization], *, comment: Sequence[str] = ()
) -> Path:
    """Write a configuration of several organizations at ``path``; each one's secrets go in
    ``secrets/<org id>/`` beside it."""
    parts = [_header(comment), _STORE]
    for org in organizations:
        folder = _write_secrets(path.parent / "secrets" / org.org_id, org.credentials, org.dialects)
        name = f'name = "{org.name}"\n' if org.name else ""
        parts.append(
            f'\n[[organizations]]\nid = "{org.org_id}"\n{name}verified_domains = ["{org.domain}"]\n'
            f"[organizations.products]\n{_grants(org.products)}\n"
        )
        parts += [
            _directory(org, dialect, "organizations.directories", f"secrets/{folder.name}")
            for dialect in org.dialects
        ]
    path.write_text("".join(parts), encoding="utf-8")
    return path


_STORE = '\n[store]\nurl = "sqlite:///connector.sqlite"\n'


def _header(comment: Sequence[str]) -> str:
    return "".join(f"# {line}\n" if line else "#\n" for line in comment)


def _grants(products: Mapping[str, Sequence[str]]) -> str:
    return "\n".join(
        f"{product} = {list(groups)!r}".replace("'", '"') for product, groups in products.items()
    )


def _write_secrets(folder: Path, credentials: DefaultCredentials, dialects: Sequence[str] = DIALECTS) -> Path:
    """The secrets the ``dialects`` read, one file each (mode 600) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for dialect, name, value in (
        ("okta", "okta-service-app.pem", credentials.okta_private_key_pem),
        ("entra", "entra-client-secret", credentials.graph_client_secret),
        ("entra", "entra-app-key.pem", credentials.graph_private_key_pem),
        ("entra", "entra-app-certificate.pem", credentials.graph_certificate_pem),
        ("scim", "scim-token", credentials.scim_token),
    ):
        if dialect not in dialects:
            continue
        secret = folder / name
        secret.write_text(value.strip() + "\n", encoding="utf-8")
        secret.chmod(0o600)
    return folder


def _directory(org: ServedOrganization, dialect: str, table: str, secrets: str) -> str:
    """One ``[[directories]]`` (or ``[[organizations.directories]]``) table for ``dialect``."""
    base, creds = org.base_url, org.credentials
    manages = f'domains = ["{org.domain}"]\n' if dialect == org.dialects[0] else ""
    if dialect == "okta":
        return (
            f'\n[[{table}]]\nid = "{org.prefix}-okta"\nprovider = "okta"\nbase_url = "{base}"\n{manages}'
            f'[{table}.auth]\nmethod = "private_key_jwt"\nclient_id = "{creds.okta_client_id}"\n'
            f'key_id = "{creds.okta_key_id}"\nprivate_key_file = "{secrets}/okta-service-app.pem"\n'
        )
    if dialect == "entra":
        return (
            f'\n[[{table}]]\nid = "{org.prefix}-entra"\nprovider = "azure_ad"\nbase_url = "{base}/v1.0"\n'
            f'tenant = "{org.tenant_id}"\nauthority = "{base}"\n{manages}'
            f"[{table}.auth]\n"
            "# the app's certificate credential; its client secret works too:\n"
            f'# method = "client_secret" with client_secret_file = "{secrets}/entra-client-secret"\n'
            f'method = "private_key_jwt"\nclient_id = "{creds.graph_client_id}"\n'
            f'private_key_file = "{secrets}/entra-app-key.pem"\n'
            f'certificate_file = "{secrets}/entra-app-certificate.pem"\n'
        )
    if dialect == "scim":
        return (
            f'\n[[{table}]]\nid = "{org.prefix}-scim"\nprovider = "scim"\n'
            f'base_url = "{base}/scim/v2"\n{manages}'
            f'[{table}.auth]\nmethod = "bearer"\ntoken_file = "{secrets}/scim-token"\n'
        )
    raise ValueError(f"unknown dialect {dialect!r}; one of {', '.join(DIALECTS)}")
