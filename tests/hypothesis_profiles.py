"""Example counts that follow the active Hypothesis profile (registered in ``tests/conftest.py``).

A test that names its own ``max_examples`` asks for ``examples(n)``: ``n`` under
the CI profile, the same share of ``n`` as the active profile's ``max_examples``
is of the CI profile's under any other (a fifth under ``local``), and never
fewer than ``minimum`` (nor more than ``n``) for a smaller share.
"""

from __future__ import annotations

from hypothesis import settings

CI = "ci"
LOCAL = "local"


def examples(n: int, *, minimum: int = 10) -> int:
    """How many examples a test that runs ``n`` under the CI profile runs under the active one."""
    share = settings().max_examples / settings.get_profile(CI).max_examples
    if share >= 1:
        return round(n * share)
    return max(min(n, minimum), round(n * share))
