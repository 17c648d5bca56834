"""``config apply``, ``orgs``, ``directories`` and ``secrets``, on SQLite and PostgreSQL.

The store keeps secrets sealed (the raw column never holds the plaintext), a directory added as
data runs with its opened secret, a key rotation leaves it running once the old key is gone, and
a secret that does not open fails its directory alone.
"""

from __future__ import annotations

import json
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any
from typing import ClassVar

import pytest
from builders import user
from click.testing import CliRunner
from click.testing import Result
from fakes import FakeProvider
from sqlalchemy import create_engine
from sqlalchemy import text

from connector.cli.main import cli
from connector.providers import registry
from connector.providers.base import ProviderSettings
from connector.vault import Vault

PLAINTEXT = "tok-PLAINTEXT-5678"


class TokenProvider(FakeProvider):
    """Two people; records the token each directory was opened with."""

    name = "token-people"
    tokens: ClassVar[dict[str, str | None]] = {}

    @classmethod
    def from_settings(cls, settings: ProviderSettings) -> TokenProvider:
        token = settings.auth.token
        cls.tokens[settings.directory_id] = token.reveal() if token is not None else None
        provider = cls(settings.directory_id)
        for n in range(2):
            provider.put_user(user(n))
        return provider


CONFIG = """
[store]
url = "{url}"

[[organizations]]
id = "acme"
name = "Acme Corp"
verified_domains = ["example.com"]
products = {{ wiki = ["Everyone"] }}

[[organizations.directories]]
id = "main"
provider = "token-people"
base_url = "https://acme.test"
auth = {{ method = "bearer", token_env = "REGISTRY_TEST_TOKEN" }}
{more}
"""

GLOBEX = """
[[organizations]]
id = "globex"
verified_domains = ["globex.com"]

[[organizations.directories]]
id = "{directory}"
provider = "token-people"
base_url = "https://globex.test"
auth = {{ method = "bearer", token_env = "REGISTRY_TEST_TOKEN" }}
"""


@pytest.fixture
def config(tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    point = EntryPoint(TokenProvider.name, f"{__name__}:TokenProvider", registry.ENTRY_POINT_GROUP)
    monkeypatch.setattr(registry, "entry_points", lambda group: [point] if group == point.group else [])
    monkeypatch.setenv("REGISTRY_TEST_TOKEN", "file-token")
    monkeypatch.setenv("CONNECTOR_SECRET_KEYS", KEY_A)
    monkeypatch.delenv("CONNECTOR_SECRET_KEYS_FILE", raising=False)
    monkeypatch.delenv("CONNECTOR_ORG", raising=False)
    TokenProvider.tokens.clear()
    path = tmp_path / "connector.toml"
    write(path, store_url)
    return path


KEY_A = Vault.generate_key()
KEY_B = Vault.generate_key()


def write(path: Path, url: str, more: str = "") -> None:
    path.write_text(CONFIG.format(url=url, more=more))


def url_of(config: Path) -> str:
    return config.read_text().split('url = "', 1)[1].split('"', 1)[0]


def run(config: Path, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args], input=input)


def as_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def raw_secrets(config: Path) -> list[str]:
    engine = create_engine(url_of(config))
    try:
        with engine.connect() as conn:
            return [
                r[0] for r in conn.execute(text("SELECT secrets FROM directories WHERE secrets IS NOT NULL"))
            ]
    finally:
        engine.dispose()


def add_stored(config: Path, directory_id: str = "stored", *extra: str) -> Result:
    return run(
        config,
        "--org",
        "acme",
        "directories",
        "add",
        directory_id,
        "--provider",
        "token-people",
        "--base-url",
        "https://stored.test",
        "--auth-method",
        "bearer",
        "--secret-stdin",
        *extra,
        input=PLAINTEXT + "\n",
    )


# ---------------------------------------------------------------------- config apply


