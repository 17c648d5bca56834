"""The connector's one error tree.

::

    ConnectorError                      exit 1 (anything not below)
    ├── ConfigError                     exit 2  a bad or missing setting; names key, problem, fix
    │   └── SecretKeyError                      a key of the secrets at rest: none, malformed, two sources
    ├── ProviderError                   exit 4  the IdP could not be read
    │   ├── RetryableError                      worth another try (5xx, 429, connection lost)
    │   │   ├── UnreachableError                no answer: connection refused, failed or timed out
    │   │   └── RateLimitedError                429; carries the wait the IdP asked for
    │   └── TerminalError                       retrying will not help
    │       ├── AuthError               exit 3  token refused, bad credentials, missing scope
    │       ├── NotFoundError                   404 on an object
    │       ├── IncompleteReadError             a page sequence ended early or a body was garbage
    │       │   └── ShortListError              fewer objects than the IdP announced
    │       ├── MalformedObjectError            one object unreadable: skipped and reported, the read goes on
    │       └── CursorExpiredError              the IdP refused the change cursor: a full read is needed
    ├── StoreError                      exit 6  the product store refused or failed
    │   ├── RunInProgressError          exit 7  another run holds this directory's lock
    │   └── SecretUnsealError                   a secret stored encrypted could not be opened
    │       ├── SecretUndecryptableError        no configured key opens it (its key removed?) or it is damaged
    │       └── SecretContextError              it opens, but was sealed for another place
    ├── GuardTrippedError               exit 5  the plan was stopped by the guard
    ├── ConflictsFoundError             exit 8  conflicts, with --strict
    ├── StalePlanError                  exit 9  the store changed since a saved plan was made
    ├── EventCursorExpiredError         exit 10 an events cursor older than the retention: resync
    └── UnexpectedError                 exit 1  a failure no other error names (a bug)

Errors are raised ``from`` their cause and translated only at the edges: a
provider turns HTTP into these, the CLI turns these into exit codes.  No
message ever carries a secret.
"""

from __future__ import annotations

from collections.abc import Iterable


class ConnectorError(Exception):
    """Root of every error the connector raises on purpose."""

    exit_code: int = 1


class ConfigError(ConnectorError):
    """A configuration value is missing or wrong."""

    exit_code = 2


class ProviderError(ConnectorError):
    """Reading the identity provider failed.

    ``status`` is the HTTP status (if any) and ``code`` the IdP's own error
    code (Okta ``errorCode``, Graph ``error.code``, SCIM ``scimType``).
    """

    exit_code = 4
    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        directory_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.directory_id = directory_id


class RetryableError(ProviderError):
    """A failure that another attempt may not meet (5xx, 429, connection)."""

    retryable = True


class UnreachableError(RetryableError):
    """No answer at all: the connection failed or timed out.

    ``refused`` says nothing listens there (the host answered the connection with a refusal): a
    server that is down or a wrong port, which ``check`` reports at once instead of retrying.
    """

    def __init__(self, message: str, *, refused: bool = False, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.refused = refused


class RateLimitedError(RetryableError):
    """The IdP answered 429.  ``retry_after`` is the wait it asked for, in seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class TerminalError(ProviderError):
    """A failure that retrying will not fix."""


class AuthError(TerminalError):
    """Credentials or token refused, or a scope is missing."""

    exit_code = 3


class NotFoundError(TerminalError):
    """The IdP has no such object."""


class IncompleteReadError(TerminalError):
    """A page sequence ended early or a body could not be read.

    Never treated as a shorter directory: downstream a short read would look
    like people leaving.
    """


class ShortListError(IncompleteReadError):
    """A list ended with fewer objects than the IdP announced for it (Graph ``@odata.count``).

    For users or groups the whole read is in doubt; for a group's member list only that
    group's memberships are (docs/contract.md, "Absent groups and incomplete member lists")."""


class MalformedObjectError(TerminalError):
    """One object the IdP answered cannot be read: a missing or mistyped field, an unknown status.

    An adapter raises it while mapping one object and catches it in the same read: the object
    is skipped and reported (:class:`connector.model.ReadProblem`), never read as inactive or
    absent, and the read goes on (docs/contract.md, "2. Map").  ``object_id`` is the object's
    id when it has a readable one."""

    def __init__(self, message: str, *, kind: str, object_id: str | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.kind = kind
        self.object_id = object_id


class CursorExpiredError(TerminalError):
    """The IdP refused the stored change cursor; a full read is needed."""


class StoreError(ConnectorError):
    """The product store failed or refused a change."""

    exit_code = 6


class RunInProgressError(StoreError):
    """Another sync run holds this directory's lock."""

    exit_code = 7


class OrganizationBusyError(RunInProgressError):
    """Another run of the organization holds its lock (its directories share its accounts)."""


class SecretKeyError(ConfigError):
    """The keys of the secrets at rest (``CONNECTOR_SECRET_KEYS`` or its file) are missing or wrong.

    The message names the key by its position or file line, never by its text."""


class SecretUnsealError(StoreError):
    """A secret stored encrypted could not be opened.

    ``context`` is the place it was read for (``org/acme/directory/okta-main/client_secret``),
    ``fingerprint`` the key its token names, when it names one.  The message never carries the
    token or the secret."""

    def __init__(self, message: str, *, context: str | None = None, fingerprint: str | None = None) -> None:
        super().__init__(message)
        self.context = context
        self.fingerprint = fingerprint


class SecretUndecryptableError(SecretUnsealError):
    """No configured key opens the token: its key was removed from the list, or the token is damaged."""


class SecretContextError(SecretUnsealError):
    """The token opens, but it was sealed for another place: it was copied from another row."""


class GuardTrippedError(ConnectorError):
    """The guard stopped a plan.  ``rule`` names the rule that tripped."""

    exit_code = 5

    def __init__(self, message: str, *, rule: str | None = None) -> None:
        super().__init__(message)
        self.rule = rule


class ConflictsFoundError(ConnectorError):
    """Conflicts were found and ``--strict`` asked to fail on them."""

    exit_code = 8


class StalePlanError(ConnectorError):
    """A saved plan no longer matches the store it was made against."""

    exit_code = 9


class EventCursorExpiredError(ConnectorError):
    """An events cursor from before the oldest event kept: events after it were pruned, so the
    consumer must resync (read the store whole) and go on from the newest event."""

    exit_code = 10


class UnexpectedError(ConnectorError):
    """Something failed that the connector has no error for (a bug, or an answer no check foresaw).

    The CLI reports it like any other error (exit 1) and goes on with the next directory; the
    traceback goes to the debug log (``-v``)."""


SEVERITY = (1, 6, 3, 4, 2, 7, 9, 5, 8)
"""Exit codes from the most to the least serious: when several directories end differently, the
command exits with the most serious (docs/cli.md, "Exit codes")."""


def worst_exit_code(codes: Iterable[int]) -> int:
    """The most serious of several exit codes (:data:`SEVERITY`); 0 when every one is 0."""
    failed = [code for code in codes if code]
    if not failed:
        return 0
    rank = {code: n for n, code in enumerate(SEVERITY)}
    return min(failed, key=lambda code: rank.get(code, -1))
