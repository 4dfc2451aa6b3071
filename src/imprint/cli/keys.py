"""`imprint keys`: AccessKeys of accounts and RAM users, and temporary (STS) credentials."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from imprint.api.admin import wire
from imprint.cli.common import AsJson, DataDir, console, emit, now, read_document, store
from imprint.config import default_data_dir
from imprint.service import keys as key_service
from imprint.service import sts

app = typer.Typer(help="Manage AccessKeys (and issue temporary ones).", no_args_is_help=True)

UserOpt = Annotated[str | None, typer.Option("--user", help="RAM user id (default: the account's own key).")]


@app.command("create")
def create(data_dir: DataDir = default_data_dir(), as_json: AsJson = False,
           account: Annotated[str | None, typer.Option(help="Account id (default: the first).")] = None,
           user: UserOpt = None) -> None:
    """Create an AccessKey; the secret is printed only now."""
    with store(data_dir) as (session, box):
        bootstrap = account is None and user is None
        first = key_service.bootstrap(session, box=box, now=now()) if bootstrap else None
        new = first or key_service.create_key(session, box=box, account_id=account, user_id=user, now=now())
    if as_json:
        emit(wire.new_key(new))
    else:
        console.print(f"AccessKey ID      {new.access_key_id}\nAccessKey secret  {new.secret}\n"
                      f"account id        {new.account_id}" + (f"\nuser id           {new.user_id}"
                                                                 if new.user_id else ""))


@app.command("create-temporary")
def create_temporary(
    user: Annotated[str, typer.Option("--user", help="RAM user id the credentials act as.")],
    data_dir: DataDir = default_data_dir(), as_json: AsJson = False,
    duration_seconds: Annotated[int, typer.Option(help="Lifetime, 900 to 43200 seconds.")]
        = sts.DEFAULT_DURATION_S,
    policy: Annotated[str | None, typer.Option(help="Inline policy (JSON or @file) that narrows the user's "
                                                    "permissions.")] = None,
) -> None:
    """Issue STS-style credentials (AccessKey pair + security token) that expire."""
    document = None if policy is None else read_document(policy)
    with store(data_dir) as (session, box):
        creds = sts.issue(session, box=box, user_id=user, now=now(), duration_s=duration_seconds,
                          policy=document)
    if as_json:
        emit(wire.temporary(creds))
    else:
        console.print(f"AccessKey ID      {creds.access_key_id}\nAccessKey secret  {creds.secret}\n"
                      f"security token    {creds.security_token}\nexpires           "
                      f"{creds.expires_at.isoformat(timespec='seconds')}Z")


@app.command("list")
def list_(data_dir: DataDir = default_data_dir(), as_json: AsJson = False,
          account: Annotated[str | None, typer.Option(help="Only this account's keys.")] = None,
          user: Annotated[str | None, typer.Option(help="Only this RAM user's keys.")] = None) -> None:
    """List AccessKeys (never their secrets)."""
    with store(data_dir) as (session, _):
        rows = key_service.list_keys(session, account_id=account, user_id=user)
    if as_json:
        emit([wire.key(k) for k in rows])
        return
    table = Table("AccessKey ID", "account", "user", "status", "created", "expires")
    for k in rows:
        status = "active" if k.active else "disabled"
        table.add_row(k.access_key_id, k.account_id, k.user_id or "(account)", status,
                      k.created_at.isoformat(timespec="seconds"),
                      k.expires_at.isoformat(timespec="seconds") if k.expires_at else "")
    console.print(table)


def _change(data_dir: DataDir, access_key_id: str, as_json: bool, action: str) -> None:
    with store(data_dir) as (session, _):
        if action == "delete":
            key_service.delete_key(session, access_key_id=access_key_id)
        else:
            key_service.set_active(session, access_key_id=access_key_id, active=action == "enable")
    if as_json:
        emit({"accessKeyId": access_key_id, "result": action + "d"})
    else:
        console.print(f"{access_key_id}: {action}d")


@app.command("disable")
def disable(access_key_id: str, data_dir: DataDir = default_data_dir(), as_json: AsJson = False) -> None:
    """Disable an AccessKey (requests signed with it are refused)."""
    _change(data_dir, access_key_id, as_json, "disable")


@app.command("enable")
def enable(access_key_id: str, data_dir: DataDir = default_data_dir(), as_json: AsJson = False) -> None:
    """Re-enable a disabled AccessKey."""
    _change(data_dir, access_key_id, as_json, "enable")


@app.command("delete")
def delete(access_key_id: str, data_dir: DataDir = default_data_dir(), as_json: AsJson = False) -> None:
    """Delete an AccessKey for good."""
    _change(data_dir, access_key_id, as_json, "delete")
