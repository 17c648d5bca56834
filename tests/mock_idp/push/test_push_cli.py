"""``mock-idp push``: the QA flow of docs/mock-idp.md, "Pushing like Okta and Entra"."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from mock_idp.cli import main
from mock_idp.server import MockIdpServer
from mock_idp.state.directory import ApiToken
from mock_idp.state.directory import Directory
from mock_idp.state.generator import generate

ADMIN = "cli-admin-token"
SCIM_TOKEN = "cli-scim-token-never-printed"


@pytest.fixture
def source() -> Iterator[MockIdpServer]:
    with MockIdpServer(generate(12, 3, seed=5), config={"ADMIN_TOKEN": ADMIN}) as server:
        yield server


@pytest.fixture
def target() -> Iterator[MockIdpServer]:
    directory = Directory(seed=6)
    directory.add_api_token(ApiToken(SCIM_TOKEN, "scim", ("scim.read", "scim.write")))
    with MockIdpServer(directory, config={"DEFAULT_CREDENTIALS": False}) as server:
        yield server


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env={"MOCK_IDP_PUSH_TOKEN": SCIM_TOKEN})
    return result.exit_code, result.output


def test_push_from_a_running_mock_then_incrementally(
    source: MockIdpServer, target: MockIdpServer, tmp_path: Path
) -> None:
    state = tmp_path / "push-state.json"
    common = ["--as", "entra", "--to", f"{target.url}/scim/v2", "--state", str(state)]
    origin = ["--from", source.url, "--admin-token", ADMIN]
    code, out = _run("push", *common, *origin, "--json")
    assert code == 0, out
    report = json.loads(out)
    assert report["actions"]["user created"] == 12 and report["failures"] == []
    assert len(target.directory.users) == 12
    assert SCIM_TOKEN not in out and SCIM_TOKEN not in state.read_text()
    code, out = _run("push", *common, *origin)
    assert (code, out.strip().split(": ", 1)[1]) == (0, "no changes; requests: nothing; retries: 0")
    user = next(iter(source.directory.users.values()))
    headers = {"Authorization": f"Bearer {ADMIN}"}
    requests.post(f"{source.url}/_admin/users/{user.object_id}/deactivate", headers=headers, timeout=10)
    code, out = _run("push", *common, *origin, "--json")
    assert code == 0 and json.loads(out)["requests"] == {"PATCH": 1}
    assert target.directory.user_by_name(user.upn).active is False  # type: ignore[union-attr]


def test_push_a_generated_directory_and_report_failures(target: MockIdpServer) -> None:
    code, out = _run("push", "--as", "okta", "--to", f"{target.url}/scim/v2", "--users", "3", "--groups", "0")
    assert code == 0 and "3 user created" in out
    code, out = _run("push", "--as", "okta", "--to", f"{target.url}/scim/v2", "--users", "3", "--groups", "0")
    assert code == 0 and "3 user linked" in out  # found by userName, linked, not re-created
    result = CliRunner().invoke(
        main, ["push", "--as", "okta", "--to", f"{target.url}/scim/v2", "--users", "1", "--token", "wrong"]
    )
    assert result.exit_code == 1 and "failed: GET /Users -> 401" in result.output


def test_a_state_file_of_another_target_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "s.json"
    state.write_text(
        json.dumps({"format": 1, "dialect": "okta", "target": "https://a/", "users": {}, "groups": {}})
    )
    code, out = _run("push", "--as", "okta", "--to", "https://b/", "--state", str(state), "--users", "0")
    assert code == 1 and "records a push as okta to https://a/" in out


def test_from_needs_an_admin_token_and_no_fixture() -> None:
    code, out = _run("push", "--as", "okta", "--to", "https://b/", "--from", "http://m", "--users", "2")
    assert code == 2 and "either --from or" in out
