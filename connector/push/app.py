"""The Flask app: ``/scim/v2/<org>/<directory>/`` for every push directory of the store.

Every request is resolved to one organization's push directory (404 otherwise: an unknown
organization or directory, a pull or disabled one), then authenticated with that directory's
token (401, and nothing learned, otherwise).  Reads answer from the directory's mirror, a few
rows at a time (:class:`~connector.store.push_reads.DirectoryLookup`; the filters clients send
on every look-up by index, :mod:`connector.push.filters`); writes are edits
(:mod:`connector.push.edits`) run through the rules (:mod:`connector.push.changes`).
"""

from __future__ import annotations

from flask import Flask
from flask import Response
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from connector.push import discovery_routes  # noqa: F401  (registers its routes)
from connector.push import group_routes  # noqa: F401
from connector.push import user_routes  # noqa: F401
from connector.push.auth import TokenCheck
from connector.push.auth import push_token_check
from connector.push.bodies import scim_error
from connector.push.errors import ScimError
from connector.push.events_api import events_api
from connector.push.requests import MAX_BODY_BYTES
from connector.push.requests import PushState
from connector.push.requests import error_answer
from connector.push.requests import scim
from connector.store import Store


def create_app(
    store: str | Store, *, token_check: TokenCheck | None = None, max_body_bytes: int = MAX_BODY_BYTES
) -> Flask:
    """The push service over ``store`` (a URL, opened and migrated here, or an open Store).

    ``token_check`` decides whether a bearer token opens a directory (default:
    :func:`~connector.push.auth.push_token_check`, the tokens
    ``idp-connector directories token`` issues).  Bodies above ``max_body_bytes`` are
    refused with 413 before they are read.
    """
    opened = Store.open(store, register=False) if isinstance(store, str) else store
    app = Flask("connector.push")
    app.config["MAX_CONTENT_LENGTH"] = max_body_bytes
    app.extensions["idp-connector-push"] = PushState(opened, token_check or push_token_check)
    app.register_blueprint(scim)
    app.register_blueprint(events_api)  # GET /events (connector.push.events_api)

    @app.errorhandler(ScimError)
    def _scim_error(exc: ScimError) -> Response:
        return error_answer(exc)

    @app.errorhandler(ValidationError)
    def _invalid(exc: ValidationError) -> Response:
        return error_answer(scim_error(exc))

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        status = exc.code or 500
        detail = (
            "the body is larger than this service takes" if status == 413 else exc.description or exc.name
        )
        return error_answer(ScimError(status, str(detail)))

    return app
