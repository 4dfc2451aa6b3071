"""`imprint accounts`: the tenants that own jobs, models and images."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from imprint.api.admin import wire
from imprint.cli.common import AsJson, DataDir, console, emit, now, store
from imprint.config import default_data_dir
from imprint.service import accounts

app = typer.Typer(help="Manage accounts (tenants).", no_args_is_help=True)


@app.command("create")
def create(name: Annotated[str, typer.Option("--name", help="A label for the account.")],
           data_dir: DataDir = default_data_dir(), as_json: AsJson = False) -> None:
    """Create an account; give it keys with `imprint keys create --account ID`."""
    with store(data_dir) as (session, _):
        account = accounts.create_account(session, name=name, now=now())
    if as_json:
        emit(wire.account(account))
    else:
        console.print(f"account id  {account.id}\nname        {account.name}")


@app.command("list")
def list_(data_dir: DataDir = default_data_dir(), as_json: AsJson = False) -> None:
    """List accounts."""
    with store(data_dir) as (session, _):
        rows = accounts.list_accounts(session)
    if as_json:
        emit([wire.account(a) for a in rows])
        return
    table = Table("account id", "name", "created")
    for a in rows:
        table.add_row(a.id, a.name, a.created_at.isoformat(timespec="seconds"))
    console.print(table)


@app.command("show")
def show(account_id: str, data_dir: DataDir = default_data_dir(), as_json: AsJson = False) -> None:
    """Show one account."""
    with store(data_dir) as (session, _):
        account = accounts.get_account(session, account_id=account_id)
    if as_json:
        emit(wire.account(account))
    else:
        console.print(f"account id  {account.id}\nname        {account.name}\n"
                      f"created     {account.created_at}")


@app.command("delete")
def delete(account_id: str, data_dir: DataDir = default_data_dir(), as_json: AsJson = False) -> None:
    """Delete an account with its users, keys and policies (refused while it owns jobs)."""
    with store(data_dir) as (session, _):
        accounts.delete_account(session, account_id=account_id)
    if as_json:
        emit({"accountId": account_id, "deleted": True})
    else:
        console.print(f"{account_id}: deleted")
