"""The adapter file: one safetensors file holding LoRA weights, the identifier embedding and metadata.

LoRA keys use diffusers' layout (`unet.<module>.lora_A.weight`, `text_encoder.<module>...`,
`text_encoder_2...` on SDXL), so the file also loads with plain `pipeline.load_lora_weights(path)`; the
identifier rows (one per text encoder) are stored under keys outside those prefixes, which that loader
ignores. Reading it back needs none of the training code.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from imprint.engine.errors import BadInput

FORMAT = "imprint-adapter"
FORMAT_VERSION = 1
TOKEN_KEY = "imprint_lora_identifier.embedding"
# The identifier's row in the second text encoder (SDXL's OpenCLIP bigG), when the base model has one.
TOKEN_KEY_2 = "imprint_lora_identifier.embedding_2"
TOKEN_KEYS = (TOKEN_KEY, TOKEN_KEY_2)


@dataclass(frozen=True)
class AdapterInfo:
    path: Path
    token: str
    object_type: str
    base_model: str
    steps: int
    rank: int
    seed: int
    sha256: str
    # What follows the identifier where a prompt says <special-token>: the object type, or the
    # description of the subject its training captions used ("golden spotted dog with a red scarf").
    subject: str


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_adapter(
    path: Path,
    lora: dict[str, torch.Tensor],
    token_embedding: torch.Tensor | Sequence[torch.Tensor],
    *,
    token: str,
    object_type: str,
    base_model: str,
    steps: int,
    rank: int,
    seed: int,
    subject: str | None = None,
    family: str = "sd",
    extra: dict[str, str] | None = None,
) -> AdapterInfo:
    """Writes atomically: a reader sees the old file or the whole new one, never a torn write.
    `token_embedding` is the identifier's row, or one row per text encoder (at most two)."""
    rows = [token_embedding] if isinstance(token_embedding, torch.Tensor) else list(token_embedding)
    if not 1 <= len(rows) <= len(TOKEN_KEYS):
        raise ValueError(f"an adapter holds 1 or {len(TOKEN_KEYS)} identifier rows, got {len(rows)}")
    tensors = {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in lora.items()}
    for key, row in zip(TOKEN_KEYS, rows, strict=False):
        tensors[key] = row.detach().to("cpu", torch.float32).reshape(1, -1).contiguous()
    metadata = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "token": token,
        "object_type": object_type,
        "base_model": base_model,
        "steps": str(steps),
        "rank": str(rank),
        "seed": str(seed),
        "subject": subject or object_type,
        "family": family,
        **(extra or {}),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata=metadata)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return read_adapter_info(path)


def _metadata(path: Path) -> dict[str, str]:
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
    except FileNotFoundError:
        raise BadInput(f"adapter file {path} does not exist") from None
    except (SafetensorError, OSError) as exc:
        raise BadInput(f"{path} is not a readable adapter file: {exc}") from exc
    if metadata.get("format") != FORMAT:
        raise BadInput(f"{path} is a safetensors file but not an imprint adapter")
    if int(metadata.get("format_version", "0")) > FORMAT_VERSION:
        raise BadInput(f"{path} was written by a newer imprint (format {metadata['format_version']})")
    return metadata


def read_adapter_info(path: Path) -> AdapterInfo:
    """The adapter's metadata, from the safetensors header (plus a hash of the whole file)."""
    path = Path(path)
    m = _metadata(path)
    return AdapterInfo(
        path=path,
        token=m["token"],
        object_type=m["object_type"],
        base_model=m["base_model"],
        steps=int(m["steps"]),
        rank=int(m["rank"]),
        seed=int(m["seed"]),
        sha256=file_sha256(path),
        subject=subject_phrase(m),
    )


def subject_phrase(metadata: dict[str, str]) -> str:
    """Files written before descriptions existed carry only the object type."""
    return metadata.get("subject") or metadata["object_type"]


def family_of(metadata: dict[str, str]) -> str:
    """Files written before SDXL support are all SD 1.x/2.x adapters."""
    return metadata.get("family") or "sd"


def read_adapter(path: Path) -> tuple[dict[str, str], dict[str, torch.Tensor], tuple[torch.Tensor, ...]]:
    """(metadata, LoRA state dict in diffusers' layout, identifier rows: one per text encoder)."""
    path = Path(path)
    metadata = _metadata(path)
    tensors = load_file(str(path))
    rows = tuple(tensors.pop(key).reshape(-1) for key in TOKEN_KEYS if key in tensors)
    return metadata, tensors, rows