def test_config_apply_create_update_unchanged_prune(config: Path) -> None:
    url = url_of(config)
    write(config, url, GLOBEX.format(directory="g-main"))
    plan = as_json(run(config, "config", "apply", "--json"))
    assert not plan["applied"]  # no --yes, no terminal: the plan only
    # the store, made on first use, registers the file's first organization: acme is an update
    assert plan["plan"]["counts"] == {"create": 3, "update": 1, "unchanged": 0, "delete": 0}
    created = as_json(run(config, "config", "apply", "--yes", "--json"))
    assert created["applied"]
    shown = as_json(run(config, "orgs", "show", "acme", "--json"))["organization"]
    assert shown["verified_domains"] == ["example.com"] and shown["product_grants"] == {"wiki": ["Everyone"]}

    write(
        config,
        url,
        GLOBEX.format(directory="g-main").replace("globex.test", "globex2.test"),
    )
    config.write_text(config.read_text().replace('name = "Acme Corp"', 'name = "Acme Inc"'))
    updated = as_json(run(config, "config", "apply", "--yes", "--json"))["plan"]
    assert updated["counts"] == {"create": 0, "update": 2, "unchanged": 2, "delete": 0}
    changes = {
        (c["org_id"], c.get("directory_id")): c["changes"]
        for c in updated["organizations"] + updated["directories"]
    }
    assert changes[("acme", None)] == ["name: 'Acme Corp' -> 'Acme Inc'"]
    assert changes[("globex", "g-main")] == ["base_url: https://globex.test -> https://globex2.test"]

    unchanged = as_json(run(config, "config", "apply", "--yes", "--json"))["plan"]
    assert unchanged["counts"] == {"create": 0, "update": 0, "unchanged": 4, "delete": 0}
    text_plan = run(config, "config", "apply")
    assert "0 to create, 0 to update, 4 unchanged, 0 to delete" in text_plan.output

    write(config, url)  # globex is gone from the file
    kept = as_json(run(config, "config", "apply", "--yes", "--json"))["plan"]
    assert kept["counts"]["delete"] == 0  # never without --prune
    refused = run(config, "config", "apply", "--prune")
    assert refused.exit_code == 2 and "--yes" in refused.output
    pruned = as_json(run(config, "config", "apply", "--prune", "--yes", "--json"))["plan"]
    assert [(c["org_id"], c["action"]) for c in pruned["organizations"] if c["action"] == "delete"] == [
        ("globex", "delete")
    ]
    listed = as_json(run(config, "orgs", "list", "--json"))["organizations"]
    assert [o["org_id"] for o in listed] == ["acme"]


def test_a_directory_moved_between_organizations_is_refused_naming_both(config: Path) -> None:
    url = url_of(config)
    write(config, url, GLOBEX.format(directory="g-main"))
    assert run(config, "config", "apply", "--yes").exit_code == 0
    moved = CONFIG.format(url=url, more=GLOBEX.format(directory="main")).replace(
        'id = "main"\nprovider = "token-people"\nbase_url = "https://acme.test"',
        'id = "other"\nprovider = "token-people"\nbase_url = "https://acme.test"',
        1,
    )
    config.write_text(moved)
    result = run(config, "config", "apply", "--yes")
    assert result.exit_code == 2, result.output
    assert "'main' is organization 'acme'" in result.output and "'globex'" in result.output


def test_a_domain_claimed_by_two_organizations_is_refused_naming_both(config: Path) -> None:
    assert run(config, "config", "apply", "--yes").exit_code == 0
    result = run(config, "orgs", "add", "globex", "--domain", "example.com")
    assert result.exit_code == 6, result.output
    assert "'example.com' is verified by organization 'acme'" in result.output and "'globex'" in result.output


@pytest.mark.parametrize("bad", ["Globex", "glo_bex", "globex-"])
def test_an_organization_id_that_is_no_slug_is_refused(config: Path, bad: str) -> None:
    result = run(config, "orgs", "add", bad)
    assert result.exit_code == 2 and "is not an organization id" in result.output


def test_a_directory_id_that_is_no_slug_is_refused(config: Path) -> None:
    assert run(config, "config", "apply", "--yes").exit_code == 0
    result = add_stored(config, "bad id")
    assert result.exit_code == 2 and "is not a directory id" in result.output


# ---------------------------------------------------------------------- directories as data


def test_a_stored_directory_is_sealed_at_rest_and_runs(config: Path) -> None:
    assert run(config, "config", "apply", "--yes").exit_code == 0
    added = add_stored(config, "stored", "--json")
    secrets = as_json(added)["directory"]["secrets"]
    assert secrets == [
        {"name": "token", "sealed_with": Vault.from_keys(KEY_A).fingerprints[0], "newest_key": True}
    ]
    assert PLAINTEXT not in added.output
    raw = raw_secrets(config)
    assert raw and all(PLAINTEXT not in value for value in raw)
    shown = run(config, "--org", "acme", "directories", "show", "stored")
    assert "secret token: stored, sealed with key" in shown.output and PLAINTEXT not in shown.output

    synced = run(config, "-v", "--org", "acme", "sync", "--json")
    data = as_json(synced)
    assert [d["directory_id"] for d in data["directories"]] == ["main", "stored"]
    assert TokenProvider.tokens == {"main": "file-token", "stored": PLAINTEXT}
    assert PLAINTEXT not in synced.stderr

    listed = as_json(run(config, "--org", "acme", "directories", "list", "--json"))["directories"]
    assert {d["directory_id"]: d["runs_from"] for d in listed} == {"main": "file", "stored": "store"}
    refused = add_stored(config, "main")
    assert refused.exit_code == 2 and "the file wins" in refused.output


def test_a_directory_the_file_declares_is_listed_as_the_file_says(config: Path) -> None:
    """Synced without `config apply`: the store has a row for it, but it runs from the file."""
    assert run(config, "--org", "acme", "sync").exit_code == 0
    listed = as_json(run(config, "--org", "acme", "directories", "list", "--json"))["directories"]
    assert [(d["directory_id"], d["base_url"], d["runs_from"]) for d in listed] == [
        ("main", "https://acme.test", "file")
    ]
    shown = run(config, "--org", "acme", "directories", "show", "main")
    assert shown.output.startswith("acme/main: token-people at https://acme.test")


