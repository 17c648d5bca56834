"""The CLI's frame: help, exit codes from the error tree, --json errors, redacted logs."""

from __future__ import annotations

import io
import json
import logging

import click
import pytest
from click.testing import CliRunner

from connector import errors
from connector.cli.common import AppContext
from connector.cli.common import CliError
from connector.cli.main import cli
from connector.cli.output import REDACTED
from connector.cli.output import RedactingFilter
from connector.cli.output import redact
from connector.net.settings import Secret

COMMANDS = ("accounts", "apply", "billing", "check", "db", "demo", "groups", "plan", "review", "runs", "sync")


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_help_lists_every_command(runner):
    result = runner.invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in COMMANDS:
        assert f"  {name} " in result.output


def test_demo_help_says_what_the_demo_does(runner):
    """Two organizations, each with its own mock, in one store (README, the demo)."""
    result = runner.invoke(cli, ["demo", "--help"], terminal_width=200)
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "Two organizations" in text and "acme" in text and "globex" in text
    assert "Users in each mock" in text


def test_missing_config_exits_2(runner, tmp_path):
    result = runner.invoke(cli, ["--config", str(tmp_path / "none.toml"), "billing"])
    assert result.exit_code == 2
    assert "configuration file not found" in result.stderr


def test_missing_secret_exits_2_with_json(runner, config_file):
    result = runner.invoke(
        cli, ["--config", str(config_file), "sync", "--json"], env={"CLI_TEST_SCIM_TOKEN": ""}
    )
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert data["error"]["type"] == "ConfigError"
    assert data["error"]["exit_code"] == 2
    assert (
        "directories[0].auth.token_env: the environment variable CLI_TEST_SCIM_TOKEN is not set"
        in (data["error"]["message"])
    )


def test_config_from_environment_variable(runner, config_file, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(config_file.read_text().replace("verified_domains", "verified_domain"))
    result = runner.invoke(cli, ["check"], env={"CONNECTOR_CONFIG": str(bad), "CLI_TEST_SCIM_TOKEN": "x"})
    assert result.exit_code == 2
    assert "organization.verified_domain: unknown key; did you mean 'verified_domains'?" in result.stderr


def test_unknown_directory_exits_2(runner, config_file):
    result = runner.invoke(
        cli, ["--config", str(config_file), "sync", "-d", "nope"], env={"CLI_TEST_SCIM_TOKEN": "x"}
    )
    assert result.exit_code == 2
    assert "no directory with id 'nope'; the configured ids are: scim" in result.stderr


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (errors.ConfigError("c"), 2),
        (errors.AuthError("a"), 3),
        (errors.IncompleteReadError("p"), 4),
        (errors.RateLimitedError("r"), 4),
        (errors.GuardTrippedError("g"), 5),
        (errors.StoreError("s"), 6),
        (errors.RunInProgressError("r"), 7),
        (errors.ConflictsFoundError("c"), 8),
        (errors.StalePlanError("s"), 9),
        (errors.ConnectorError("x"), 1),
    ],
)
def test_every_error_class_has_its_exit_code(runner, error, code):
    @cli.command("raise-for-test")
    def raise_for_test() -> None:
        raise error

    try:
        result = runner.invoke(cli, ["raise-for-test"])
    finally:
        cli.commands.pop("raise-for-test")
    assert result.exit_code == code
    assert result.stderr.startswith("error: ")


