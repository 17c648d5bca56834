"""A ready ``idp-connector`` configuration for the directory a mock serves.

Three directories of one organization, one per dialect of the mock at ``base_url``, each with its
own kind of credentials, kept in files under ``secrets/`` beside the configuration (mode 600):
the Okta service app's private key (``private_key_jwt`` with a ``kid``), the Entra app's
certificate and its key (``private_key_jwt`` with a certificate: Entra's certificate credentials;
the app's client secret is written too, for the ``client_secret`` method) and the SCIM bearer
token.  ``mock-idp serve --write-config`` and ``idp-connector demo`` write it, so the ids
and secrets always match the served directory (its seed), whichever that is.  Plain text: no
import of the connector.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from pathlib import Path

from mock_idp.state.credentials import DefaultCredentials

PRODUCTS = {"confluence": ("Everyone",), "jira-software": ("Engineering",)}


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
    """Write the configuration at ``path`` and its secrets in ``secrets/`` beside it; the Okta
    directory manages ``domain``."""
    folder = path.parent
    secrets = folder / "secrets"
    secrets.mkdir(parents=True, exist_ok=True)
    for name, value in (
        ("okta-service-app.pem", credentials.okta_private_key_pem),
        ("entra-client-secret", credentials.graph_client_secret),
        ("entra-app-key.pem", credentials.graph_private_key_pem),
        ("entra-app-certificate.pem", credentials.graph_certificate_pem),
        ("scim-token", credentials.scim_token),
    ):
        secret = secrets / name
        secret.write_text(value.strip() + "\n", encoding="utf-8")
        secret.chmod(0o600)
    granted = "\n".join(
        f"{product} = {list(groups)!r}".replace("'", '"') for product, groups in products.items()
    )
    header = "".join(f"# {line}\n" if line else "#\n" for line in comment)
    text = f"""{header}
[organization]
verified_domains = ["{domain}"]

[store]
url = "sqlite:///connector.sqlite"

[products]
{granted}

[[directories]]
id = "{prefix}-okta"
provider = "okta"
base_url = "{base_url}"
domains = ["{domain}"]
[directories.auth]
method = "private_key_jwt"
client_id = "{credentials.okta_client_id}"
key_id = "{credentials.okta_key_id}"
private_key_file = "secrets/okta-service-app.pem"

[[directories]]
id = "{prefix}-entra"
provider = "azure_ad"
base_url = "{base_url}/v1.0"
tenant = "{tenant_id}"
authority = "{base_url}"
[directories.auth]
# the app's certificate credential; its client secret works too:
# method = "client_secret" with client_secret_file = "secrets/entra-client-secret"
method = "private_key_jwt"
client_id = "{credentials.graph_client_id}"
private_key_file = "secrets/entra-app-key.pem"
certificate_file = "secrets/entra-app-certificate.pem"

[[directories]]
id = "{prefix}-scim"
provider = "scim"
base_url = "{base_url}/scim/v2"
[directories.auth]
method = "bearer"
token_file = "secrets/scim-token"
"""
    path.write_text(text, encoding="utf-8")
    return path
