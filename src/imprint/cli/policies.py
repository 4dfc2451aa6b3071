"""`imprint policies`: an account's custom RAM policies (the System ones are listed too)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from imprint.api.admin import wire
from imprint.auth.system_policies import CUSTOM, SYSTEM
from imprint.cli.common import AccountOpt, AsJson, DataDir, console, emit, now, read_document, store
from imprint.config import default_data_dir
from imprint.service import policies
from imprint.service.domain import Policy

app = typer.Typer(help="Manage RAM policies.", no_args_is_help=True)

DocumentOpt = Annotated[str, typer.Option("--document", help="The policy document: JSON, or @file.")]


def _print(policy: Policy, as_json: bool) -> None:
    if as_json:
        emit(wire.policy(policy))
    else:
        console.print(f"{policy.name} ({policy.policy_type})")
        console.print_json(json.dumps(policy.document))


@app.command("create")
def create(account: AccountOpt, name: Annotated[str, typer.Option("--name", help="Policy name.")],
           document: DocumentOpt, description: str = "", data_dir: DataDir = default_data_dir(),
           as_json: AsJson = False) -> None:
    """Create a custom policy after validating its document."""
    text = read_document(document)
    with store(data_dir) as (session, _):
        policy = policies.create_policy(session, account_id=account, name=name, document=text,
                                        description=description, now=now())
    _print(policy, as_json)


@app.command("update")
def update(account: AccountOpt, name: str, document: DocumentOpt, data_dir: DataDir = default_data_dir(),
           as_json: AsJson = False) -> None:
    """Replace a custom policy's document."""
    text = read_document(document)
    with store(data_dir) as (session, _):
        policy = policies.set_document(session, account_id=account, name=name, document=text)
    _print(policy, as_json)


@app.command("list")
def list_(account: AccountOpt, data_dir: DataDir = default_data_dir(), as_json: AsJson = False) -> None:
    """List the System policies and the account's custom ones."""
    with store(data_dir) as (session, _):
        rows = policies.list_policies(session, account_id=account)
    if as_json:
        emit([wire.policy(p) for p in rows])
        return
    table = Table("name", "type", "description")
    for p in rows:
        table.add_row(p.name, p.policy_type, p.description)
    console.print(table)


@app.command("show")
def show(account: AccountOpt, name: str, system: Annotated[bool, typer.Option("--system")] = False,
         data_dir: DataDir = default_data_dir(), as_json: AsJson = False) -> None:
    """Show one policy's document."""
    with store(data_dir) as (session, _):
        policy = policies.get_policy(session, account_id=account, name=name,
                                     policy_type=SYSTEM if system else CUSTOM)
    _print(policy, as_json)


@app.command("delete")
def delete(account: AccountOpt, name: str, data_dir: DataDir = default_data_dir(),
           as_json: AsJson = False) -> None:
    """Delete a custom policy (refused while it is attached)."""
    with store(data_dir) as (session, _):
        policies.delete_policy(session, account_id=account, name=name)
    if as_json:
        emit({"policyName": name, "deleted": True})
    else:
        console.print(f"{name}: deleted")
