"""`imprint webhooks`: an account's webhook endpoints, its deliveries, and its callbackUrl secret."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from imprint.api.admin import wire
from imprint.cli.common import AccountOpt, AsJson, DataDir, console, emit, now, store
from imprint.config import default_data_dir
from imprint.service import webhooks
from imprint.service.job_events import EVENTS

app = typer.Typer(help="Manage webhook endpoints and see their deliveries.", no_args_is_help=True)


def _table(*headers: str) -> Table:
    # Ids and URLs are copied from here into other commands: wrapped in a narrow terminal, never cut.
    table = Table()
    for header in headers:
        table.add_column(header, overflow="fold")
    return table


@app.command("add")
def add(
    url: Annotated[str, typer.Argument(help="The receiver's http(s) URL.")],
    account: AccountOpt,
    event: Annotated[list[str] | None, typer.Option(
        "--event", help=f"An event to send (repeatable; default all): {', '.join(EVENTS)}.",
        show_default=False)] = None,
    description: Annotated[str, typer.Option(help="A note for yourself.")] = "",
    data_dir: DataDir = default_data_dir(), as_json: AsJson = False,
) -> None:
    """Register an endpoint; its signing secret is printed only now."""
    with store(data_dir) as (session, box):
        new = webhooks.add_endpoint(session, box=box, account_id=account, url=url, events=event,
                                    description=description, now=now())
    if as_json:
        emit(wire.new_webhook(new))
    else:
        console.print(f"webhook id  {new.endpoint.id}\nurl         {new.endpoint.url}\n"
                      f"events      {', '.join(new.endpoint.events)}\nsecret      {new.secret}\n"
                      "Verify deliveries with the Standard Webhooks libraries and this secret.")


@app.command("list")
def list_(data_dir: DataDir = default_data_dir(), as_json: AsJson = False,
          account: Annotated[str | None, typer.Option(help="Only this account's endpoints.")] = None) -> None:
    """List endpoints (never their secrets)."""
    with store(data_dir) as (session, _):
        rows = webhooks.list_endpoints(session, account_id=account)
    if as_json:
        emit([wire.webhook(e) for e in rows])
        return
    table = _table("webhook id", "account", "url", "events", "created")
    for e in rows:
        created = e.created_at.isoformat(timespec="seconds")
        table.add_row(e.id, e.account_id, e.url, ", ".join(e.events), created)
    console.print(table)


@app.command("remove")
def remove(webhook_id: str, data_dir: DataDir = default_data_dir()) -> None:
    """Remove an endpoint; its pending deliveries are dropped."""
    with store(data_dir) as (session, _):
        webhooks.remove_endpoint(session, endpoint_id=webhook_id)
    console.print(f"removed {webhook_id}")


@app.command("deliveries")
def deliveries(
    data_dir: DataDir = default_data_dir(), as_json: AsJson = False,
    account: Annotated[str | None, typer.Option(help="Only this account's deliveries.")] = None,
    webhook: Annotated[str | None, typer.Option(help="Only this endpoint's deliveries.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Newest first, at most this many.")] = 50,
) -> None:
    """Show recent deliveries: state (pending, delivered, failed), attempts, the last answer."""
    with store(data_dir) as (session, _):
        rows = webhooks.list_deliveries(session, account_id=account, endpoint_id=webhook, limit=limit)
    if as_json:
        emit([wire.delivery(d) for d in rows])
        return
    table = _table("id", "event", "job", "url", "state", "attempts", "last answer", "next attempt")
    for d in rows:
        answer = str(d.last_status) if d.last_status is not None else (d.last_error or "")
        table.add_row(str(d.id), d.event, f"{d.job_kind} {d.job_id}", d.url, d.state, str(d.attempts), answer,
                      d.next_attempt_at.isoformat(timespec="seconds") if d.state == "pending" else "")
    console.print(table)


@app.command("secret")
def secret(account: AccountOpt, data_dir: DataDir = default_data_dir(),
           rotate: Annotated[bool, typer.Option(help="Replace it with a new one.")] = False) -> None:
    """The account's secret for deliveries to a job's own callbackUrl (created on first use)."""
    with store(data_dir) as (session, box):
        value = webhooks.callback_secret(session, box=box, account_id=account, now=now(), rotate=rotate)
    console.print(value)
