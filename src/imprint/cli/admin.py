"""`imprint admin`: the administrator's bearer token for the admin API."""

from __future__ import annotations

import os

import typer

from imprint.api.admin.token import create_token
from imprint.cli.common import AsJson, DataDir, console, emit, fail, missing_database
from imprint.config import Settings, default_data_dir

app = typer.Typer(help="Administer the server itself.", no_args_is_help=True)


@app.command("token")
def token(data_dir: DataDir = default_data_dir(), as_json: AsJson = False) -> None:
    """Create (or rotate) the admin API token; it is printed only now and only its hash is kept."""
    settings = Settings(data_dir=data_dir, database_url=os.environ.get("IMPRINT_DATABASE_URL"))
    problem = missing_database(settings)
    if problem is not None:  # a token written into the wrong folder would never be read by the server
        raise fail(problem)
    value = create_token(data_dir)
    if as_json:
        emit({"adminToken": value})
    else:
        console.print(f"admin token  {value}\nsend it as 'Authorization: Bearer <token>' to /admin/v1/...")
