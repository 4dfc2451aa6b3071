"""`imprint://upload/<id>` URLs: read through the reader a worker binds to the job's account, never
fetched over the network, and nothing else spelt with the scheme is accepted."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from imprint.ingest import FetchPolicy, ImageFetchError, fetch_images
from imprint.ingest.uploads import NotAnUpload, is_upload_url, upload_id_of, upload_url

UPLOAD_ID = "0123456789abcdef0123456789abcdef"


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 10, 10)).save(buf, format="PNG")
    return buf.getvalue()


def test_round_trip() -> None:
    assert upload_url(UPLOAD_ID) == f"imprint://upload/{UPLOAD_ID}"
    assert is_upload_url(upload_url(UPLOAD_ID)) and is_upload_url("IMPRINT://upload/x")
    assert upload_id_of(upload_url(UPLOAD_ID)) == UPLOAD_ID
    assert not is_upload_url("https://example.com/a.png")


@pytest.mark.parametrize("url", [
    "imprint://upload/../../etc/passwd", "imprint://upload/ABCDEF0123456789abcdef0123456789",
    f"imprint://other/{UPLOAD_ID}", f"imprint://upload/{UPLOAD_ID}/x", "imprint://upload/",
])
def test_anything_else_is_not_an_upload(url: str) -> None:
    with pytest.raises(NotAnUpload):
        upload_id_of(url)


def test_uploads_are_read_through_the_reader_without_a_connection() -> None:
    asked: list[str] = []

    def reader(upload_id: str) -> bytes:
        asked.append(upload_id)
        return png()

    class NoNetwork:
        def connect_tcp(self, *args: object, **kwargs: object) -> None:
            raise AssertionError("an upload URL must not open a connection")

    [image] = fetch_images([upload_url(UPLOAD_ID)], FetchPolicy(), uploads=reader,
                           network=NoNetwork())  # type: ignore[arg-type]
    assert image.size == (32, 32) and asked == [UPLOAD_ID]


def test_a_missing_upload_and_a_bad_one_are_named() -> None:
    def reader(upload_id: str) -> bytes:
        raise KeyError(upload_id)

    with pytest.raises(ImageFetchError) as caught:
        fetch_images([upload_url(UPLOAD_ID), "imprint://upload/nope"], FetchPolicy(), uploads=reader)
    assert "no such upload in this account" in caught.value.reasons[0]
    assert "is not an upload URL" in caught.value.reasons[1]


def test_upload_bytes_are_vetted_like_fetched_ones() -> None:
    with pytest.raises(ImageFetchError, match="HTML"):
        fetch_images([upload_url(UPLOAD_ID)], FetchPolicy(), uploads=lambda _: b"<html>no</html>")
