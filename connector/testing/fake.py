"""A fake IdP on top of ``responses``: the author's renderer plus scripted faults.

Every request under the harness's ``base_url`` goes to
:meth:`Harness.serve`, unless a queued :class:`Fault` answers it first.  The
fake records every request, so checks can count them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field
from typing import TYPE_CHECKING
from typing import Any
from urllib.parse import urlsplit

import requests
import responses

from connector.testing.directory import KitDirectory

if TYPE_CHECKING:
    from connector.testing.conformance import Harness


@dataclass
class Fault:
    """Answer the next matching API request(s) differently.

    ``status`` (with ``headers`` and ``body``) replaces the answer; ``truncate``
    cuts the real body in half; ``drop`` loses the connection; ``garble``
    replaces the body with a JSON ``null``.  ``path`` limits the fault to
    requests whose path contains it; token requests are never faulted.
    ``times`` counts how many requests it answers (``None``: every one).
    """

    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None
    truncate: bool = False
    drop: bool = False
    garble: bool = False
    path: str | None = None
    times: int | None = 1


class FakeIdp:
    """Serves ``directory`` through ``harness`` on the ``responses`` mock ``rsps``.

    Every request to the host of ``harness.base_url`` (token endpoint included) comes here.
    """

    def __init__(self, harness: Harness, directory: KitDirectory, rsps: responses.RequestsMock) -> None:
        self.harness = harness
        self.directory = directory
        self.requests: list[requests.PreparedRequest] = []
        self.faults: list[Fault] = []
        origin = urlsplit(harness.base_url)
        pattern = re.compile(re.escape(f"{origin.scheme}://{origin.netloc}") + r"(/.*)?$")
        for method in (responses.GET, responses.POST):
            rsps.add_callback(method, pattern, callback=self._handle)

    def inject(self, fault: Fault) -> None:
        self.faults.append(fault)

    @property
    def token_requests(self) -> int:
        return sum(1 for r in self.requests if self.harness.is_token_request(r))

    @property
    def api_requests(self) -> int:
        return len(self.requests) - self.token_requests

    def _take(self, request: requests.PreparedRequest) -> Fault | None:
        if self.harness.is_token_request(request):
            return None
        for fault in self.faults:
            if fault.path is None or fault.path in (request.path_url or ""):
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                return fault
        return None

    def _handle(self, request: requests.PreparedRequest) -> Any:
        self.requests.append(request)
        fault = self._take(request)
        if fault is not None and fault.drop:
            return requests.ConnectionError("connection dropped by the fake IdP")
        if fault is not None and fault.status is not None:
            return (fault.status, dict(fault.headers), fault.body or "")
        status, headers, body = self.harness.serve(request, self.directory)
        if fault is not None and fault.truncate:
            body = body[: len(body) // 2]
        if fault is not None and fault.garble:
            body = "null"
        return (status, headers, body)
