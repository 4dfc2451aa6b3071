"""Use case of downloading a trained adapter, as stored or exported for other tools."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from imprint.service.errors import InvalidParameter, ModelNotReady
from imprint.service.states import Status
from imprint.service.training import find_model_row
from imprint.store.blobs.base import BlobStore

FORMATS: tuple[str, ...] = ("safetensors", "kohya", "diffusers")


@dataclass(frozen=True)
class AdapterDownload:
    model_id: str
    # File name -> content; one file is sent as is, several as a zip.
    files: dict[str, bytes]


def download_adapter(session: Session, *, account_id: str, model_id: str, fmt: str, blobs: BlobStore,
                     base_model: str) -> AdapterDownload:
    if fmt not in FORMATS:
        raise InvalidParameter("format", f"must be one of {', '.join(FORMATS)}, got {fmt!r}")
    model = find_model_row(session, account_id=account_id, model_id=model_id)
    if model.status != Status.FINISHED or not model.adapter_key:
        raise ModelNotReady(model_id, model.status)
    data = blobs.read_bytes(model.adapter_key)
    if fmt == "safetensors":
        return AdapterDownload(model_id, {f"{model_id}.safetensors": data})
    return AdapterDownload(model_id, _export(data, fmt=fmt, base_model=base_model))


def _export(data: bytes, *, fmt: str, base_model: str) -> dict[str, bytes]:
    # Imported here: the export reads tensors with torch, which a process that only serves the API and
    # never exports need not load.
    from imprint.engine.export import export_adapter

    files: dict[str, bytes] = export_adapter(data, fmt=fmt, base_model=base_model)
    return files
