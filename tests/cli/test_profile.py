"""Where the client's credentials come from, and the profile file's permissions."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from imprint.cli.client.profile import Profile, ProfileError, read_profile, resolve, write_profile
from imprint.cli.client.waiting import Eta, format_eta


@pytest.fixture(autouse=True)
def profile_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "conf" / "profile.json"
    monkeypatch.setenv("IMPRINT_PROFILE", str(path))
    return path


def test_profile_is_written_owner_only_and_replaces_a_looser_file(profile_file: Path) -> None:
    profile_file.parent.mkdir()
    profile_file.write_text("{}")
    os.chmod(profile_file, 0o644)
    write_profile(Profile("http://h:1", "AK", "SECRET", "TOKEN"))
    assert stat.S_IMODE(profile_file.stat().st_mode) == 0o600
    assert json.loads(profile_file.read_text())["access_key_secret"] == "SECRET"
    assert read_profile() == Profile("http://h:1", "AK", "SECRET", "TOKEN")
    assert [p.name for p in profile_file.parent.iterdir()] == ["profile.json"]


def test_flags_win_over_the_profile() -> None:
    write_profile(Profile("http://saved:1", "SAVED", "saved-secret"))
    got = resolve(endpoint=None, access_key_id="FLAG", access_key_secret="flag-secret", security_token=None)
    assert got == Profile("http://saved:1", "FLAG", "flag-secret")
    got = resolve(endpoint="http://other:2", access_key_id=None, access_key_secret=None, security_token=None)
    assert got == Profile("http://other:2", "SAVED", "saved-secret")


def test_half_a_key_pair_is_refused() -> None:
    with pytest.raises(ProfileError, match="needs its other half"):
        resolve(endpoint=None, access_key_id="AK", access_key_secret=None, security_token=None)


def test_no_credentials_says_what_to_do() -> None:
    with pytest.raises(ProfileError, match="imprint login"):
        resolve(endpoint=None, access_key_id=None, access_key_secret=None, security_token=None)


def test_unreadable_profile_says_to_log_in_again(profile_file: Path) -> None:
    profile_file.parent.mkdir()
    profile_file.write_text("not json")
    with pytest.raises(ProfileError, match="run `imprint login` again"):
        read_profile()


def test_eta_from_the_rate_since_progress_was_first_seen() -> None:
    now = [0.0]
    eta = Eta(clock=lambda: now[0])
    assert eta.update(0.1) is None
    now[0] = 10.0
    assert eta.update(0.3) == pytest.approx(35.0)  # 0.2 in 10 s, 0.7 to go
    assert format_eta(35.0) == "35s left" and format_eta(125.0) == "2m05s left"
    now[0] = 20.0
    assert eta.update(1.0) is None
