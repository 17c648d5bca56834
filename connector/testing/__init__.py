"""A conformance kit for provider adapters, built-in or third-party.

An adapter author writes a :class:`Harness` (a fake of their IdP that renders
the kit's small directory in the IdP's wire format) and runs every check::

    import pytest
    from connector.testing import CHECKS

    @pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
    def test_conformance(check):
        check(AcmeHarness())

The checks prove complete paging, the ``active`` mapping, error translation,
retry behaviour, request counts and that secrets never show.  The kit needs
``responses`` (the ``test`` extra).  See ``docs/adding-a-provider.md``.
"""

from connector.testing.conformance import CHECKS
from connector.testing.conformance import KIT_HTTP
from connector.testing.conformance import PAGE_SIZE
from connector.testing.conformance import Harness
from connector.testing.conformance import expected_requests
from connector.testing.conformance import run_conformance
from connector.testing.conformance import running
from connector.testing.directory import KitDirectory
from connector.testing.directory import KitGroup
from connector.testing.directory import KitUser
from connector.testing.directory import sample_directory
from connector.testing.fake import FakeIdp
from connector.testing.fake import Fault

__all__ = [
    "CHECKS",
    "KIT_HTTP",
    "PAGE_SIZE",
    "FakeIdp",
    "Fault",
    "Harness",
    "KitDirectory",
    "KitGroup",
    "KitUser",
    "expected_requests",
    "run_conformance",
    "running",
    "sample_directory",
]
