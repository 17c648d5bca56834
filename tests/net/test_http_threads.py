"""One HttpClient from two threads (a page prefetch and its consumer): tokens, counters and pauses hold."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests
import responses

from connector.net.auth import Authenticator
from connector.net.http import HttpClient
from connector.net.settings import HttpSettings
from connector.net.settings import Secret

BASE = "https://idp.example.com"
PER_THREAD = 40


class SlowTokenAuth(Authenticator):
    """An OAuth-like authenticator whose token fetch takes a while; counts fetches and overlaps."""

    def __init__(self) -> None:
        super().__init__(requests.Session(), (Secret("client-secret"),))
        self.token: str | None = None
        self.fetches = 0
        self.inside = 0
        self.most_inside = 0
        self._count = threading.Lock()

    @property
    def is_oauth(self) -> bool:
        return True

    def ensure(self) -> None:
        with self._count:
            self.inside += 1
            self.most_inside = max(self.most_inside, self.inside)
        try:
            if self.token is None:
                time.sleep(0.05)  # the token endpoint answering
                self.fetches += 1
                self.token = f"token-{self.fetches}"
                self.session.headers["Authorization"] = f"Bearer {self.token}"
        finally:
            with self._count:
                self.inside -= 1

    def renew(self) -> bool:
        self.token = None
        return True


def _answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
    time.sleep(0.001)  # both threads' requests in flight at once
    return 200, {}, "[]"


def test_two_threads_share_one_token_fetch_and_count_every_request() -> None:
    auth = SlowTokenAuth()
    client = HttpClient(auth, HttpSettings())
    with responses.RequestsMock() as mock:
        mock.add_callback(responses.GET, f"{BASE}/api/v1/users", callback=_answer)
        start = threading.Barrier(2)

        def read() -> None:
            start.wait()
            for _ in range(PER_THREAD):
                client.get_json(f"{BASE}/api/v1/users")

        with ThreadPoolExecutor(2) as pool:
            for done in [pool.submit(read), pool.submit(read)]:
                done.result()
    assert auth.fetches == 1  # the second thread waited for the first one's token
    assert auth.most_inside == 1
    assert client.request_count == 2 * PER_THREAD


def test_a_pause_for_the_rate_budget_holds_both_threads() -> None:
    """A bucket paused by one thread's answer makes every later request wait, whichever thread sends it."""
    sleeps: list[float] = []
    lock = threading.Lock()

    def sleep(seconds: float) -> None:
        with lock:
            sleeps.append(seconds)

    now = 1_000.0
    client = HttpClient(
        Authenticator(requests.Session(), (Secret("t"),)),
        HttpSettings(rate_share=0.5),
        sleep=sleep,
        monotonic=lambda: now,
        wallclock=lambda: now,
    )
    low = {"X-Rate-Limit-Limit": "100", "X-Rate-Limit-Remaining": "10", "X-Rate-Limit-Reset": "1030"}
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, f"{BASE}/api/v1/users", json=[], headers=low)  # the first answer ...
        mock.add(responses.GET, f"{BASE}/api/v1/users", json=[])  # ... then plain ones
        client.get_json(f"{BASE}/api/v1/users")  # answers that the share is used up until 1030
        with ThreadPoolExecutor(2) as pool:
            for done in [pool.submit(client.get_json, f"{BASE}/api/v1/users") for _ in range(2)]:
                done.result()
    assert sleeps == [31.0, 31.0]  # both waited for the reset (+1 s), not only the first
    assert client.waited == sum(sleeps)
