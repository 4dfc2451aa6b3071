"""A refused address that configuration can allow names the option that allows it; a metadata address,
which stays refused whatever is allowed, does not."""

from __future__ import annotations

import pytest
from ingestkit import RecordingNetwork

from imprint.ingest import FetchPolicy, ImageFetchError, fetch_images


def _reason(url: str) -> str:
    with pytest.raises(ImageFetchError) as info:
        fetch_images([url], FetchPolicy(), network=RecordingNetwork())
    return info.value.reasons[0]


@pytest.mark.parametrize(("url", "cidr"), [
    ("http://127.0.0.1:8000/dog.png", "127.0.0.1/32"),
    ("http://10.1.2.3/dog.png", "10.1.2.3/32"),
    ("http://[::1]/dog.png", "::1/128"),
])
def test_loopback_and_private_refusals_name_allow_fetch_from(url: str, cidr: str) -> None:
    reason = _reason(url)
    assert "fetching from it is not allowed unless the server is started with " \
           f"--allow-fetch-from {cidr}" in reason, reason


def test_metadata_refusals_offer_no_way_around() -> None:
    reason = _reason("http://169.254.169.254/latest/meta-data/")
    assert "metadata" in reason and "--allow-fetch-from" not in reason
