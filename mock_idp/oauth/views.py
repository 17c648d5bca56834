"""Token endpoints of the three dialects.

Endpoints (each answers errors in its own provider's shape):

* Okta org authorization server, ``POST /oauth2/v1/token``: client credentials
  with a ``private_key_jwt`` client assertion (RFC 7523 §2.2, Okta "Build a
  self-signed JWT"); ``GET /oauth2/v1/keys``.
* Entra ID, ``POST /<tenant>/oauth2/v2.0/token`` (client secret or assertion)
  and ``GET /<tenant>/v2.0/.well-known/openid-configuration``; the views live
  in :mod:`mock_idp.oauth.entra` and are routed on this module's blueprint.
* SCIM, ``POST /scim/oauth2/token``: client credentials with a client secret,
  in the form or in HTTP Basic (RFC 6749 §2.3.1).

Client authentication (assertions verified with ``joserfc`` against the
client's registered JWKS, secrets, HTTP Basic) is in :mod:`mock_idp.oauth.clients`.

:func:`require_auth`, the one place where a dialect checks the ``Authorization``
header, is in :mod:`mock_idp.auth_check` (re-exported here); this module's
blueprint renders a refused credential app-wide in the dialect of the path.
"""

from __future__ import annotations

import importlib

from flask import Blueprint
from flask import Response
from flask import jsonify
from flask import request

from mock_idp.auth_check import Principal
from mock_idp.auth_check import Refused
from mock_idp.auth_check import auth_failure_response
from mock_idp.auth_check import require_auth
from mock_idp.context import AuthFailure
from mock_idp.context import current
from mock_idp.context import dialect_for_path
from mock_idp.oauth import entra as oauth_entra
from mock_idp.oauth.clients import ASSERTION_TYPE
from mock_idp.oauth.clients import AssertionRefused
from mock_idp.oauth.clients import basic_credentials
from mock_idp.oauth.clients import no_store
from mock_idp.oauth.clients import secret_matches
from mock_idp.oauth.clients import token_response
from mock_idp.oauth.clients import verify_client_assertion
from mock_idp.state.directory import Directory
from mock_idp.state.directory import OAuthClient

__all__ = ["Principal", "Refused", "auth_failure_response", "blueprint", "require_auth"]

blueprint = Blueprint("oauth", __name__)

OKTA_TOKEN_LIFETIME = 3600
SCIM_TOKEN_LIFETIME = 3600


@blueprint.app_errorhandler(AuthFailure)
def _render_auth_failure(failure: AuthFailure) -> Response:
    """App-wide: render a refused credential in the dialect that serves the path."""
    dialect = dialect_for_path(request.path)
    if dialect is None:
        return _plain_error(failure.status, "unauthorized", failure.message)
    renderer = importlib.import_module(f"mock_idp.{dialect}.views").renderer
    return auth_failure_response(failure, renderer)


# ---------------------------------------------------------------------------- shared helpers


def _plain_error(
    status: int, error: str, description: str, headers: dict[str, str] | None = None
) -> Response:
    """RFC 6749 §5.2 error (also Okta's ``OAuthError`` shape)."""
    response = jsonify({"error": error, "error_description": description})
    response.status_code = status
    response.headers.update(headers or {})
    no_store(response)
    return response


# ---------------------------------------------------------------------------- Okta


_OKTA_ASSERTION_MESSAGES = {
    "malformed": "The client_assertion token is malformed.",
    "unknown_client": "Invalid value for the `client_id` parameter",
    "not_jwt_client": "The client isn't configured to authenticate with a client_assertion.",
    "algorithm": "The client_assertion token is signed with an algorithm that isn't allowed.",
    "unknown_key": "The client_assertion token has a kid that doesn't match any registered key.",
    "signature": "The client_assertion signature is invalid.",
    "issuer": "The issuer and subject claims of the client_assertion must be the client_id.",
    "audience": "The audience claim for client_assertion must be the endpoint invoked for the request.",
    "no_expiry": "The client_assertion token must have an expiration (exp) claim.",
    "expired": "The client_assertion token is expired.",
    "too_far": "The client_assertion token has an expiration too far into the future.",
    "issued_in_future": "The client_assertion token has an issued-at (iat) time in the future.",
    "not_yet_valid": "The client_assertion token is not valid yet (nbf).",
    "replayed": "The client_assertion token has already been used (jti).",
    "no_thumbprint": "The client_assertion token has a kid that doesn't match any registered key.",
    "key_expired": "The client_assertion token is signed with a key that has expired.",
}


