"""The handlers that write a plan's changes, one per action, registered as their modules load.

:mod:`~connector.store.handlers.groups` writes groups, memberships and the
directory's bookkeeping; :mod:`~connector.store.handlers.accounts` accounts and
links; :mod:`~connector.store.handlers.mirror` the mirror of the directory's last
read.  :func:`handlers` is the registry the applier (:mod:`connector.apply`) reads.
"""

from __future__ import annotations

from connector.rules.plan import Action
from connector.store.handlers import accounts as _accounts  # noqa: F401  (registers its handlers)
from connector.store.handlers import groups as _groups  # noqa: F401
from connector.store.handlers import mirror as _mirror  # noqa: F401
from connector.store.handlers.registry import Handler
from connector.store.handlers.registry import registered


def handlers() -> dict[Action, Handler]:
    """The registry, every built-in handler loaded: action -> handler."""
    return registered()
