"""Where the client's endpoint and credentials come from: flags, then Alibaba's environment
variables, then the profile `imprint login` wrote (a JSON file readable by its owner only)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from imprint.auth.signer import ClientCredentials

DEFAULT_ENDPOINT = "http://127.0.0.1:8080"
PROFILE_ENV = "IMPRINT_PROFILE"


class ProfileError(Exception):
    """The credentials cannot be worked out; the message says what to do."""


@dataclass(frozen=True)
class Profile:
    endpoint: str
    access_key_id: str
    access_key_secret: str
    security_token: str | None = None

    @property
    def credentials(self) -> ClientCredentials:
        return ClientCredentials(self.access_key_id, self.access_key_secret, self.security_token)


def profile_path() -> Path:
    """$IMPRINT_PROFILE, else $XDG_CONFIG_HOME/imprint/profile.json (~/.config by default)."""
    if os.environ.get(PROFILE_ENV):
        return Path(os.environ[PROFILE_ENV])
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "imprint" / "profile.json"


def read_profile(path: Path | None = None) -> Profile | None:
    path = path or profile_path()
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ProfileError(f"cannot read the profile {path}: {exc}; run `imprint login` again") from None
    try:
        return Profile(endpoint=str(data["endpoint"]), access_key_id=str(data["access_key_id"]),
                       access_key_secret=str(data["access_key_secret"]),
                       security_token=data.get("security_token") or None)
    except (KeyError, TypeError):
        raise ProfileError(f"the profile {path} is incomplete; run `imprint login` again") from None


def write_profile(profile: Profile, path: Path | None = None) -> Path:
    """Written to a new file created with mode 0600 and renamed over the old one, so the secret is
    never readable by others, not even for a moment."""
    path = path or profile_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(asdict(profile), f, indent=2)
        os.chmod(tmp, 0o600)  # O_CREAT's mode does not apply to a file that was already there
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def resolve(*, endpoint: str | None, access_key_id: str | None, access_key_secret: str | None,
            security_token: str | None) -> Profile:
    """Flags and environment (typer has already merged the two) win; the profile fills what they leave."""
    saved = read_profile()
    if access_key_id or access_key_secret:
        if not (access_key_id and access_key_secret):
            given = "--access-key-id" if access_key_id else "--access-key-secret"
            raise ProfileError(f"{given} needs its other half: pass both --access-key-id and "
                               "--access-key-secret (or set ALIBABA_CLOUD_ACCESS_KEY_ID and "
                               "ALIBABA_CLOUD_ACCESS_KEY_SECRET)")
        return Profile(endpoint or (saved.endpoint if saved else DEFAULT_ENDPOINT), access_key_id,
                       access_key_secret, security_token)
    if saved is None:
        raise ProfileError("no credentials: pass --access-key-id and --access-key-secret, set "
                           "ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET, or run "
                           "`imprint login` once")
    return Profile(endpoint or saved.endpoint, saved.access_key_id, saved.access_key_secret,
                   security_token or saved.security_token)
