"""Photos a caller uploads to train on: vetted like fetched images, kept under the caller's account.

An upload is a row (`uploads`: whose, when, what) and a blob, `uploads/<account>/<id>`, holding the
bytes as sent. Its URL (`imprint://upload/<id>`) names no account, so the account is always the
caller's own: at submit time (`check_upload_urls`, a column filter) and when the worker reads it
(`upload_reader`, bound to the job's account). An upload serves the training that names it and is
removed once that training has ended (`remove_uploads`), with the model that names it
(`forget_uploads`), or when it is older than the retention period (`forget_expired_uploads`). The
caller owns the transaction.
"""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from PIL import Image
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from imprint.ingest import FetchPolicy, ImageRejected, decode_image
from imprint.ingest.uploads import NotAnUpload, UploadReader, is_upload_url, upload_id_of, upload_url
from imprint.service.errors import InvalidParameter
from imprint.store.blobs.base import BlobStore
from imprint.store.rows import UploadRow

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


def store_upload(session: Session, blobs: BlobStore, *, account_id: str, data: bytes, policy: FetchPolicy,
                 now: datetime) -> Upload:
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
    row = UploadRow(id=uuid.uuid4().hex, account_id=account_id, sha256=hashlib.sha256(data).hexdigest(),
                    size=len(data), format=fmt, width=image.width, height=image.height, created_at=now)
    row.blob_key = upload_key(account_id, row.id)
    session.add(row)
    session.flush()
    # The blob after the row: a failed write rolls the row back with the call.
    blobs.put_bytes(row.blob_key, data)
    return Upload(id=row.id, url=upload_url(row.id), format=fmt, width=row.width, height=row.height,
                  size=row.size, sha256=row.sha256)


def upload_ids(urls: Iterable[str], *, name: str = "imageUrl") -> list[str]:
    """The upload ids among `urls`; a malformed imprint:// URL is a 400 naming its entry."""
    ids = []
    for index, url in enumerate(urls):
        if is_upload_url(url):
            try:
                ids.append(upload_id_of(url))
            except NotAnUpload as exc:
                raise InvalidParameter(name, f"entry {index}: {exc}") from None
    return ids


def check_upload_urls(session: Session, *, account_id: str, urls: list[str], name: str = "imageUrl") -> None:
    """A 400 now, rather than a failed job later, for an upload URL that is malformed or not the
    caller's (another account's upload reads as missing, as its models do)."""
    wanted = upload_ids(urls, name=name)
    if not wanted:
        return
    found = set(session.scalars(select(UploadRow.id).where(UploadRow.account_id == account_id,
                                                           UploadRow.id.in_(wanted))))
    for index, url in enumerate(urls):
        if is_upload_url(url) and upload_id_of(url) not in found:
            raise InvalidParameter(name, f"entry {index}: no upload {upload_id_of(url)} in this account "
                                         "(an upload serves one training and is removed after it)")


def upload_reader(blobs: BlobStore, account_id: str) -> UploadReader:
    """Reads the uploads of one account only; the worker binds it to the job's account."""
    def read(upload_id: str) -> bytes:
        try:
            return blobs.read_bytes(upload_key(account_id, upload_id))
        except FileNotFoundError:
            raise KeyError(upload_id) from None
    return read


def forget_uploads(session: Session, *, account_id: str, urls: Iterable[str]) -> list[str]:
    """Deletes the rows of the account's uploads that `urls` name; returns their blob keys, for the
    caller to remove before it commits (as deleting a model removes its other blobs)."""
    ids = _ids_quietly(urls)
    if not ids:
        return []
    return _forget(session, list(session.scalars(select(UploadRow).where(
        UploadRow.account_id == account_id, UploadRow.id.in_(ids)))))


def forget_expired_uploads(session: Session, *, cutoff: datetime) -> list[str]:
    """Deletes the rows of every upload created before `cutoff`, used or not; returns their blob keys."""
    return _forget(session, list(session.scalars(select(UploadRow).where(UploadRow.created_at < cutoff))))


def remove_uploads(session: Session, blobs: BlobStore, *, account_id: str, urls: Iterable[str]) -> int:
    """Removes the account's uploads that `urls` name, rows and blobs; returns how many there were.
    Blobs go before the caller commits: if the store fails, the rows come back and a later call
    removes both (deleting a blob twice is harmless)."""
    keys = forget_uploads(session, account_id=account_id, urls=urls)
    for key in keys:
        blobs.delete(key)
    return len(keys)


def _ids_quietly(urls: Iterable[str]) -> list[str]:
    ids = []
    for url in urls:
        if is_upload_url(url):
            try:
                ids.append(upload_id_of(url))
            except NotAnUpload:
                continue
    return ids


def _forget(session: Session, rows: list[UploadRow]) -> list[str]:
    if rows:
        session.execute(delete(UploadRow).where(UploadRow.id.in_([r.id for r in rows])))
        session.flush()
    return [row.blob_key for row in rows]
