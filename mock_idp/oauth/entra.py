"""Entra ID's token endpoint and discovery document, as MSAL and azure-identity use them.

``POST /<tenant>/oauth2/v2.0/token`` (client credentials with a client secret
or a client assertion whose ``aud`` is this URL) and
``GET /<tenant>/v2.0/.well-known/openid-configuration``.  ``<tenant>`` is the
directory's ``tenant_id`` or ``tenant_domain``.  Errors have Entra's body,
``{"error", "error_description": "AADSTSnnnn: …", "error_codes", "timestamp",
"trace_id", "correlation_id", "error_uri"}`` (wire protocols §2.1).  MSAL's
extra ``client_info=1`` form field is ignored.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from datetime import timezone

from flask import Response
from flask import jsonify
from flask import request

from mock_idp.context import current
from mock_idp.oauth.clients import ASSERTION_TYPE
from mock_idp.oauth.clients import AssertionRefused
from mock_idp.oauth.clients import no_store
from mock_idp.oauth.clients import secret_matches
from mock_idp.oauth.clients import token_response
from mock_idp.oauth.clients import verify_client_assertion
from mock_idp.state.directory import Directory
from mock_idp.state.directory import OAuthClient

GRAPH_TOKEN_LIFETIME = 3599
GRAPH_RESOURCES = ("https://graph.microsoft.com", "00000003-0000-0000-c000-000000000000")


def _tenant_known(directory: Directory, tenant: str) -> bool:
    return tenant.lower() in {directory.tenant_id.lower(), directory.tenant_domain.lower()}


def _aad_error(status: int, error: str, code: int, message: str) -> Response:
    """Entra ID's token error body (wire protocols §2.1)."""
    now = datetime.now(timezone.utc)
    trace_id, correlation_id = str(uuid.uuid4()), str(uuid.uuid4())
    stamp = now.strftime("%Y-%m-%d %H:%M:%SZ")
    description = (
        f"AADSTS{code}: {message} Trace ID: {trace_id} Correlation ID: {correlation_id} Timestamp: {stamp}"
    )
    response = jsonify(
        {
            "error": error,
            "error_description": description,
            "error_codes": [code],
            "timestamp": stamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": f"{request.host_url}error?code={code}",
        }
    )
    response.status_code = status
    return no_store(response)


def _aad_missing(name: str) -> Response:
    return _aad_error(
        400, "invalid_request", 900144, f"The request body must contain the following parameter: '{name}'."
    )


_TIME_RANGE = (
    "Client assertion is not within its valid time range. Current time: {now}, assertion valid from "
    "{nbf}, expiry time of assertion {exp}. Review the documentation at "
    "https://learn.microsoft.com/entra/identity-platform/certificate-credentials."
)
_SEE_KEYS = (
    "Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for "
    "app Id '{client}'."
)

_AAD_ASSERTION_ERRORS = {
    "malformed": (50027, "JWT token is invalid or malformed."),
    "unknown_client": (700016, "Application with identifier '{client}' was not found in the directory."),
    "not_jwt_client": (700027, "Client assertion failed signature validation."),
    "algorithm": (700027, "Client assertion failed signature validation."),
    "no_thumbprint": (50027, "Invalid JWT token. No certificate thumbprint specified in token header."),
    "unknown_key": (
        700027,
        "The certificate with identifier used to sign the client assertion is not registered on "
        "application. [Reason - The key was not found., Thumbprint of key used by client: '{thumbprint}', "
        + _SEE_KEYS
        + "]",
    ),
    "signature": (
        700027,
        "Client assertion contains an invalid signature. [Reason - The provided signature value did not "
        "match the expected signature value., Thumbprint of key used by client: '{thumbprint}', Found key "
        "'Start={start}, End={end}']",
    ),
    "key_expired": (
        700027,
        "Client assertion contains an invalid signature. [Reason - The key used is expired., Thumbprint of "
        "key used by client: '{thumbprint}', Found key 'Start={start}, End={end}', " + _SEE_KEYS + "]",
    ),
    "issuer": (700021, "Client assertion application identifier doesn't match 'client_id' parameter."),
    "audience": (700212, "No matching federated identity record found for presented assertion audience."),
    "no_expiry": (700024, "Client assertion is not within its valid time range."),
    "expired": (700024, _TIME_RANGE),
    "too_far": (700024, _TIME_RANGE),
    "issued_in_future": (700024, _TIME_RANGE),
    "not_yet_valid": (700024, _TIME_RANGE),
    "replayed": (700027, "Client assertion contains an invalid signature or has already been used."),
}
"""Entra's words for each refusal (:data:`mock_idp.oauth.clients.REASONS`), as AADSTS errors show
them; ``{client}`` and the refusal's ``details`` fill the blanks."""


