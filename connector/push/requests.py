"""What every SCIM request of the push service shares: the blueprint under
``/scim/v2/<org>/<directory>/``, the directory and token check before each request, reading a
body and its query, answering JSON and errors, the directory's look-up and running an edit."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint
from flask import Response
from flask import g
from flask import request
from scim2_models import SCIMException
from scim2_models import ScimFilter

from connector.errors import ConnectorError
from connector.errors import RunInProgressError
from connector.ops.metrics import record_run
from connector.push.auth import TokenCheck
from connector.push.auth import bearer_token
from connector.push.bodies import scim_error
from connector.push.changes import LOCK_WAIT_SECONDS
from connector.push.changes import Edit
from connector.push.changes import run_request
from connector.push.errors import SCIM_MEDIA_TYPE
from connector.push.errors import ScimError
from connector.push.errors import not_found
from connector.store import Store
from connector.store.push_reads import DirectoryLookup

RETRY_AFTER_SECONDS = 10
"""What a request refused because its organization stayed busy tells its IdP to wait."""
MAX_BODY_BYTES = 2 * 1024 * 1024
"""The largest request body, refused with 413 before it is read (a 1,000-member PATCH is ~100 kB)."""

scim = Blueprint("scim", __name__, url_prefix="/scim/v2/<org>/<directory>")


def json_answer(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, mimetype=SCIM_MEDIA_TYPE, headers=headers)


def error_answer(exc: ScimError) -> Response:
    headers = {"WWW-Authenticate": 'Bearer realm="scim"'} if exc.status == 401 else {}
    if exc.retry_after is not None:
        headers["Retry-After"] = str(exc.retry_after)
    return json_answer(exc.body(), exc.status, headers or None)


def base_url() -> str:
    return f"{request.url_root.rstrip('/')}/scim/v2/{g.org}/{g.directory}"  # under a mount too


def read_body() -> Any:
    try:
        return json.loads(request.get_data(cache=False) or b"null")
    except ValueError:
        raise ScimError(400, "the body is not JSON", "invalidSyntax") from None


def query_params() -> dict[str, Any]:
    """The query's parameters: the URL's, or a ``/.search`` POST's body (RFC 7644 §3.4.3)."""
    if request.method == "POST" and request.path.endswith("/.search"):
        body = read_body()
        if not isinstance(body, dict):
            raise ScimError(400, "a search is a SearchRequest object", "invalidSyntax")
        return {k: ",".join(v) if isinstance(v, list) else str(v) for k, v in body.items() if v is not None}
    return dict(request.args)


@scim.url_value_preprocessor
def _resolve(endpoint: str | None, values: dict[str, Any] | None) -> None:
    assert values is not None
    g.org = values.pop("org")
    g.directory = values.pop("directory")


@scim.before_request
def _authenticate() -> Response | None:
    app_store: Store = scim_state().store
    try:
        store = app_store.for_org(g.org)
        entry = store.directory_entry(g.org, g.directory)
    except ConnectorError:
        entry = None
    if entry is None or entry.mode != "push" or entry.disabled:
        return error_answer(not_found("directory"))
    token = bearer_token(request.headers.get("Authorization"))
    if token is None or not scim_state().check(store, g.directory, token):
        return error_answer(ScimError(401, "a valid bearer token of this directory is required"))
    g.store = store
    g.entry = entry
    return None


class PushState:
    """What the app's requests share: the store (its engine) and the token check."""

    def __init__(self, store: Store, check: TokenCheck) -> None:
        self.store = store
        self.check = check


def scim_state() -> PushState:
    from flask import current_app

    state: PushState = current_app.extensions["idp-connector-push"]
    return state


def lookup() -> DirectoryLookup:
    return g.store.lookup(g.directory)  # type: ignore[no-any-return]


def run_edit(edit: Edit) -> None:
    """Check the edit against the mirror, then run it through the rules under the lock."""
    edit(lookup())  # refused here, no run is recorded
    try:
        report, _ = run_request(g.store, g.entry, edit)
    except RunInProgressError:
        raise ScimError(
            503,
            f"the organization has been busy with another run for {LOCK_WAIT_SECONDS:g} s; nothing applied",
            retry_after=RETRY_AFTER_SECONDS,
        ) from None
    record_run({"outcome": report.outcome, "seconds": report.seconds, "counts": dict(report.counts)})
    if report.outcome == "guard_tripped":
        raise ScimError(503, f"held by the guard, nothing applied: {report.guard.message}")


def check_if_match(body: dict[str, Any]) -> None:
    wanted = request.headers.get("If-Match")
    if (
        wanted
        and wanted.strip() != "*"
        and body["meta"]["version"] not in {v.strip() for v in wanted.split(",")}
    ):
        raise ScimError(412, "the resource changed: its version is not the one in If-Match")


def filtered(raw: str, model: type, bodies: list[dict[str, Any]], models: list[Any]) -> list[dict[str, Any]]:
    try:
        bound = ScimFilter[model](raw)  # type: ignore[valid-type]
        return [b for b, m in zip(bodies, models, strict=True) if bound.match(m)]
    except SCIMException as exc:
        error = scim_error(exc)
        raise ScimError(400, error.detail, "invalidFilter") from None
    except ValueError as exc:
        raise ScimError(400, f"filter: {exc}", "invalidFilter") from None
