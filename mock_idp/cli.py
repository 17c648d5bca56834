"""``mock-idp``: serve the mock identity provider, or write a generated fixture.

It is a test tool: ``serve`` prints the test credentials of every dialect on
purpose, so that clients can be pointed at it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
from pathlib import Path
from typing import Any

import click

from mock_idp.faults import FaultError
from mock_idp.faults import FaultRule
from mock_idp.faults import RateLimiter
from mock_idp.faults import parse_rate_limit
from mock_idp.state.certificates import registered_certificate
from mock_idp.state.credentials import known_certificate_key
from mock_idp.state.credentials import known_private_key
from mock_idp.state.directory import Directory
from mock_idp.state.fixtures import SAMPLE_FIXTURE
from mock_idp.state.fixtures import FixtureError
from mock_idp.state.fixtures import dump_fixture
from mock_idp.state.fixtures import load_fixture
from mock_idp.state.generator import generate


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="idp-connector", prog_name="mock-idp")
def main() -> None:
    """A mock identity provider speaking Okta, Microsoft Graph and SCIM 2.0."""


def _directory(fixture: str | None, users: int | None, groups: int | None, seed: int) -> Directory:
    if fixture and (users is not None or groups is not None):
        raise click.UsageError("give either --fixture or --users/--groups, not both")
    if fixture:
        path = SAMPLE_FIXTURE if fixture == "sample" else Path(fixture)
        if not path.is_file():
            raise click.BadParameter(f"{fixture}: no such file (or name 'sample')", param_hint="--fixture")
        try:
            return load_fixture(path)
        except FixtureError as exc:
            raise click.ClickException(f"fixture {fixture}: {exc}") from None
    return generate(users if users is not None else 50, groups if groups is not None else 8, seed=seed)


def _faults(texts: tuple[str, ...]) -> list[dict[str, Any]]:
    rules = []
    for text in texts:
        try:
            data = json.loads(text)
            FaultRule.from_dict(data)
        except json.JSONDecodeError as exc:
            raise click.BadParameter(f"not JSON: {exc}", param_hint="--fault") from None
        except FaultError as exc:
            raise click.BadParameter(str(exc), param_hint="--fault") from None
        rules.append(data)
    return rules


def _rate_limits(texts: tuple[str, ...]) -> dict[str, int]:
    limits = {}
    for text in texts:
        try:
            key, value = parse_rate_limit(text)
        except FaultError as exc:
            raise click.BadParameter(str(exc), param_hint="--rate-limit") from None
        limits[key] = value
    try:
        RateLimiter(limits)
    except FaultError as exc:
        raise click.BadParameter(str(exc), param_hint="--rate-limit") from None
    return limits


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="0 picks a free port."
)
@click.option(
    "--fixture",
    metavar="FILE|sample",
    help="JSON fixture to load, or 'sample' for the one that comes with mock-idp.",
)
@click.option("--users", type=click.IntRange(0), help="Generate this many users (default 50).")
@click.option("--groups", type=click.IntRange(0), help="Generate this many groups (default 8).")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the generator and credentials.")
@click.option("--tls", is_flag=True, help="Serve https with a throwaway CA; prints the CA file.")
@click.option(
    "--admin-token", envvar="MOCK_IDP_ADMIN_TOKEN", help="Token for /_admin (default: a random one, printed)."
)
@click.option(
    "--rate-limit",
    "rate_limits",
    multiple=True,
    metavar="DIALECT[:BUCKET]=PER_MIN",
    help="Per-minute budget, e.g. okta=600 or okta:users=100 (repeatable).",
)
@click.option(
    "--fault",
    "faults",
    multiple=True,
    metavar="JSON",
    help='A fault rule as JSON (repeatable), e.g. \'{"kind":"drop"}\'.',
)
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False),
    help="Where to write the key and TLS files (default: a temporary directory, removed on exit).",
)
@click.option(
    "--write-config",
    type=click.Path(dir_okay=False),
    help="Write an idp-connector configuration for this mock here (its secrets in secrets/ beside it).",
)
@click.option("--log-requests", is_flag=True, help="Log every request on stderr.")
def serve(
    host: str,
    port: int,
    fixture: str | None,
    users: int | None,
    groups: int | None,
    seed: int,
    tls: bool,
    admin_token: str | None,
    rate_limits: tuple[str, ...],
    faults: tuple[str, ...],
    state_dir: str | None,
    write_config: str | None,
    log_requests: bool,
) -> None:
    """Serve the mock until Ctrl-C."""
    from mock_idp.server import MockIdpServer

    directory = _directory(fixture, users, groups, seed)
    config = {"ADMIN_TOKEN": admin_token, "RATE_LIMITS": _rate_limits(rate_limits), "FAULTS": _faults(faults)}
    work = Path(state_dir) if state_dir else Path(tempfile.mkdtemp(prefix="mock-idp-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        server = MockIdpServer(
            directory, host, port, tls, config=config, cert_dir=work, log_requests=log_requests
        )
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    signal.signal(signal.SIGTERM, _stop_on_sigterm)  # a supervisor's stop cleans up as Ctrl-C does
    try:
        if write_config:
            _write_config(server, Path(write_config))
        _print_banner(server, work)
        server.serve_forever()  # returns on Ctrl-C (it catches KeyboardInterrupt)
        click.echo("mock-idp: stopped", err=True)
    except KeyboardInterrupt:
        click.echo("mock-idp: stopped", err=True)
    finally:
        server.stop()
        if not state_dir:
            shutil.rmtree(work, ignore_errors=True)


def _write_config(server: Any, path: Path) -> None:
    """The connector's configuration for this mock (:mod:`mock_idp.connector_config`)."""
    from mock_idp.connector_config import write_connector_config

    credentials = server.app.extensions["mock_idp"].settings.get("default_credentials")
    if credentials is None:
        raise click.UsageError("--write-config needs the mock's own credentials; this fixture brings its own")
    comment = (
        f"Written by `mock-idp serve --write-config`: the mock at {server.url}",
        f"(seed {server.directory.seed}) as three directories of one organization.",
        f"Try: idp-connector --config {path} check",
    )
    write_connector_config(path, server.url, server.directory.tenant_id, credentials, comment=comment)
    click.echo(f"mock-idp: wrote {path}", err=True)