@blueprint.post("/oauth2/v1/token")
def okta_token() -> Response:
    """Okta org AS client-credentials grant (okta-oauth-minimal.yaml ``TokenRequestClientCredentials``)."""
    form = request.form
    grant_type = form.get("grant_type", "")
    if not grant_type:
        return _plain_error(400, "invalid_request", "The `grant_type` parameter is required.")
    if grant_type != "client_credentials":
        return _plain_error(400, "unsupported_grant_type", "The grant type in the request isn't supported.")
    directory = current().directory
    client = _okta_client(directory)
    if isinstance(client, Response):
        return client
    scopes = form.get("scope", "").split()
    if not scopes:
        return _plain_error(400, "invalid_scope", "No scopes were requested.")
    unknown = [s for s in scopes if s not in client.scopes]
    if unknown:
        return _plain_error(
            400,
            "invalid_scope",
            f"The following scopes were requested, but not granted: {' '.join(unknown)}.",
        )
    issued = directory.issue_token(client.client_id, "okta", scopes, OKTA_TOKEN_LIFETIME)
    return token_response(
        {
            "token_type": "Bearer",
            "expires_in": OKTA_TOKEN_LIFETIME,
            "access_token": issued.token,
            "scope": " ".join(scopes),
        }
    )


def _okta_client(directory: Directory) -> OAuthClient | Response:
    """Authenticate the client of an Okta token request, or the error to answer."""
    form = request.form
    basic = basic_credentials()
    sources = [basic is not None, "client_secret" in form, "client_assertion" in form]
    if sum(sources) > 1:
        return _plain_error(
            400,
            "invalid_request",
            "Can't supply multiple client credentials. Use one of the following: credentials in the "
            "Authorization header, credentials in the post body, or a `client_assertion` in the post body.",
        )
    if "client_assertion" in form:
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            return _plain_error(400, "invalid_request", "The `client_assertion_type` is invalid.")
        try:
            return verify_client_assertion(
                directory,
                form["client_assertion"],
                dialect="okta",
                audience=request.host_url + "oauth2/v1/token",
                client_id=form.get("client_id"),
            )
        except AssertionRefused as refused:
            return _plain_error(401, "invalid_client", _OKTA_ASSERTION_MESSAGES[refused.reason])
    if basic is None and "client_secret" not in form:
        return _plain_error(401, "invalid_client", "No client credentials found")
    client_id, secret = basic or (form.get("client_id", ""), form["client_secret"])
    client = directory.clients.get(client_id)
    if client is None or client.dialect != "okta":
        return _plain_error(401, "invalid_client", "Invalid value for the `client_id` parameter")
    if client.auth_method != "client_secret" or not secret_matches(client, secret):
        return _plain_error(
            401, "invalid_client", "The client secret supplied for a confidential client is invalid."
        )
    return client


@blueprint.get("/oauth2/v1/keys")
def okta_keys() -> Response:
    """The org AS's JWKS.  Access tokens are opaque here, so it holds no keys."""
    return jsonify({"keys": []})


# ---------------------------------------------------------------------------- SCIM


@blueprint.post("/scim/oauth2/token")
def scim_token() -> Response:
    """Client credentials with a client secret (RFC 6749 §4.4; client auth §2.3.1)."""
    form = request.form
    basic = basic_credentials()
    if form.get("grant_type") != "client_credentials":
        if not form.get("grant_type"):
            return _plain_error(400, "invalid_request", "grant_type is required.")
        return _plain_error(
            400, "unsupported_grant_type", f"grant_type {form['grant_type']!r} is not supported."
        )
    if basic is not None and "client_secret" in form:
        return _plain_error(
            400, "invalid_request", "Send the client credentials once: Basic or form, not both."
        )
    client_id, secret = basic or (form.get("client_id", ""), form.get("client_secret", ""))
    challenge = {"WWW-Authenticate": 'Basic realm="scim"'} if basic is not None else None
    directory = current().directory
    client = directory.clients.get(client_id)
    if client is None or client.dialect != "scim" or not secret_matches(client, secret):
        return _plain_error(401, "invalid_client", "Client authentication failed.", challenge)
    requested = form.get("scope", "").split() or list(client.scopes)
    unknown = [s for s in requested if s not in client.scopes]
    if unknown:
        return _plain_error(400, "invalid_scope", f"Scopes not granted to this client: {' '.join(unknown)}.")
    issued = directory.issue_token(client.client_id, "scim", requested, SCIM_TOKEN_LIFETIME)
    return token_response(
        {
            "access_token": issued.token,
            "token_type": "Bearer",
            "expires_in": SCIM_TOKEN_LIFETIME,
            "scope": " ".join(requested),
        }
    )


blueprint.add_url_rule("/<tenant>/oauth2/v2.0/token", view_func=oauth_entra.graph_token, methods=["POST"])
blueprint.add_url_rule(
    "/<tenant>/v2.0/.well-known/openid-configuration",
    view_func=oauth_entra.graph_openid_configuration,
    methods=["GET"],
)
