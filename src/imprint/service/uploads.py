"""Photos a caller uploads to train on: vetted like fetched images, kept under the caller's account.

An upload is one blob, `uploads/<account>/<id>`, holding the bytes as sent; its URL
(`imprint://upload/<id>`) names no account, so the account is always the caller's own: at submit
time (`check_upload_urls`) and when the worker reads it (`upload_reader`, bound to the job's account).
"""

from __future__ import annotations

import hashlib
import io
import uuid
from dataclasses import dataclass

from PIL import Image

from imprint.ingest import FetchPolicy, ImageRejected, decode_image
from imprint.ingest.uploads import NotAnUpload, UploadReader, is_upload_url, upload_id_of, upload_url
from imprint.service.errors import InvalidParameter
from imprint.store.blobs.base import BlobStore

BODY = "body"


@dataclass(frozen=True)
class Upload:
    id: str
    url: str
    format: str
    width: int
    height: int
    size: int
    sha256: str


def upload_key(account_id: str, upload_id: str) -> str:
    return f"uploads/{account_id}/{upload_id}"


def store_upload(blobs: BlobStore, *, account_id: str, data: bytes, policy: FetchPolicy) -> Upload:
    """Vets `data` exactly as the worker will (formats, size, pixel budget, decodability) and keeps it."""
    if not data:
        raise InvalidParameter(BODY, "the request body is empty; send the photo's bytes as the body")
    if len(data) > policy.max_bytes:
        raise InvalidParameter(BODY, f"{len(data)} bytes is more than the {policy.max_bytes} byte limit")
    try:
        image = decode_image(data, policy)
    except ImageRejected as exc:
        raise InvalidParameter(BODY, str(exc)) from None
    # decode_image has just proven the format is one of the policy's; only its name is read here.
    with Image.open(io.BytesIO(data), formats=policy.formats) as probe:
        fmt = probe.format or "unknown"
    upload_id = uuid.uuid4().hex
    blobs.put_bytes(upload_key(account_id, upload_id), data)
    return Upload(id=upload_id, url=upload_url(upload_id), format=fmt, width=image.width,
                  height=image.height, size=len(data), sha256=hashlib.sha256(data).hexdigest())


def check_upload_urls(blobs: BlobStore, *, account_id: str, urls: list[str], name: str = "imageUrl") -> None:
    """A 400 now, rather than a failed job later, for an upload URL that is malformed or not the
    caller's (another account's upload reads as missing, as its models do)."""
    for index, url in enumerate(urls):
        if not is_upload_url(url):
            continue
        try:
            upload_id = upload_id_of(url)
        except NotAnUpload as exc:
            raise InvalidParameter(name, f"entry {index}: {exc}") from None
        if not blobs.exists(upload_key(account_id, upload_id)):
            raise InvalidParameter(name, f"entry {index}: no upload {upload_id} in this account")


def upload_reader(blobs: BlobStore, account_id: str) -> UploadReader:
    """Reads the uploads of one account only; the worker binds it to the job's account."""
    def read(upload_id: str) -> bytes:
        try:
            return blobs.read_bytes(upload_key(account_id, upload_id))
        except FileNotFoundError:
            raise KeyError(upload_id) from None
    return read
