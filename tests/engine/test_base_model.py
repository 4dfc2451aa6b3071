from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from imprint.engine import BaseModel, BaseModelNotFound
from imprint.engine.base_model import DEFAULT_GUIDANCE_SCALE, SAMPLING_FILE


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


def test_guidance_scale_comes_from_the_folder_else_diffusers_default(
    pipeline_folder: Path, tmp_path: Path
) -> None:
    assert json.loads((pipeline_folder / SAMPLING_FILE).read_text()) == {"guidance_scale": 4.0}
    assert BaseModel.load(pipeline_folder).guidance_scale == 4.0
    folder = shutil.copytree(pipeline_folder, tmp_path / "sd-like")
    (folder / SAMPLING_FILE).unlink()  # as an SD 1.5 folder comes: no imprint settings
    assert BaseModel.load(folder).guidance_scale == DEFAULT_GUIDANCE_SCALE == 7.5
    (folder / SAMPLING_FILE).write_text('{"guidance_scale": 6}')
    assert BaseModel.load(folder).guidance_scale == 6.0


@pytest.mark.parametrize(
    "text", ["[4.0]", "{bad json", '{"guidance_scale": -1}', '{"guidance_scale": "high"}']
)
def test_unreadable_sampling_settings_are_base_model_not_found(
    pipeline_folder: Path, tmp_path: Path, text: str
) -> None:
    folder = shutil.copytree(pipeline_folder, tmp_path / "broken")
    (folder / SAMPLING_FILE).write_text(text)
    with pytest.raises(BaseModelNotFound, match=SAMPLING_FILE):
        BaseModel.load(folder)