def graph_token(tenant: str) -> Response:
    """Entra ID v2.0 client-credentials grant; the token's scopes are the client's app roles."""
    directory = current().directory
    if not _tenant_known(directory, tenant):
        return _aad_error(
            400,
            "invalid_request",
            90002,
            f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are "
            "signing into the correct cloud.",
        )
    form = request.form
    for name in ("grant_type", "client_id", "scope"):
        if not form.get(name):
            return _aad_missing(name)
    if form["grant_type"] != "client_credentials":
        return _aad_error(
            400,
            "unsupported_grant_type",
            70003,
            f"The app requested an unsupported grant type '{form['grant_type']}'.",
        )
    client_id = form["client_id"]
    client = directory.clients.get(client_id)
    if client is None or client.dialect != "graph":
        return _aad_error(
            400,
            "unauthorized_client",
            700016,
            f"Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can "
            "happen if the application has not been installed by the administrator of the tenant or "
            "consented to by any user in the tenant. You may have sent your authentication request to "
            "the wrong tenant.",
        )
    refused = _graph_client_refused(directory, client)
    if refused is not None:
        return refused
    scope_error = _graph_scope_error(form["scope"], tenant)
    if scope_error is not None:
        return scope_error
    issued = directory.issue_token(client.client_id, "graph", client.scopes, GRAPH_TOKEN_LIFETIME)
    return token_response(
        {
            "token_type": "Bearer",
            "expires_in": GRAPH_TOKEN_LIFETIME,
            "ext_expires_in": GRAPH_TOKEN_LIFETIME,
            "access_token": issued.token,
        }
    )


def _graph_client_refused(directory: Directory, client: OAuthClient) -> Response | None:
    form = request.form
    if "client_assertion" in form:
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            return _aad_error(
                400, "invalid_request", 50027, "Invalid client_assertion_type; expected jwt-bearer."
            )
        try:
            verify_client_assertion(
                directory,
                form["client_assertion"],
                dialect="graph",
                audience=request.base_url,
                client_id=client.client_id,
            )
        except AssertionRefused as refused:
            code, message = _AAD_ASSERTION_ERRORS[refused.reason]
            words = message.format_map(_Blanks(client=client.client_id, **refused.details))
            return _aad_error(401, "invalid_client", code, words)
        return None
    if not form.get("client_secret"):
        return _aad_error(
            401,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        )
    if not secret_matches(client, form["client_secret"]):
        return _aad_error(
            401,
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is the client "
            f"secret value, not the client secret ID, for a secret added to app '{client.client_id}'.",
        )
    return None


class _Blanks(dict[str, str]):
    """Details for a message's blanks; one the refusal did not fill stays as written."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _graph_scope_error(scope: str, tenant: str) -> Response | None:
    """Client credentials take exactly one ``<resource>/.default`` scope."""
    if not scope.endswith("/.default") or " " in scope.strip():
        return _aad_error(
            400,
            "invalid_scope",
            1002012,
            f"The provided value for scope {scope} is not valid. Client credential flows must have a scope "
            "value with /.default suffixed to the resource identifier (application ID URI).",
        )
    resource = scope[: -len("/.default")].rstrip("/")
    if resource not in GRAPH_RESOURCES:
        return _aad_error(
            400,
            "invalid_resource",
            500011,
            f"The resource principal named {resource} was not found in the tenant named {tenant}.",
        )
    return None


def graph_openid_configuration(tenant: str) -> Response:
    """OpenID discovery document (MSAL reads ``token_endpoint`` from it)."""
    directory = current().directory
    if not _tenant_known(directory, tenant):
        return _aad_error(400, "invalid_tenant", 90002, f"Tenant '{tenant}' not found.")
    host = request.host_url
    base = f"{host}{tenant}"
    return jsonify(
        {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"],
            "jwks_uri": f"{host}{directory.tenant_id}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{host}{directory.tenant_id}/v2.0",
            "request_uri_parameter_supported": False,
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "tenant_region_scope": "EU",
            "cloud_instance_name": request.host,
        }
    )
