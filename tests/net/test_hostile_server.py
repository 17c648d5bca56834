"""A small hostile server, started by the tests on a local port, answers as no IdP should.

Whatever it answers, a read ends in one of the connector's own errors (or skips the object and
reports it): never another exception, never a traceback from the CLI.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer

import pytest
from click.testing import CliRunner

from connector.cli.main import cli
from connector.errors import ConnectorError
from connector.errors import IncompleteReadError
from connector.errors import TerminalError
from connector.net.settings import AuthSettings
from connector.net.settings import HttpSettings
from connector.net.settings import Secret
from connector.providers.base import ProviderSettings
from connector.providers.okta import OktaProvider

Answer = tuple[int, dict[str, str], bytes]


def _user(n: int, **profile: object) -> dict[str, object]:
    address = f"user{n}@example.com"
    return {"id": f"00u{n}", "status": "ACTIVE", "profile": {"login": address, "email": address, **profile}}


def _json(body: object, status: int = 200, **headers: str) -> Answer:
    return status, {"Content-Type": "application/json", **headers}, json.dumps(body).encode()


class Hostile:
    """A server whose ``/api/v1/users`` answer is whatever the test sets."""

    def __init__(self) -> None:
        self.answer: Callable[[Hostile, str], Answer] = lambda h, path: _json([])
        hostile = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                status, headers, body = hostile.answer(hostile, self.path)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def provider(self) -> OktaProvider:
        http = HttpSettings(max_retries=1, backoff_base=0.0, backoff_max=0.0, max_total_wait=2.0)
        auth = AuthSettings("ssws", token=Secret("hostile-test-token"))
        return OktaProvider(ProviderSettings("hostile", self.url, auth, http=http))


@pytest.fixture
def hostile() -> Iterator[Hostile]:
    server = Hostile()
    server.thread.start()
    try:
        yield server
    finally:
        server.server.shutdown()
        server.server.server_close()


def _read(server: Hostile) -> list[object]:
    provider = server.provider()
    try:
        return list(provider.iter_users())
    finally:
        provider.close()


NESTED = (200, {"Content-Type": "application/json"}, b"[" * 200_000)
ANSWERS: list[object] = [
    pytest.param(lambda h, p: NESTED, IncompleteReadError, id="deeply-nested-json"),
    pytest.param(lambda h, p: (200, {"Content-Type": "text/html"}, b"<html><body>Sign in</body></html>"),
                 IncompleteReadError, id="html-instead-of-json"),
    pytest.param(lambda h, p: _json({"users": []}), IncompleteReadError, id="object-instead-of-list"),
    pytest.param(lambda h, p: (400, {"Content-Type": "text/html"}, b"<h1>Bad</h1>"), TerminalError,
                 id="html-error"),
    pytest.param(lambda h, p: _json({"errorCode": {"x": 1}, "errorSummary": "s" * 100_000}, 400),
                 TerminalError, id="error-of-the-wrong-shape"),
    pytest.param(lambda h, p: _json([_user(1)], Link='<https://evil.test/api/v1/users?after=1>; rel="next"'),
                 IncompleteReadError, id="next-link-to-another-origin"),
    pytest.param(lambda h, p: (302, {"Location": "https://evil.test/api/v1/users"}, b""), TerminalError,
                 id="redirect-to-another-origin"),
]  # fmt: skip


@pytest.mark.parametrize(("answer", "error"), ANSWERS)
def test_a_hostile_answer_is_one_of_the_connectors_errors(hostile: Hostile, answer, error) -> None:
    hostile.answer = answer
    with pytest.raises(error) as info:
        _read(hostile)
    assert len(str(info.value)) < 2000 and "hostile-test-token" not in str(info.value)


def test_malformed_users_are_skipped_and_reported(hostile: Hostile) -> None:
    users = [_user(n) for n in range(8)]
    users[1]["profile"]["email"] = 12345  # type: ignore[index]
    users[2]["id"] = {"$oid": "x"}
    users[3]["profile"]["displayName"] = ["a", "list"]  # type: ignore[index]
    users[4]["profile"]["displayName"] = "x" * 1_000_000  # type: ignore[index]
    users[5]["status"] = "ACTIVE_V2"
    hostile.answer = lambda h, p: _json(users)
    provider = hostile.provider()
    try:
        read = list(provider.iter_users())
        assert [u.idp_user_id for u in read] == ["00u0", "00u6", "00u7"]
        assert [p.object_id for p in provider.problems] == ["00u1", None, "00u3", "00u4", "00u5"]
        assert all(len(p.reason) < 300 for p in provider.problems)
    finally:
        provider.close()


def test_the_cli_exits_4_without_a_traceback(hostile: Hostile, tmp_path) -> None:
    hostile.answer = lambda h, p: NESTED
    config = tmp_path / "connector.toml"
    config.write_text(f"""
[organization]
verified_domains = ["example.com"]
[[directories]]
id = "hostile"
provider = "okta"
base_url = "{hostile.url}"
auth = {{ method = "ssws", token_env = "HOSTILE_TOKEN" }}
[http]
max_retries = 1
max_total_wait = 2
""")  # fmt: skip
    result = CliRunner().invoke(
        cli, ["--config", str(config), "sync"], env={"HOSTILE_TOKEN": "hostile-test-token"}
    )
    assert result.exit_code == 4, result.output
    assert "Traceback" not in result.output and "malformed JSON" in result.stderr
    assert isinstance(result.exception, SystemExit) or result.exception is None
    assert issubclass(IncompleteReadError, ConnectorError)
