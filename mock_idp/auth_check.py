"""The credential check every dialect uses: :func:`require_auth` on the ``Authorization`` header.

Okta takes ``SSWS <api token>`` or ``Bearer <access token>``; Graph a Bearer
access token issued for Graph; SCIM a Bearer static token or access token.
Access tokens are opaque strings from :meth:`Directory.issue_token`; they are
looked up, not decoded.  A refusal raises :class:`Refused` (an
:class:`~mock_idp.context.AuthFailure`) carrying the dialect's error code and,
where the provider sends one, a ``WWW-Authenticate`` challenge;
:func:`auth_failure_response` renders it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from flask import Response
from flask import request

from mock_idp.context import AuthFailure
from mock_idp.context import DialectRenderer
from mock_idp.context import current
from mock_idp.state.directory import ApiToken
from mock_idp.state.directory import Dialect
from mock_idp.state.directory import Directory
from mock_idp.state.directory import IssuedToken

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
    return directory.find_issued_token(token)


def _static_token(directory: Directory, token: str) -> ApiToken | None:
    return directory.find_api_token(token)


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
