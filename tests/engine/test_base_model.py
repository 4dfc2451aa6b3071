from __future__ import annotations

from pathlib import Path

import pytest

from imprint.engine import BaseModel, BaseModelNotFound


def test_loads_a_local_folder(base: BaseModel, pipeline_folder: Path) -> None:
    assert base.name == pipeline_folder.name
    assert base.image_size == 64
    assert base.device.type == "cpu"
    assert str(base.dtype) == "torch.float32"


def test_missing_folder_is_base_model_not_found(tmp_path: Path) -> None:
    with pytest.raises(BaseModelNotFound, match="not found"):
        BaseModel.load(tmp_path / "no-such-model")


def test_folder_without_pipeline_is_base_model_not_found(tmp_path: Path) -> None:
    with pytest.raises(BaseModelNotFound, match="model_index.json"):
        BaseModel.load(tmp_path)


def test_unknown_dtype_is_refused(pipeline_folder: Path) -> None:
    with pytest.raises(ValueError, match="dtype"):
        BaseModel.load(pipeline_folder, dtype="float8")


def test_working_pipelines_are_private_copies(base: BaseModel) -> None:
    first, second = base.working_pipeline(), base.working_pipeline()
    assert first.unet is not base.pipeline.unet and first.unet is not second.unet
    assert first.tokenizer is not base.pipeline.tokenizer
    first.tokenizer.add_tokens(["<only-here>"])
    assert len(second.tokenizer) == len(base.pipeline.tokenizer)
    assert first.vae is base.pipeline.vae  # read-only everywhere, so shared
