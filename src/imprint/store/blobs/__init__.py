"""Blob stores, chosen by URL: a local folder (the embedded default) or an S3-compatible bucket."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from imprint.store.blobs.base import BlobRef, BlobStore
from imprint.store.blobs.local import LocalBlobStore

__all__ = ["BlobRef", "BlobStore", "LocalBlobStore", "open_blob_store"]


def open_blob_store(url_or_path: str | Path, *, cache_dir: Path | None = None,
                    env: Mapping[str, str] | None = None) -> BlobStore:
    """A path or ``file://`` URL: local files. ``s3://bucket/prefix``: S3, downloading what a worker needs
    as a file into ``cache_dir``."""
    text = str(url_or_path)
    if text.startswith("s3://"):
        from imprint.store.blobs.s3 import open_s3_blob_store

        if cache_dir is None:
            raise ValueError("an S3 blob store needs a local cache directory")
        return open_s3_blob_store(text, cache_dir, env)
    if text.startswith("file://"):
        return LocalBlobStore(Path(text.removeprefix("file://")))
    if "://" in text:
        raise ValueError(f"unsupported blob store URL {text!r}: use a path, file://PATH or s3://BUCKET/PREFIX")
    return LocalBlobStore(Path(text))
