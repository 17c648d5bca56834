"""``Connector.check``: every directory at once, and an IdP that is down answers in seconds."""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from typing import Any

import pytest

from connector.api.connector import Connector
from connector.config.loader import DirectoryConfig
from connector.config.loader import config_from_dict
from connector.providers.base import CheckResult


def _closed_port() -> int:
    """A local port nothing listens on: connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _config(tmp_path: Path, base_urls: list[str]) -> Any:
    return config_from_dict(
        {
            "organization": {"verified_domains": ["example.com"]},
            "store": {"url": f"sqlite:///{tmp_path / 'store.sqlite'}"},
            "directories": [
                {
                    "id": f"scim-{n}",
                    "provider": "scim",
                    "base_url": url,
                    "auth": {"method": "bearer", "token_env": "CHECK_TEST_TOKEN"},
                }
                for n, url in enumerate(base_urls)
            ],
        },
        env={"CHECK_TEST_TOKEN": "not-a-real-token"},
    )


class _MeetingProvider:
    """A provider whose check waits until every directory's check has started."""

    def __init__(self, barrier: threading.Barrier, directory_id: str) -> None:
        self.barrier = barrier
        self.directory_id = directory_id

    def check(self) -> CheckResult:
        self.barrier.wait()
        return CheckResult(
            ok=True, provider="scim", directory_id=self.directory_id, granted_scopes=[self.directory_id]
        )

    def close(self) -> None:
        pass


def test_directories_are_checked_at_once_and_reported_in_configuration_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(tmp_path, [f"https://idp{n}.test/scim/v2" for n in range(3)])
    barrier = threading.Barrier(3, timeout=10)  # one after another, the first would wait alone
    monkeypatch.setattr(
        Connector, "open_provider", lambda self, d: _MeetingProvider(barrier, d.settings.directory_id)
    )
    reports = Connector(config).check()
    assert [r.directory_id for r in reports] == ["scim-0", "scim-1", "scim-2"]
    assert all(r.ok for r in reports)
    assert [r.granted_scopes for r in reports] == [("scim-0",), ("scim-1",), ("scim-2",)]


def test_a_refused_connection_is_reported_at_once_not_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(tmp_path, [f"http://127.0.0.1:{_closed_port()}/scim/v2" for _ in range(2)])
    assert config.directories[0].settings.http.max_retries > 0  # the defaults retry a sync
    opened: list[DirectoryConfig] = []
    real_open = Connector.open_provider

    def recording_open(self: Connector, directory: DirectoryConfig) -> Any:
        opened.append(directory)
        return real_open(self, directory)

    monkeypatch.setattr(Connector, "open_provider", recording_open)
    reports = Connector(config).check()
    assert [r.ok for r in reports] == [False, False]
    for report in reports:
        assert "connection refused" in report.detail
        assert "gave up after" not in report.detail  # no attempt was repeated
        assert report.error is not None and report.error.exit_code == 4
    assert all(d.settings.http.retry_refused is False for d in opened)
