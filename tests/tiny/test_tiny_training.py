"""The imprint-tiny training stages run, resume from their checkpoints and export a loadable pipeline."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from diffusers import StableDiffusionPipeline

from imprint.tiny.architecture import TinyShape
from imprint.tiny.checkpoint import Budget
from imprint.tiny.train_diffusion import Trainer
from imprint.tiny.train_vae import train as train_vae

torch.set_num_threads(1)
SMALL = TinyShape(vae_channels=(16, 32, 32), unet_channels=(32, 32, 64), text_hidden=64, text_layers=1,
                  text_heads=2)


def _steps(log: Path, stage: str) -> list[int]:
    return [r["step"] for r in map(json.loads, log.read_text().splitlines()) if r.get("stage") == stage
            and "loss" in r]


def test_vae_then_diffusion_then_export(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("imprint.tiny.train_vae.TinyShape", lambda: SMALL)
    train_vae(tmp_path, steps=2, minutes=5, batch=2)
    assert (tmp_path / "vae" / "config.json").is_file()
    # Resuming a finished run does no more steps but still exports.
    train_vae(tmp_path, steps=2, minutes=5, batch=2)

    trainer = Trainer(tmp_path, SMALL, dataset_size=16, batch=2, lr=1e-3)
    trainer.run(3, Budget(5))
    assert trainer.step == 3 and (tmp_path / "diffusion.ckpt").is_file()
    resumed = Trainer(tmp_path, SMALL, dataset_size=16, batch=2, lr=1e-3)
    assert resumed.step == 3
    resumed.run(4, Budget(5))
    assert resumed.step == 4

    folder = resumed.export(tmp_path / "export")
    pipe = StableDiffusionPipeline.from_pretrained(folder, local_files_only=True)
    image = pipe("a dog on the beach", num_inference_steps=2, output_type="pil").images[0]
    assert image.size == (64, 64)
