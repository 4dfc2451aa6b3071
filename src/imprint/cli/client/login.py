"""`imprint login`: check a key pair against a server and keep it as the profile."""

from __future__ import annotations

from typing import Annotated

import typer

from imprint.cli.client.api import ApiError, ImprintClient
from imprint.cli.client.connect import fail, out
from imprint.cli.client.options import AsJson, SecurityToken
from imprint.cli.client.output import emit
from imprint.cli.client.profile import DEFAULT_ENDPOINT, Profile, write_profile


def login(
    endpoint: Annotated[str, typer.Option("--endpoint", envvar="IMPRINT_ENDPOINT", prompt=True,
                                          help="The imprint server.")] = DEFAULT_ENDPOINT,
    access_key_id: Annotated[str, typer.Option("--access-key-id", envvar="ALIBABA_CLOUD_ACCESS_KEY_ID",
                                               prompt=True, help="AccessKey ID.")] = "",
    access_key_secret: Annotated[str, typer.Option(
        "--access-key-secret", envvar="ALIBABA_CLOUD_ACCESS_KEY_SECRET", prompt=True, hide_input=True,
        help="AccessKey secret (asked for without echo when not given).")] = "",
    security_token: SecurityToken = None,
    as_json: AsJson = False,
) -> None:
    """Check the credentials against the server and save them as the profile (mode 0600)."""
    profile = Profile(endpoint.rstrip("/"), access_key_id, access_key_secret, security_token or None)
    with ImprintClient(profile.endpoint, profile.credentials) as client:
        try:
            count = len(client.list_models())
        except ApiError as exc:
            raise fail(f"the server refused these credentials: {exc.code}: {exc.message}") from None
    path = write_profile(profile)
    if as_json:
        emit({"endpoint": profile.endpoint, "accessKeyId": profile.access_key_id, "profile": str(path),
              "models": count})
    else:
        out.print(f"Signed in to {profile.endpoint} as {profile.access_key_id} ({count} models). "
                  f"Profile saved to {path} (readable by you only).", markup=False, soft_wrap=True)
