"""Turning the common options into a client, and the client's errors into clean exits."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console

from imprint.cli.client.api import ApiError, ImprintClient
from imprint.cli.client.profile import ProfileError, resolve

# Results go to stdout (so `MODEL=$(imprint train ...)` and --json work); progress and messages to stderr.
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", markup=True, soft_wrap=True, emoji=False)
    return typer.Exit(code)


@contextmanager
def connected(endpoint: str | None, access_key_id: str | None, access_key_secret: str | None,
              security_token: str | None) -> Iterator[ImprintClient]:
    try:
        profile = resolve(endpoint=endpoint, access_key_id=access_key_id, access_key_secret=access_key_secret,
                          security_token=security_token)
    except ProfileError as exc:
        raise fail(str(exc), 2) from None
    client = ImprintClient(profile.endpoint, profile.credentials)
    try:
        yield client
    except ApiError as exc:
        raise fail(f"{exc.code}: {exc.message}") from None
    finally:
        client.close()