def test_rotate_then_remove_the_old_key_still_runs(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(config, "config", "apply", "--yes").exit_code == 0
    assert add_stored(config).exit_code == 0
    monkeypatch.setenv("CONNECTOR_SECRET_KEYS", f"{KEY_B},{KEY_A}")
    dry = as_json(run(config, "secrets", "rotate", "--dry-run", "--json"))
    assert dry["organizations"] == {"acme": {"rotated": 1, "current": 0, "failed": 0}}
    done = as_json(run(config, "secrets", "rotate", "--json"))
    assert done["organizations"] == {"acme": {"rotated": 1, "current": 0, "failed": 0}}
    again = as_json(run(config, "secrets", "rotate", "--json"))
    assert again["organizations"] == {"acme": {"rotated": 0, "current": 1, "failed": 0}}
    monkeypatch.setenv("CONNECTOR_SECRET_KEYS", KEY_B)
    synced = run(config, "--org", "acme", "sync", "-d", "stored", "--json")
    assert synced.exit_code == 0, synced.output
    assert TokenProvider.tokens["stored"] == PLAINTEXT


@pytest.mark.parametrize(
    ("keys", "code", "says"), [("", 2, "no key"), (KEY_B, 6, "not among the configured keys")]
)
def test_a_secret_that_does_not_open_fails_only_its_directory(
    config: Path, monkeypatch: pytest.MonkeyPatch, keys: str, code: int, says: str
) -> None:
    assert run(config, "config", "apply", "--yes").exit_code == 0
    assert add_stored(config).exit_code == 0
    monkeypatch.setenv("CONNECTOR_SECRET_KEYS", keys)
    result = run(config, "--org", "acme", "sync", "--json")
    assert result.exit_code == code, result.output
    data = json.loads(result.stdout)
    by_id = {d["directory_id"]: d for d in data["directories"]}
    assert by_id["main"]["outcome"] == "applied"  # the file's directory still ran
    message = by_id["stored"]["error"]["message"]
    assert "directory 'stored' of organization 'acme' cannot run" in message and says in message
    raw = raw_secrets(config)[0]
    assert raw.split('"')[3] not in result.output and PLAINTEXT not in result.output
    check = run(config, "--org", "acme", "check", "--json")
    assert {d["directory_id"]: d["ok"] for d in json.loads(check.stdout)["directories"]}["stored"] is False


def test_a_disabled_directory_is_skipped_by_sync_saying_so(config: Path) -> None:
    assert run(config, "config", "apply", "--yes").exit_code == 0
    assert add_stored(config).exit_code == 0
    assert run(config, "--org", "acme", "directories", "disable", "stored").exit_code == 0
    result = run(config, "--org", "acme", "sync", "--json")
    data = as_json(result)
    assert [d["directory_id"] for d in data["directories"]] == ["main"] and data["disabled"] == ["stored"]
    assert "stored: disabled" in result.stderr
    assert run(config, "--org", "acme", "directories", "enable", "stored").exit_code == 0
    assert [
        d["directory_id"] for d in as_json(run(config, "--org", "acme", "sync", "--json"))["directories"]
    ] == [
        "main",
        "stored",
    ]


def test_removing_a_directory_that_holds_links_needs_force(config: Path) -> None:
    assert run(config, "config", "apply", "--yes").exit_code == 0
    assert add_stored(config, "stored", "--domain", "example.com").exit_code == 0  # it links example.com
    assert run(config, "--org", "acme", "sync", "-d", "stored").exit_code == 0
    no_yes = run(config, "--org", "acme", "directories", "remove", "stored")
    assert no_yes.exit_code == 2
    refused = run(config, "--org", "acme", "directories", "remove", "stored", "--yes")
    assert refused.exit_code == 6 and "holds 2 links" in refused.output
    gone = as_json(
        run(config, "--org", "acme", "directories", "remove", "stored", "--yes", "--force", "--json")
    )
    assert gone["removed"]["removed"]["links"] == 2
    file_one = run(config, "--org", "acme", "directories", "remove", "main", "--yes")
    assert file_one.exit_code == 2 and "declares directory 'main'" in file_one.output


def test_an_organization_only_the_store_holds_runs(config: Path) -> None:
    assert (
        run(config, "orgs", "add", "initech", "--name", "Initech", "--domain", "initech.com").exit_code == 0
    )
    add = ["directories", "add", "idp", "--provider", "token-people", "--base-url", "https://initech.test"]
    result = run(
        config, "--org", "initech", *add, "--auth-method", "bearer", "--secret-stdin", input="initech-token"
    )
    assert result.exit_code == 0, result.output
    synced = run(config, "--org", "initech", "sync", "--json")
    assert [d["directory_id"] for d in as_json(synced)["directories"]] == ["idp"]
    assert TokenProvider.tokens["idp"] == "initech-token"
    unknown = run(config, "--org", "nowhere", "sync")
    assert unknown.exit_code == 2 and "no organization 'nowhere' in the file or the store" in unknown.output


def test_new_key_prints_a_usable_key(config: Path) -> None:
    result = CliRunner().invoke(cli, ["secrets", "new-key"])
    assert result.exit_code == 0
    Vault.from_keys(result.stdout.strip())
