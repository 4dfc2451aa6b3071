"""The blob store seen by the service: immutable objects addressed by key, each with its checksum."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class BlobRef:
    key: str
    sha256: str
    size: int


class BlobStore(Protocol):
    def put_bytes(self, key: str, data: bytes) -> BlobRef: ...

    def put_file(self, key: str, source: Path) -> BlobRef:
        """Takes ownership of ``source`` (it may be moved)."""
        ...

    def read_bytes(self, key: str) -> bytes: ...

    def local_path(self, key: str) -> Path:
        """A local file with the blob's content (a cached download for remote stores)."""
        ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> bool:
        """Removes the blob (and any local copy this process made of it); False if there was none."""
        ...

    def delete_prefix(self, prefix: str) -> int:
        """Removes every blob whose key starts with ``prefix`` + "/"; returns how many."""
        ...
