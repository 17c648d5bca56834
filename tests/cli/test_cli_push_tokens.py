"""``directories token``: a push directory's bearer token printed once, on stdout; the store holds a
hash; ``directories show`` lists token ids, never a token."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from click.testing import Result
from sqlalchemy import create_engine
from sqlalchemy import text

from connector.cli.main import cli
from connector.store import Store
from connector.store.push_tokens import PREFIX

CONFIG = """
[store]
url = "{url}"

[[organizations]]
id = "acme"
verified_domains = ["example.com"]

[[organizations.directories]]
id = "main"
provider = "scim"
base_url = "https://acme.test/scim/v2"
auth = {{ method = "bearer", token_env = "PUSH_TEST_TOKEN" }}
"""


@pytest.fixture
def config(tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Organization ``acme`` applied to the store, with a pull directory ``main`` (the file's) and a
    push directory ``hook`` (the store's)."""
    monkeypatch.setenv("PUSH_TEST_TOKEN", "pull-token")
    monkeypatch.delenv("CONNECTOR_ORG", raising=False)
    path = tmp_path / "connector.toml"
    path.write_text(CONFIG.format(url=sqlite_url))
    assert run(path, "config", "apply", "--yes").exit_code == 0
    added = run(path, "directories", "add", "hook", "--provider", "scim", "--mode", "push")
    assert added.exit_code == 0, added.output
    return path


def run(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args])


def checks(config: Path, token: str, directory_id: str = "hook") -> bool:
    url = config.read_text().split('url = "', 1)[1].split('"', 1)[0]
    with Store.open(url, org="acme", upgrade=False) as store:
        return store.check_push_token(directory_id, token)


def test_the_printed_token_checks_and_is_shown_once(config: Path) -> None:
    issued = run(config, "directories", "token", "hook")
    assert issued.exit_code == 0, issued.output
    token = issued.stdout.strip()
    assert token.startswith(PREFIX) and "\n" not in token
    assert "will not be shown again" in issued.stderr and token not in issued.stderr
    assert checks(config, token)
    url = config.read_text().split('url = "', 1)[1].split('"', 1)[0]
    engine = create_engine(url)
    with engine.connect() as conn:
        assert token not in repr(conn.execute(text("SELECT * FROM push_tokens")).all())
    engine.dispose()

    shown = run(config, "directories", "show", "hook")
    assert shown.exit_code == 0 and f"push token {token[len(PREFIX) : len(PREFIX) + 16]}" in shown.stdout
    assert token not in shown.output
    data = json.loads(run(config, "directories", "show", "hook", "--json").stdout)
    [info] = data["directory"]["push_tokens"]
    assert set(info) == {"token_id", "created_at", "expires_at"} and info["expires_at"] is None


def test_rotate_with_json_keeps_the_old_token_for_the_grace(config: Path) -> None:
    old = run(config, "directories", "token", "hook").stdout.strip()
    again = run(config, "directories", "token", "hook")
    assert again.exit_code == 2 and "--rotate" in again.output
    rotated = run(config, "directories", "token", "hook", "--rotate", "--grace", "2h", "--json")
    assert rotated.exit_code == 0, rotated.output
    document = json.loads(rotated.stdout)  # nothing else on stdout
    new = document["push_token"]["token"]
    assert new != old and checks(config, new) and checks(config, old)
    assert [t["expires_at"] is None for t in document["push_token"]["tokens"]] == [False, True]
    assert "previous token works until" in rotated.stderr
    leaked = run(config, "directories", "token", "hook", "--rotate", "--grace", "0")
    assert leaked.exit_code == 0 and not checks(config, old) and not checks(config, new)
    assert checks(config, leaked.stdout.strip())


def test_a_pull_directory_takes_no_token(config: Path) -> None:
    refused = run(config, "directories", "token", "main")
    assert refused.exit_code == 2
    assert "'main' is a pull directory" in refused.output and PREFIX not in refused.stdout
    unknown = run(config, "directories", "token", "nowhere")
    assert unknown.exit_code == 2 and "no directory 'nowhere'" in unknown.output
    bad_grace = run(config, "directories", "token", "hook", "--rotate", "--grace", "soon")
    assert bad_grace.exit_code == 2 and "not a duration" in bad_grace.output
