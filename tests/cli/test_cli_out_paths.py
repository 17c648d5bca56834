"""``review --out`` and ``plan --out`` to a path that cannot be written: exit 2 naming it, no traceback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from connector.cli.main import cli
from mock_idp.server import MockIdpServer
from mock_idp.state.credentials import default_credentials
from mock_idp.state.generator import generate

pytestmark = pytest.mark.e2e

SEED = 4


@pytest.fixture(scope="module")
def mock() -> Iterator[MockIdpServer]:
    with MockIdpServer(generate(users=5, groups=2, seed=SEED)) as server:
        yield server


@pytest.fixture
def invoke(tmp_path: Path, mock: MockIdpServer):
    config = tmp_path / "connector.toml"
    config.write_text(
        f"""
[organization]
verified_domains = ["example.com"]

[[directories]]
id = "scim"
provider = "scim"
base_url = "{mock.url}/scim/v2"
auth = {{ method = "bearer", token_env = "OUT_TEST_SCIM_TOKEN" }}
"""
    )
    env = {"OUT_TEST_SCIM_TOKEN": default_credentials(SEED).scim_token}

    def run(*args: str):
        return CliRunner().invoke(cli, ["--config", str(config), *args], env=env)

    return run


@pytest.fixture
def blocked(tmp_path: Path) -> Path:
    """A folder path that cannot exist: a regular file stands where it would be."""
    (tmp_path / "a-file").write_text("")
    return tmp_path / "a-file"


@pytest.mark.parametrize(
    ("command", "name", "what"),
    [(("review",), "review.csv", "the review CSV"), (("plan",), "plan.json", "the plan")],
)
def test_an_unwritable_out_exits_2_naming_it(invoke, blocked, command, name, what):
    target = blocked / name
    result = invoke(*command, "--out", str(target))
    assert result.exit_code == 2, result.output
    assert f"{target}: cannot write {what}" in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_writable_out_still_works(invoke, tmp_path):
    result = invoke("plan", "--out", str(tmp_path / "plan.json"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "plan.json").read_text().startswith("{")
