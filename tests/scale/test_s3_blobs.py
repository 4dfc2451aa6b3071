"""The S3 blob store against a real S3 protocol server (moto): round trips, checksums, missing keys."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from scalekit import S3

from imprint.store.blobs import LocalBlobStore, open_blob_store
from imprint.store.blobs.s3 import BlobCorrupted, S3BlobStore

pytestmark = pytest.mark.scale


def _store(s3: S3, tmp_path: Path, prefix: str = "deploy/a") -> S3BlobStore:
    store = open_blob_store(f"s3://{s3.bucket}/{prefix}", cache_dir=tmp_path / "cache")
    assert isinstance(store, S3BlobStore)
    return store


def test_round_trip_keeps_checksums_as_the_local_store_does(s3: S3, tmp_path: Path) -> None:
    store, local = _store(s3, tmp_path), LocalBlobStore(tmp_path / "local")
    data = b"\x89PNG" + bytes(range(256)) * 50
    ref = store.put_bytes("images/acct/p1/0000.png", data)
    assert ref == local.put_bytes("images/acct/p1/0000.png", data)
    assert ref.sha256 == hashlib.sha256(data).hexdigest() and ref.size == len(data)
    assert store.read_bytes("images/acct/p1/0000.png") == data
    assert store.exists("images/acct/p1/0000.png") and not store.exists("images/acct/p1/0001.png")
    # The prefix scopes every key; the server verified the body against the checksum it was sent.
    head = s3.client().head_object(Bucket=s3.bucket, Key="deploy/a/images/acct/p1/0000.png",
                                   ChecksumMode="ENABLED")
    assert head["Metadata"]["sha256"] == ref.sha256
    with pytest.raises(FileNotFoundError):
        store.read_bytes("images/acct/p1/0001.png")


def test_put_file_takes_the_file_and_local_path_is_a_verified_copy(s3: S3, tmp_path: Path) -> None:
    store = _store(s3, tmp_path)
    source = tmp_path / "adapter.safetensors"
    source.write_bytes(b"first adapter" * 100_000)
    ref = store.put_file("adapters/acct/m.safetensors", source)
    assert not source.exists() and ref.size == 1_300_000
    path = store.local_path("adapters/acct/m.safetensors")
    assert path.read_bytes() == b"first adapter" * 100_000 and path.name == ref.sha256
    assert store.local_path("adapters/acct/m.safetensors") == path  # cached, not downloaded again
    # A retried job rewrites the key: the copy is named by content, so the engine never sees stale bytes.
    source.write_bytes(b"second adapter")
    store.put_file("adapters/acct/m.safetensors", source)
    fresh = store.local_path("adapters/acct/m.safetensors")
    assert fresh != path and fresh.read_bytes() == b"second adapter"
    with pytest.raises(FileNotFoundError):
        store.local_path("adapters/acct/other.safetensors")


def test_a_damaged_object_is_refused(s3: S3, tmp_path: Path) -> None:
    store = _store(s3, tmp_path)
    ref = store.put_bytes("images/a/b/c.png", b"good bytes")
    # Something outside imprint overwrites the object but keeps the recorded checksum.
    s3.client().put_object(Bucket=s3.bucket, Key="deploy/a/images/a/b/c.png", Body=b"evil bytes",
                           Metadata={"sha256": ref.sha256})
    with pytest.raises(BlobCorrupted):
        store.read_bytes("images/a/b/c.png")
    with pytest.raises(BlobCorrupted):
        store.local_path("images/a/b/c.png")
    assert not list((tmp_path / "cache").rglob("*.png")) and not any(
        p.is_file() for p in (tmp_path / "cache").rglob("*"))


@pytest.mark.parametrize("key", ["", "/abs", "a/../b", "a//b", "a/./b", "a\\b"])
def test_keys_cannot_escape_the_prefix(s3: S3, tmp_path: Path, key: str) -> None:
    with pytest.raises(ValueError):
        _store(s3, tmp_path).put_bytes(key, b"x")


def test_blob_urls() -> None:
    assert isinstance(open_blob_store("/tmp/x"), LocalBlobStore)
    assert isinstance(open_blob_store("file:///tmp/x"), LocalBlobStore)
    with pytest.raises(ValueError):
        open_blob_store("gs://bucket/x")
    with pytest.raises(ValueError):
        open_blob_store("s3://bucket/x")  # no cache directory


def test_delete_and_delete_prefix_leave_nothing_in_the_bucket_or_the_cache(s3: S3, tmp_path: Path) -> None:
    store = _store(s3, tmp_path, prefix="deleting")  # moto's buckets are shared by the tests in a process
    store.put_bytes("adapters/acct/dog_1.safetensors", b"adapter")
    cached = store.local_path("adapters/acct/dog_1.safetensors")
    for i in range(3):
        store.put_bytes(f"images/acct/p1/{i:04d}.png", b"png%d" % i)
    store.put_bytes("images/acct/p10/0000.png", b"other")  # shares the text "p1", not the prefix
    assert store.delete("adapters/acct/dog_1.safetensors") is True
    assert not cached.exists() and not store.exists("adapters/acct/dog_1.safetensors")
    assert store.delete("adapters/acct/dog_1.safetensors") is False
    assert store.delete_prefix("images/acct/p1") == 3
    listed = s3.client().list_objects_v2(Bucket=s3.bucket, Prefix="deleting/").get("Contents", [])
    assert {o["Key"] for o in listed} == {"deleting/images/acct/p10/0000.png"}


def test_local_store_deletes_and_prunes_empty_folders(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    store.put_bytes("images/acct/p1/0000.png", b"a")
    store.put_bytes("images/acct/p10/0000.png", b"b")
    store.put_bytes("adapters/acct/dog_1.safetensors", b"c")
    assert store.delete_prefix("images/acct/p1") == 1
    assert store.delete("adapters/acct/dog_1.safetensors")
    assert not store.delete("adapters/acct/dog_1.safetensors")
    left = sorted(str(p.relative_to(tmp_path / "blobs")) for p in (tmp_path / "blobs").rglob("*"))
    assert left == ["images", "images/acct", "images/acct/p10", "images/acct/p10/0000.png"]