def _stop_on_sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _write_private(path: Path, text: str) -> Path:
    """``text`` into ``path``, readable by its owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    return path


def _print_banner(server: Any, work: Path) -> None:
    directory: Directory = server.directory
    base = server.url
    say = click.echo
    say(f"mock-idp listening on {base}")
    say(f"  directory: {len(directory.users)} users, {len(directory.groups)} groups (seed {directory.seed})")
    say(f"  admin:     {base}/_admin  (Authorization: Bearer {server.admin_token})")
    if server.ca_file:
        say(f"  CA file:   {server.ca_file}")
    say("Okta")
    say(f"  org URL:   {base}")
    for token in directory.api_tokens.values():
        if token.dialect == "okta":
            say(f"  SSWS token: {token.token}")
    for client in directory.clients.values():
        if client.dialect == "okta":
            say(f"  client id: {client.client_id} ({client.auth_method}, scopes {' '.join(client.scopes)})")
            pem = known_private_key(directory, client)
            if pem:
                key_file = _write_private(work / f"okta-{client.client_id}.pem", pem)
                kid = next((k.get("kid") for k in (client.jwks or {}).get("keys", []) if k.get("kid")), None)
                say(f"  key file:  {key_file}" + (f" (kid {kid})" if kid else ""))
    say(f"  token URL: {base}/oauth2/v1/token")
    say("Microsoft Graph")
    say(f"  base URL:  {base}/v1.0")
    say(f"  tenant id: {directory.tenant_id} ({directory.tenant_domain})")
    say(f"  token URL: {base}/{directory.tenant_id}/oauth2/v2.0/token")
    for client in directory.clients.values():
        if client.dialect == "graph":
            say(f"  client id: {client.client_id}")
            if client.client_secret:
                say(f"  secret:    {client.client_secret}")
            pair = known_certificate_key(client)
            if pair:
                cert_file = _write_private(work / f"entra-{client.client_id}-certificate.pem", pair[0])
                key_file = _write_private(work / f"entra-{client.client_id}-key.pem", pair[1])
                say(f"  cert file: {cert_file} (x5t {registered_certificate(pair[0]).x5t})")
                say(f"  cert key:  {key_file}")
    say("SCIM 2.0")
    say(f"  base URL:  {base}/scim/v2")
    for token in directory.api_tokens.values():
        if token.dialect == "scim":
            say(f"  bearer token: {token.token}")
    say(f"  token URL: {base}/scim/oauth2/token")
    for client in directory.clients.values():
        if client.dialect == "scim":
            say(
                f"  client id: {client.client_id}"
                + (f"  secret: {client.client_secret}" if client.client_secret else "")
            )
    say("Press Ctrl-C to stop.", err=True)


@main.command("generate")
@click.option("--users", default=100, show_default=True, type=click.IntRange(0))
@click.option("--groups", default=10, show_default=True, type=click.IntRange(0))
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--domain", default="example.com", show_default=True, help="The organization's own domain.")
@click.option("--cycle", is_flag=True, help="Add one membership cycle between two groups.")
@click.option(
    "--credentials/--no-credentials", default=True, show_default=True, help="Include default credentials."
)
@click.option("--out", type=click.Path(dir_okay=False, writable=True), help="Output file (default: stdout).")
def generate_command(
    users: int, groups: int, seed: int, domain: str, cycle: bool, credentials: bool, out: str | None
) -> None:
    """Write a generated directory as a JSON fixture."""
    from mock_idp.state.credentials import add_default_credentials

    try:
        directory = generate(users, groups, seed=seed, domain=domain, cycle=cycle)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if credentials:
        add_default_credentials(directory)
    text = json.dumps(dump_fixture(directory), indent=1, ensure_ascii=False) + "\n"
    if out:
        try:
            Path(out).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise click.ClickException(f"cannot write {out}: {exc.strerror}") from None
        click.echo(f"wrote {out}: {users} users, {groups} groups", err=True)
    else:
        click.echo(text, nl=False)


@main.command("push")
@click.option(
    "--as", "vendor", required=True, type=click.Choice(["okta", "entra"]), help="Whose engine to act as."
)
@click.option("--to", "url", required=True, help="The SCIM service's base URL (…/scim/v2).")
@click.option("--token", envvar="MOCK_IDP_PUSH_TOKEN", required=True, help="The service's bearer token.")
@click.option(
    "--state",
    "state_file",
    type=click.Path(dir_okay=False),
    help="JSON file of what was pushed (mock id -> SCIM id); a later push with it is incremental.",
)
@click.option(
    "--from", "mock_url", metavar="MOCK_URL", help="Push the directory of a running mock-idp serve."
)
@click.option(
    "--admin-token", envvar="MOCK_IDP_ADMIN_TOKEN", help="The running mock's admin token (with --from)."
)
@click.option("--fixture", metavar="FILE|sample", help="Push this fixture instead (or 'sample').")
@click.option(
    "--users", type=click.IntRange(0), help="Push a generated directory of this many users (default 50)."
)
@click.option("--groups", type=click.IntRange(0), help="... and this many groups (default 8).")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the generated directory.")
@click.option(
    "--entra-compliant/--no-entra-compliant",
    default=False,
    show_default=True,
    help="Entra with the aadOptscim062020 flag (RFC-compliant PATCH).",
)
@click.option(
    "--match",
    default="userName",
    show_default=True,
    type=click.Choice(["userName", "externalId"]),
    help="Entra's matching attribute.",
)
@click.option(
    "--max-wait", default=30.0, show_default=True, type=click.FloatRange(0), help="Cap of a retry wait (s)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def push_command(
    vendor: str,
    url: str,
    token: str,
    state_file: str | None,
    mock_url: str | None,
    admin_token: str | None,
    fixture: str | None,
    users: int | None,
    groups: int | None,
    seed: int,
    entra_compliant: bool,
    match: str,
    max_wait: float,
    as_json: bool,
) -> None:
    """Replay the directory into a SCIM 2.0 service as Okta's or Entra's provisioning would.

    Exits 1 when a request failed for good (the report lists it; the next push retries it).
    """
    from mock_idp.push.record import PushRecord
    from mock_idp.push.record import RecordError
    from mock_idp.push.record import load_record
    from mock_idp.push.record import save_record
    from mock_idp.push.run import make_dialect
    from mock_idp.push.run import push
    from mock_idp.push.source import AdminReadError
    from mock_idp.push.source import from_admin
    from mock_idp.push.source import from_directory

    if mock_url and (fixture or users is not None or groups is not None):
        raise click.UsageError("give either --from or --fixture/--users/--groups, not both")
    try:
        record = load_record(Path(state_file), vendor, url) if state_file else PushRecord(vendor, url)
    except RecordError as exc:
        raise click.ClickException(str(exc)) from None
    if mock_url:
        if not admin_token:
            raise click.UsageError("--from needs --admin-token (or MOCK_IDP_ADMIN_TOKEN)")
        try:
            snapshot = from_admin(mock_url, admin_token)
        except AdminReadError as exc:
            raise click.ClickException(f"reading {mock_url}: {exc}") from None
    else:
        snapshot = from_directory(_directory(fixture, users, groups, seed))
    dialect = make_dialect(vendor, url, token, compliant=entra_compliant, match=match, max_wait=max_wait)
    report = push(snapshot, record, dialect)
    if state_file:
        save_record(Path(state_file), record)
    if as_json:
        click.echo(json.dumps({"as": vendor, "to": url, **report.to_json()}, indent=1))
    else:
        sent = ", ".join(f"{n} {m}" for m, n in sorted(report.requests.items())) or "nothing"
        done = ", ".join(f"{n} {a}" for a, n in sorted(report.actions.items()) if n) or "no changes"
        click.echo(f"pushed as {vendor} to {url}: {done}; requests: {sent}; retries: {report.retries}")
        for failure in report.failures:
            click.echo(
                f"  failed: {failure.method} {failure.path} -> {failure.status} {failure.body}", err=True
            )
    if report.failures:
        raise SystemExit(1)


@main.command("webhook-sink")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=9000, show_default=True, type=click.IntRange(0, 65535), help="0: any free port."
)
@click.option(
    "--secret", envvar="MOCK_IDP_WEBHOOK_SECRET", required=True, help="The endpoint's whsec_ secret."
)
@click.option(
    "--record", "record", type=click.Path(dir_okay=False), help="Append each post as a JSON line here."
)
@click.option(
    "--fault",
    "faults",
    multiple=True,
    metavar="FAULT",
    help="Answer the next post with: 500 (any status), timeout, slow or close (repeatable, in order).",
)
@click.option("--hang", default=3.0, show_default=True, type=float, help="Seconds a 'timeout' fault waits.")
@click.option("--slow", default=0.5, show_default=True, type=float, help="Seconds a 'slow' fault waits.")
def webhook_sink(
    host: str, port: int, secret: str, record: str | None, faults: tuple[str, ...], hang: float, slow: float
) -> None:
    """Receive webhooks: verify each signature, record what came (GET /_sink/received)."""
    from mock_idp.sink import Sink
    from mock_idp.sink import SinkServer

    try:
        sink = Sink(secret, faults=faults, hang=hang, slow=slow, record=Path(record) if record else None)
    except ValueError as exc:  # a malformed secret or an unknown fault
        raise click.UsageError(str(exc)) from None
    server = SinkServer(sink, host, port)
    click.echo(f"mock-idp webhook-sink on {server.url}", err=False)
    click.echo("  GET /_sink/received lists what came; Ctrl-C stops it", err=True)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        server.httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.httpd.server_close()
