"""`imprint users`: RAM users of an account, and the policies attached to them."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from imprint.api.admin import wire
from imprint.auth.system_policies import CUSTOM, SYSTEM
from imprint.cli.common import AccountOpt, AsJson, DataDir, console, emit, now, store
from imprint.config import default_data_dir
from imprint.service import policies, users
from imprint.service.domain import User

app = typer.Typer(help="Manage RAM users and their attached policies.", no_args_is_help=True)

PolicyOpt = Annotated[str, typer.Option("--policy", help="Policy name.")]
SystemOpt = Annotated[bool, typer.Option("--system", help="A built-in (System) policy, not a custom one.")]


def _print(user: User, as_json: bool) -> None:
    if as_json:
        emit(wire.user(user))
        return
    attached = ", ".join(f"{p.policy_name} ({p.policy_type})" for p in user.policies) or "none"
    console.print(f"user id     {user.id}\nname        {user.name}\naccount id  {user.account_id}\n"
                  f"policies    {attached}")


@app.command("create")
def create(account: AccountOpt, name: Annotated[str, typer.Option("--name", help="User name.")],
           data_dir: DataDir = default_data_dir(), as_json: AsJson = False) -> None:
    """Create a RAM user; it may do nothing until a policy is attached."""
    with store(data_dir) as (session, _):
        user = users.create_user(session, account_id=account, name=name, now=now())
    _print(user, as_json)


@app.command("list")
def list_(account: AccountOpt, data_dir: DataDir = default_data_dir(), as_json: AsJson = False) -> None:
    """List an account's RAM users."""
    with store(data_dir) as (session, _):
        rows = users.list_users(session, account_id=account)
    if as_json:
        emit([wire.user(u) for u in rows])
        return
    table = Table("user id", "name", "policies", "created")
    for u in rows:
        table.add_row(u.id, u.name, ", ".join(p.policy_name for p in u.policies),
                      u.created_at.isoformat(timespec="seconds"))
    console.print(table)


@app.command("show")
def show(user_id: str, data_dir: DataDir = default_data_dir(), as_json: AsJson = False) -> None:
    """Show a RAM user and its policies."""
    with store(data_dir) as (session, _):
        user = users.get_user(session, user_id=user_id)
    _print(user, as_json)


@app.command("delete")
def delete(user_id: str, data_dir: DataDir = default_data_dir(), as_json: AsJson = False) -> None:
    """Delete a RAM user with its keys."""
    with store(data_dir) as (session, _):
        users.delete_user(session, user_id=user_id)
    if as_json:
        emit({"userId": user_id, "deleted": True})
    else:
        console.print(f"{user_id}: deleted")


@app.command("attach-policy")
def attach_policy(user_id: str, policy: PolicyOpt, system: SystemOpt = False,
                  data_dir: DataDir = default_data_dir(), as_json: AsJson = False) -> None:
    """Attach a policy of the user's account (or a System one) to the user."""
    with store(data_dir) as (session, _):
        kind = SYSTEM if system else CUSTOM
        policies.attach(session, user_id=user_id, policy_name=policy, policy_type=kind, now=now())
        user = users.get_user(session, user_id=user_id)
    _print(user, as_json)


@app.command("detach-policy")
def detach_policy(user_id: str, policy: PolicyOpt, system: SystemOpt = False,
                  data_dir: DataDir = default_data_dir(), as_json: AsJson = False) -> None:
    """Detach a policy from the user."""
    with store(data_dir) as (session, _):
        kind = SYSTEM if system else CUSTOM
        policies.detach(session, user_id=user_id, policy_name=policy, policy_type=kind)
        user = users.get_user(session, user_id=user_id)
    _print(user, as_json)