def test_cli_error_redacts_known_secrets(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text(
        '[organization]\nverified_domains = ["example.com"]\n[[directories]]\nid = "s"\nprovider = "scim"\n'
        'base_url = "http://127.0.0.1:9"\nauth = { method = "bearer", token_env = "T" }\n'
    )
    app = AppContext(str(config), 0, RedactingFilter())
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("T", "abc123-secret")
        app.connector()
    exc = CliError(
        errors.AuthError("x"), as_json=False, message=app.describe(errors.AuthError("token abc123-secret"))
    )
    assert "abc123-secret" not in exc.message
    assert exc.exit_code == 3
    assert isinstance(exc, click.ClickException)


@pytest.mark.parametrize(
    "line",
    [
        "send: b'POST /token HTTP/1.1\\r\\nAuthorization: Bearer eyJhbGciOi.payload.sig\\r\\n'",
        "headers={'Authorization': 'SSWS 00abcDEF'}",
        "body=grant_type=client_credentials&client_secret=hunter2&scope=x",
        'response {"access_token": "tok.en.value", "expires_in": 3600}',
        "client_assertion=eyJ.eyJ.sig&client_assertion_type=urn",
    ],
)
def test_redact_masks_credentials(line):
    cleaned = redact(line)
    assert REDACTED in cleaned
    for secret in ("eyJhbGciOi.payload.sig", "00abcDEF", "hunter2", "tok.en.value", "eyJ.eyJ.sig"):
        assert secret not in cleaned


def test_redact_masks_private_keys_and_known_values():
    text = "key -----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY----- and plain-secret-value"
    cleaned = redact(text, ["plain-secret-value"])
    assert "MIIE" not in cleaned
    assert "plain-secret-value" not in cleaned


def test_logging_filter_redacts_messages_and_tracebacks():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter([Secret("the-client-secret")]))
    logger = logging.getLogger("connector.test.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("posting %s", "client_id=a&secret=the-client-secret")
        try:
            raise ValueError("failed with the-client-secret inside")
        except ValueError:
            logger.exception("boom")
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert "the-client-secret" not in output
    assert output.count(REDACTED) >= 2
    assert "ValueError" in output


def test_verbose_flag_turns_on_debug(runner, tmp_path):
    args = ["--config", str(tmp_path / "none.toml"), "billing"]
    quiet = runner.invoke(cli, args)
    loud = runner.invoke(cli, ["-v", *args])
    assert quiet.exit_code == loud.exit_code == 2
    assert "loading configuration" not in quiet.stderr
    assert "DEBUG connector.cli.main: loading configuration from" in loud.stderr


def test_plan_out_needs_one_directory(runner, config_file):
    text = config_file.read_text()
    config_file.write_text(
        text + text[text.index("[[directories]]") :].replace('id = "scim"', 'id = "scim-2"')
    )
    result = runner.invoke(
        cli, ["--config", str(config_file), "plan", "--out", "p.json"], env={"CLI_TEST_SCIM_TOKEN": "token"}
    )
    assert result.exit_code == 2
    assert "--out saves one directory's plan; add --directory ID" in result.stderr


def test_apply_rejects_a_file_that_is_not_a_plan(runner, config_file, tmp_path):
    bogus = tmp_path / "plan.json"
    bogus.write_text('{"version": 7}')
    result = runner.invoke(
        cli, ["--config", str(config_file), "apply", str(bogus)], env={"CLI_TEST_SCIM_TOKEN": "token"}
    )
    assert result.exit_code == 2
    assert "not a plan file (unsupported plan version 7)" in result.stderr


@pytest.fixture
def impatient_config(config_file):
    """The port-9 directory of ``config_file``, without retries (a refused connection fails at once)."""
    text = config_file.read_text().replace("[products]", "[http]\nmax_retries = 0\n\n[products]")
    config_file.write_text(text)
    return config_file


def test_check_of_an_unreachable_idp_exits_4_not_3(runner, impatient_config):
    result = runner.invoke(
        cli, ["--config", str(impatient_config), "check", "--json"], env={"CLI_TEST_SCIM_TOKEN": "x"}
    )
    assert result.exit_code == 4, result.output
    (report,) = json.loads(result.stdout)["directories"]
    assert report["ok"] is False
    assert report["error"]["exit_code"] == 4
    assert "connection refused" in report["detail"]


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("auth.client_secret: secrets are never written in the configuration", None),
        ("InvalidAuthenticationToken: Access token validation failure fault", None),
        ("body: client_secret=abc123xyz&grant_type=client_credentials",
         "body: client_secret=**********&grant_type=client_credentials"),
        ('{"access_token": "eyJhbGciOi", "n": 1}', '{"access_token": "**********", "n": 1}'),
        ("{'client_assertion': 'eyJ0eXAi'}", "{'client_assertion': '**********'}"),
        ("Authorization: Bearer abc.def.ghi", "Authorization: Bearer **********"),
        ("Authorization: SSWS 00abcdef", "Authorization: SSWS **********"),
    ],
)  # fmt: skip
def test_masking_masks_values_never_the_words_around_them(text, shown):
    assert redact(text) == (text if shown is None else shown)
