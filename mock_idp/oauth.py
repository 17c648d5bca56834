"""Token endpoints of the three dialects, and the credential check every dialect uses.

Endpoints (each answers errors in its own provider's shape):

* Okta org authorization server, ``POST /oauth2/v1/token``: client credentials
  with a ``private_key_jwt`` client assertion (RFC 7523 §2.2, Okta "Build a
  self-signed JWT"); ``GET /oauth2/v1/keys``.
* Entra ID, ``POST /<tenant>/oauth2/v2.0/token`` (client secret or assertion)
  and ``GET /<tenant>/v2.0/.well-known/openid-configuration``; the views live
  in :mod:`mock_idp.oauth_entra` and are routed on this module's blueprint.
* SCIM, ``POST /scim/oauth2/token``: client credentials with a client secret,
  in the form or in HTTP Basic (RFC 6749 §2.3.1).

Access tokens are opaque strings from :meth:`Directory.issue_token`; they are
looked up, not decoded.  Client authentication (assertions verified with
``joserfc`` against the client's registered JWKS, secrets, HTTP Basic) is in
:mod:`mock_idp.oauth_clients`.

:func:`require_auth` is the one place where a dialect checks the
``Authorization`` header.  It raises :class:`Refused` (an
:class:`~mock_idp.context.AuthFailure`) carrying the dialect's error code and,
where the provider sends one, a ``WWW-Authenticate`` challenge;
:func:`auth_failure_response` renders it.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from flask import Blueprint
from flask import Response
from flask import jsonify
from flask import request

from mock_idp import oauth_entra
from mock_idp.context import AuthFailure
from mock_idp.context import DialectRenderer
from mock_idp.context import current
from mock_idp.context import dialect_for_path
from mock_idp.oauth_clients import ASSERTION_TYPE
from mock_idp.oauth_clients import AssertionRefused
from mock_idp.oauth_clients import basic_credentials
from mock_idp.oauth_clients import no_store
from mock_idp.oauth_clients import secret_matches
from mock_idp.oauth_clients import token_response
from mock_idp.oauth_clients import verify_client_assertion
from mock_idp.state import ApiToken
from mock_idp.state import Dialect
from mock_idp.state import Directory
from mock_idp.state import IssuedToken
from mock_idp.state import OAuthClient

blueprint = Blueprint("oauth", __name__)

OKTA_TOKEN_LIFETIME = 3600
SCIM_TOKEN_LIFETIME = 3600
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"

_CREDENTIALS = re.compile(r"^(?P<scheme>SSWS|Bearer) ?(?P<token>\S+)$", re.IGNORECASE)


@dataclass(frozen=True)
class Principal:
    """Who is calling: a static API token or an issued access token.

    ``scopes`` is None for a token that holds every scope (an Okta SSWS token,
    or a SCIM static token registered without scopes).
    """

    dialect: Dialect
    kind: str  # "api_token" or "access_token"
    name: str  # client id, or the API token's name
    scopes: frozenset[str] | None

    def holds_any(self, scopes: Iterable[str]) -> bool:
        wanted = set(scopes)
        return not wanted or self.scopes is None or bool(self.scopes & wanted)


class Refused(AuthFailure):
    """An :class:`AuthFailure` with the ``WWW-Authenticate`` challenge to send, if any."""

    def __init__(self, status: int, message: str, *, code: str | None = None, challenge: str | None = None):
        super().__init__(status, message, code=code)
        self.challenge = challenge


# ---------------------------------------------------------------------------- require_auth


def require_auth(dialect: Dialect, scopes: Iterable[str]) -> Principal:
    """Check the request's ``Authorization`` header for ``dialect``.

    The caller must hold at least ONE of ``scopes`` (Graph grants users to
    ``User.Read.All`` *or* ``Directory.Read.All``; pass one scope for a single
    requirement; none for no requirement).  A token issued for another dialect
    is refused.  Expiry is judged by ``directory.clock_now()``.  Raises
    :class:`Refused` (401 or 403, the dialect's own code and challenge).
    """
    wanted = tuple(scopes)
    directory = current().directory
    principal = _AUTHENTICATORS[dialect](directory, request.headers.get("Authorization", ""), wanted)
    if not principal.holds_any(wanted):
        raise _INSUFFICIENT[dialect](wanted, principal)
    return principal


def _access_token(directory: Directory, token: str) -> IssuedToken | None:
    with directory.lock:
        return directory.issued_tokens.get(token)


def _static_token(directory: Directory, token: str) -> ApiToken | None:
    with directory.lock:
        return directory.api_tokens.get(token)


def _expired(directory: Directory, issued: IssuedToken) -> bool:
    return issued.expires_at <= directory.clock_now()


def _from_issued(issued: IssuedToken) -> Principal:
    return Principal(issued.dialect, "access_token", issued.client_id, frozenset(issued.scopes))


def _from_static(token: ApiToken) -> Principal:
    return Principal(token.dialect, "api_token", token.name, frozenset(token.scopes) or None)


def _okta_challenge(error: str, description: str, scopes: Iterable[str]) -> str:
    """Okta's Bearer challenge (modelled on the org AS; RFC 6750 §3)."""
    host = request.host_url
    return (
        f'Bearer authorization_uri="{host}oauth2/v1/authorize", realm="{host.rstrip("/")}", '
        f'scope="{" ".join(scopes)}", error="{error}", error_description="{description}", '
        f'resource="{request.path}"'
    )


def _okta_auth(directory: Directory, header: str, wanted: tuple[str, ...]) -> Principal:
    match = _CREDENTIALS.match(header.strip())
    invalid = Refused(401, "Invalid token provided", code="E0000011")
    if match is None:
        raise invalid
    token = match["token"]
    if match["scheme"].upper() == "SSWS":
        static = _static_token(directory, token)
        if static is None or static.dialect != "okta":
            raise invalid
        return Principal("okta", "api_token", static.name, None)
    issued = _access_token(directory, token)
    if issued is None or issued.dialect != "okta" or _expired(directory, issued):
        invalid.challenge = _okta_challenge("invalid_token", "The access token is invalid.", wanted)
        raise invalid
    return _from_issued(issued)


def _okta_insufficient(wanted: tuple[str, ...], principal: Principal) -> Refused:
    return Refused(
        403,
        "You do not have permission to perform the requested action",
        code="E0000006",
        challenge=_okta_challenge(
            "insufficient_scope", "The access token provided does not contain the required scopes.", wanted
        ),
    )


def _graph_challenge() -> str:
    return (
        f'Bearer realm="", authorization_uri="{request.host_url}common/oauth2/authorize", '
        f'client_id="{GRAPH_APP_ID}"'
    )


def _graph_auth(directory: Directory, header: str, wanted: tuple[str, ...]) -> Principal:
    def refuse(message: str) -> Refused:
        return Refused(401, message, code="InvalidAuthenticationToken", challenge=_graph_challenge())

    match = _CREDENTIALS.match(header.strip())
    if match is None or match["scheme"].lower() != "bearer":
        raise refuse("Access token is empty.")
    issued = _access_token(directory, match["token"])
    if issued is None:
        raise refuse("CompactToken parsing failed with error code: 80049217")
    if issued.dialect != "graph":
        raise refuse("Access token validation failure. Invalid audience.")
    if _expired(directory, issued):
        raise refuse("Access token has expired or is not yet valid.")
    return _from_issued(issued)


def _graph_insufficient(wanted: tuple[str, ...], principal: Principal) -> Refused:
    return Refused(
        403, "Insufficient privileges to complete the operation.", code="Authorization_RequestDenied"
    )


def _scim_auth(directory: Directory, header: str, wanted: tuple[str, ...]) -> Principal:
    match = _CREDENTIALS.match(header.strip())
    if match is None or match["scheme"].lower() != "bearer":
        raise Refused(401, "Authentication required: send a Bearer token.", challenge='Bearer realm="scim"')
    token = match["token"]
    static = _static_token(directory, token)
    if static is not None and static.dialect == "scim":
        return _from_static(static)
    issued = _access_token(directory, token)
    if issued is not None and issued.dialect == "scim" and not _expired(directory, issued):
        return _from_issued(issued)
    description = "The access token expired" if issued is not None else "The access token is invalid"
    raise Refused(
        401,
        f"{description}.",
        challenge=f'Bearer realm="scim", error="invalid_token", error_description="{description}"',
    )


def _scim_insufficient(wanted: tuple[str, ...], principal: Principal) -> Refused:
    return Refused(
        403,
        f"The access token lacks the scope this operation needs: one of {', '.join(wanted)}.",
        challenge=f'Bearer realm="scim", error="insufficient_scope", scope="{" ".join(wanted)}"',
    )


_AUTHENTICATORS = {"okta": _okta_auth, "graph": _graph_auth, "scim": _scim_auth}
_INSUFFICIENT = {"okta": _okta_insufficient, "graph": _graph_insufficient, "scim": _scim_insufficient}


def auth_failure_response(failure: AuthFailure, renderer: DialectRenderer) -> Response:
    """``failure`` in the renderer's error shape, plus its ``WWW-Authenticate`` challenge."""
    response = renderer.error(failure.status, failure.message, code=failure.code)
    challenge = getattr(failure, "challenge", None)
    if challenge:
        response.headers["WWW-Authenticate"] = challenge
    return response


@blueprint.app_errorhandler(AuthFailure)
def _render_auth_failure(failure: AuthFailure) -> Response:
    """App-wide: render a refused credential in the dialect that serves the path."""
    dialect = dialect_for_path(request.path)
    if dialect is None:
        return _plain_error(failure.status, "unauthorized", failure.message)
    renderer = importlib.import_module(f"mock_idp.{dialect}").renderer
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
    "replayed": "The client_assertion token has already been used (jti).",
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
