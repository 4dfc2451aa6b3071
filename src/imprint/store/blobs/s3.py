"""Blobs as objects in an S3-compatible bucket (AWS S3, MinIO, Ceph RGW...), shared by API processes and
workers on several hosts.

An S3 PUT is atomic: readers see the whole old object or the whole new one, never half, which is what
the local store gets from temp-then-rename. Every object carries its SHA-256 twice: as the PUT's
``ChecksumSHA256``, so the server refuses a body damaged on the way, and as user metadata, so readers
verify what they got and downloads can be cached under their content hash.
"""

from __future__ import annotations

import base64
import hashlib
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

from imprint.store.blobs.base import BlobRef

_CHUNK = 1 << 20
_MISSING = {"404", "NoSuchKey", "NotFound"}
SHA256_META = "sha256"


class BlobCorrupted(Exception):
    """An object whose content does not match the SHA-256 recorded when it was written."""


def _sha256_file(path: Path) -> tuple[bytes, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
            size += len(chunk)
    return digest.digest(), size


def _is_missing(exc: Exception) -> bool:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", "")) in _MISSING


class S3BlobStore:
    def __init__(self, client: Any, bucket: str, prefix: str, cache_dir: Path) -> None:
        self._client, self.bucket = client, bucket
        self.prefix = prefix.strip("/")
        # Downloads for local_path(), named by content hash: an object rewritten under the same key
        # (a retried job) gets a new file, so the engine's adapter cache never sees stale content.
        self.cache_dir = cache_dir

    def _object_key(self, key: str) -> str:
        parts = key.split("/")
        if not key or "\\" in key or any(p in ("", ".", "..") for p in parts):
            raise ValueError(f"invalid blob key: {key!r}")
        return f"{self.prefix}/{key}" if self.prefix else key

    def _put(self, key: str, body: bytes | BinaryIO, digest: bytes) -> None:
        self._client.put_object(Bucket=self.bucket, Key=self._object_key(key), Body=body,
                                ChecksumSHA256=base64.b64encode(digest).decode("ascii"),
                                Metadata={SHA256_META: digest.hex()})

    def put_bytes(self, key: str, data: bytes) -> BlobRef:
        digest = hashlib.sha256(data).digest()
        self._put(key, data, digest)
        return BlobRef(key, digest.hex(), len(data))

    def put_file(self, key: str, source: Path) -> BlobRef:
        digest, size = _sha256_file(source)
        with source.open("rb") as f:
            self._put(key, f, digest)
        source.unlink(missing_ok=True)
        return BlobRef(key, digest.hex(), size)

    def _call(self, method: str, key: str) -> dict[str, Any]:
        try:
            call = getattr(self._client, method)
            response: dict[str, Any] = call(Bucket=self.bucket, Key=self._object_key(key))
        except Exception as exc:
            if _is_missing(exc):  # the local store's error for a missing blob
                raise FileNotFoundError(f"blob {key!r} is not in s3://{self.bucket}/{self.prefix}") from None
            raise
        return response

    def read_bytes(self, key: str) -> bytes:
        obj = self._call("get_object", key)
        data: bytes = obj["Body"].read()
        expected = obj.get("Metadata", {}).get(SHA256_META)
        if expected and hashlib.sha256(data).hexdigest() != expected:
            raise BlobCorrupted(f"blob {key!r} does not match its recorded SHA-256")
        return data

    def local_path(self, key: str) -> Path:
        head = self._call("head_object", key)
        expected = head.get("Metadata", {}).get(SHA256_META)
        name = expected or "etag-" + str(head.get("ETag", "")).strip('"')
        target = self.cache_dir / name[:2] / name
        if target.is_file():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            digest = hashlib.sha256()
            with os.fdopen(fd, "wb") as f:
                body = self._call("get_object", key)["Body"]
                for chunk in iter(lambda: body.read(_CHUNK), b""):
                    digest.update(chunk)
                    f.write(chunk)
            if expected and digest.hexdigest() != expected:
                raise BlobCorrupted(f"blob {key!r} does not match its recorded SHA-256")
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target

    def exists(self, key: str) -> bool:
        try:
            self._call("head_object", key)
        except FileNotFoundError:
            return False
        return True


    def delete(self, key: str) -> bool:
        try:
            head = self._call("head_object", key)
        except FileNotFoundError:
            return False
        self._client.delete_object(Bucket=self.bucket, Key=self._object_key(key))
        self._drop_cached(head)
        return True

    def delete_prefix(self, prefix: str) -> int:
        full = self._object_key(prefix.rstrip("/")) + "/"
        count = 0
        for page in self._client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=full):
            keys = [obj["Key"] for obj in page.get("Contents", [])]
            for key in keys:
                try:
                    self._drop_cached(self._client.head_object(Bucket=self.bucket, Key=key))
                except Exception as exc:
                    if not _is_missing(exc):
                        raise
            if keys:
                self._client.delete_objects(Bucket=self.bucket,
                                            Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True})
            count += len(keys)
        return count

    def _drop_cached(self, head: dict[str, Any]) -> None:
        """This process's downloaded copy (local_path), named by content hash as local_path names it."""
        expected = head.get("Metadata", {}).get(SHA256_META)
        name = expected or "etag-" + str(head.get("ETag", "")).strip('"')
        (self.cache_dir / name[:2] / name).unlink(missing_ok=True)


def open_s3_blob_store(url: str, cache_dir: Path, env: Mapping[str, str] | None = None) -> S3BlobStore:
    """``s3://bucket/optional/prefix``. The endpoint comes from IMPRINT_S3_ENDPOINT_URL (MinIO and other
    S3-compatible servers) or boto3's own configuration (AWS_ENDPOINT_URL, ~/.aws); credentials and region
    from the standard AWS variables or an instance role."""
    import boto3
    from botocore.config import Config

    env = os.environ if env is None else env
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    if not bucket:
        raise ValueError(f"an S3 blob URL names a bucket: s3://BUCKET[/PREFIX], got {url!r}")
    # Path-style addressing: S3-compatible servers on a plain host:port have no per-bucket DNS names.
    config = Config(s3={"addressing_style": "path"} if env.get("IMPRINT_S3_ENDPOINT_URL") else {},
                    retries={"mode": "standard"})
    client = boto3.session.Session().client("s3", endpoint_url=env.get("IMPRINT_S3_ENDPOINT_URL") or None,
                                            config=config)
    return S3BlobStore(client, bucket, prefix, cache_dir)
