"""``events`` (list, prune, key) and ``webhooks`` (list, add, remove, test, replay, dead-letters).

Thin commands over :class:`connector.api.events.Events`.  Two print a secret, once, on stdout
(``events key`` and ``webhooks add``): the store keeps the first as a hash and the second sealed
with the vault; no command logs one.
"""

from __future__ import annotations

from datetime import timedelta

import click

from connector.api.events import Events
from connector.cli.common import AppContext
from connector.cli.common import json_option
from connector.cli.common import pass_app
from connector.cli.output import emit_json
from connector.cli.output import print_table
from connector.rules.events import EVENT_TYPES
from connector.store.outbox import MAX_LIMIT


def _events(app: AppContext) -> Events:
    return Events(app.connector(secrets=False).store)


def _types_option(command: click.Command) -> click.Command:
    return click.option(
        "--types",
        "types",
        multiple=True,
        type=click.Choice(EVENT_TYPES),
        metavar="TYPE",
        help="Only events of this type (repeatable; default: every type).",
    )(command)


@click.group()
def events() -> None:
    """The organization's events: every change, in order (docs/events.md)."""


@events.command("list")
@click.option(
    "--after", metavar="ID", help="The cursor: the id of the last event handled (default: the oldest)."
)
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, MAX_LIMIT), help="How many.")
@_types_option
@json_option
@pass_app
def events_list(
    app: AppContext, after: str | None, limit: int, types: tuple[str, ...], as_json: bool
) -> None:
    """Events after a cursor, oldest first; exit 10 when the cursor expired (resync)."""
    found = _events(app).list(after, limit=limit, types=types)
    if as_json:
        last = found[-1]["id"] if found else after
        emit_json({"version": 1, "events": found, "next_after": last})
        return
    print_table(
        None,
        ("id", "type", "directory", "run", "occurred"),
        ((e["id"], e["type"], e["directory"], e["run_id"], e["occurred_at"]) for e in found),
    )


@events.command("prune")
@click.option(
    "--retention-days", default=30, show_default=True, type=click.IntRange(min=1), help="Keep this long."
)
@json_option
@pass_app
def events_prune(app: AppContext, retention_days: int, as_json: bool) -> None:
    """Delete the events older than the retention; cursors before them expire."""
    gone = _events(app).prune(timedelta(days=retention_days))
    if as_json:
        emit_json({"version": 1, "pruned": gone})
        return
    click.echo(f"pruned {gone} event(s) older than {retention_days} day(s)")


@events.command("key")
@json_option
@pass_app
def events_key(app: AppContext, as_json: bool) -> None:
    """Issue a key of GET /events for the organization; printed once, kept only as a hash."""
    key = _events(app).issue_api_key()
    if as_json:
        emit_json({"version": 1, "api_key": key})
        return
    click.echo(key)
    click.echo(
        "the events API key: send it as 'Authorization: Bearer <key>'; it is not shown again", err=True
    )


@click.group()
def webhooks() -> None:
    """Webhook endpoints: the organization's events posted, signed, in order (docs/events.md)."""


@webhooks.command("list")
@json_option
@pass_app
def webhooks_list(app: AppContext, as_json: bool) -> None:
    """The endpoints, with how far delivery got (never a secret)."""
    found = _events(app).webhooks()
    if as_json:
        emit_json({"version": 1, "webhooks": found})
        return
    print_table(
        None,
        ("endpoint", "url", "types", "position", "attempts", "last error"),
        (
            (
                e["endpoint_id"],
                e["url"],
                ",".join(e["types"]) or "all",
                e["position"],
                e["attempts"],
                e["last_error"],
            )
            for e in found
        ),
    )


@webhooks.command("add")
@click.argument("url")
@_types_option
@click.option("--allow-http", is_flag=True, help="Accept an http URL (local testing only).")
@click.option(
    "--allow-private", is_flag=True, help="Post to loopback or private addresses too (local testing only)."
)
@json_option
@pass_app
def webhooks_add(
    app: AppContext, url: str, types: tuple[str, ...], allow_http: bool, allow_private: bool, as_json: bool
) -> None:
    """Add an endpoint; its signing secret is printed once (stored sealed with the vault)."""
    endpoint, secret = _events(app).add_webhook(
        url, types=types, allow_http=allow_http, allow_private=allow_private
    )
    if as_json:
        emit_json({"version": 1, "webhook": endpoint, "secret": secret})
        return
    click.echo(secret)
    click.echo(
        f"webhook {endpoint['endpoint_id']} added: it gets the events from now on; the secret above "
        "verifies its signatures and is not shown again",
        err=True,
    )


@webhooks.command("remove")
@click.argument("endpoint_id")
@pass_app
def webhooks_remove(app: AppContext, endpoint_id: str) -> None:
    """Remove an endpoint and its dead letters."""
    _events(app).remove_webhook(endpoint_id)
    click.echo(f"webhook {endpoint_id} removed")


@webhooks.command("test")
@click.argument("endpoint_id")
@json_option
@pass_app
def webhooks_test(app: AppContext, endpoint_id: str, as_json: bool) -> None:
    """Post one signed webhook.test event now; exit 1 when the endpoint did not take it."""
    done = _events(app).test_webhook(endpoint_id)
    if as_json:
        emit_json({"version": 1, "test": done})
    else:
        said = f"answered {done['status']}" if done["delivered"] else done["error"]
        click.echo(f"webhook {endpoint_id}: {'delivered' if done['delivered'] else 'not delivered'} ({said})")
    if not done["delivered"]:
        raise click.exceptions.Exit(1)


@webhooks.command("replay")
@click.argument("endpoint_id")
@click.option("--from", "from_id", required=True, metavar="ID", help="The first event to post again.")
@pass_app
def webhooks_replay(app: AppContext, endpoint_id: str, from_id: str) -> None:
    """Post the endpoint's events again from an event id on (the deliverer does it, in order)."""
    _events(app).replay(endpoint_id, from_id)
    click.echo(f"webhook {endpoint_id}: events from {from_id} on will be posted again")


@webhooks.command("dead-letters")
@click.argument("endpoint_id", required=False)
@json_option
@pass_app
def webhooks_dead_letters(app: AppContext, endpoint_id: str | None, as_json: bool) -> None:
    """The events given up on after the last retry (replay --from one of them to post it again)."""
    found = _events(app).dead_letters(endpoint_id)
    if as_json:
        emit_json({"version": 1, "dead_letters": found})
        return
    print_table(
        None,
        ("endpoint", "event", "attempts", "last error", "at"),
        ((d["endpoint_id"], d["event_id"], d["attempts"], d["last_error"], d["at"]) for d in found),
    )
