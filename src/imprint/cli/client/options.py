"""The options every client command takes: where the server is, who calls, and --json."""

from __future__ import annotations

from typing import Annotated

import typer

Endpoint = Annotated[str | None, typer.Option(
    "--endpoint", envvar="IMPRINT_ENDPOINT", show_default=False,
    help="The imprint server, e.g. http://127.0.0.1:8080 (default: the profile's, else that one).")]
AccessKeyId = Annotated[str | None, typer.Option(
    "--access-key-id", envvar="ALIBABA_CLOUD_ACCESS_KEY_ID", show_default=False,
    help="AccessKey ID (default: the profile `imprint login` wrote).")]
AccessKeySecret = Annotated[str | None, typer.Option(
    "--access-key-secret", envvar="ALIBABA_CLOUD_ACCESS_KEY_SECRET", show_default=False,
    help="AccessKey secret (prefer the environment variable: flags show in the process list).")]
SecurityToken = Annotated[str | None, typer.Option(
    "--security-token", envvar="ALIBABA_CLOUD_SECURITY_TOKEN", show_default=False,
    help="Security token of temporary (STS) credentials.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print the result as JSON, for scripts.")]
