from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers import StableDiffusionPipeline
from PIL import Image

from imprint.engine import AdapterInfo, BadInput, BaseModel, GenerateRequest, Generator, read_adapter_info

PROMPT = "a photo of <special-token> in the snow"


def test_info_reads_metadata_and_hashes_the_file(dog_adapter: AdapterInfo) -> None:
    import hashlib

    info = read_adapter_info(dog_adapter.path)
    assert info.token == "<imprint-id>" and info.object_type == "dog"
    assert info.sha256 == hashlib.sha256(dog_adapter.path.read_bytes()).hexdigest()


def test_other_safetensors_files_are_not_adapters(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    save_file({"x": torch.zeros(1)}, tmp_path / "other.safetensors")
    with pytest.raises(BadInput, match="not an imprint adapter"):
        read_adapter_info(tmp_path / "other.safetensors")


def test_plain_diffusers_loads_the_lora_part(
    pipeline_folder: Path, base: BaseModel, dog_adapter: AdapterInfo
) -> None:
    """The file is a standard diffusers LoRA file: a stock pipeline renders the same pixels as ours."""
    stock = StableDiffusionPipeline.from_pretrained(
        pipeline_folder, safety_checker=None, local_files_only=True
    )
    stock.set_progress_bar_config(disable=True)
    stock.load_lora_weights(str(dog_adapter.path))
    theirs = stock(
        "a photo of a dog",
        num_inference_steps=3,
        guidance_scale=4.0,
        generator=[torch.Generator().manual_seed(0)],
    ).images[0]
    ours = Generator(base).generate(GenerateRequest("a photo of a dog", adapter=dog_adapter.path, steps=3))[0]
    assert np.abs(np.asarray(theirs, dtype=np.int16) - np.asarray(ours, dtype=np.int16)).max() <= 1


def test_fresh_process_renders_the_same_pixels(
    pipeline_folder: Path, base: BaseModel, dog_adapter: AdapterInfo, tmp_path: Path
) -> None:
    out = tmp_path / "fresh.png"
    script = textwrap.dedent(f"""
        import torch
        torch.set_num_threads(1)
        from pathlib import Path
        from imprint.engine import BaseModel, GenerateRequest, Generator
        generator = Generator(BaseModel.load({str(pipeline_folder)!r}))
        request = GenerateRequest({PROMPT!r}, adapter=Path({str(dog_adapter.path)!r}), steps=3, seed=11)
        generator.generate(request)[0].save({str(out)!r})
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120, capture_output=True)
    here = Generator(base).generate(GenerateRequest(PROMPT, adapter=dog_adapter.path, steps=3, seed=11))[0]
    assert np.array_equal(np.asarray(Image.open(out)), np.asarray(here))
