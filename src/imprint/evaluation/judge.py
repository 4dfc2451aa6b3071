"""The judge: a small CNN that names what it sees in a 64x64 picture of the procedural world.

One shared trunk and one head per attribute (type, colour, pattern, accessory, accessory colour,
scene). It is trained on clean renders and only trusted when its held-out accuracy on clean
renders is at least 95% per attribute; then it scores generated images.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file, save_file
from torch import nn

from imprint.world.vocabulary import ACCESSORIES, ACCESSORY_COLOURS, COLOURS, PATTERNS, SCENES, SUBJECT_TYPES

HEADS: dict[str, tuple[str, ...]] = {
    "kind": SUBJECT_TYPES,
    "colour": COLOURS,
    "pattern": PATTERNS,
    "accessory": ACCESSORIES,
    "accessory_colour": ("none",) + ACCESSORY_COLOURS,
    "scene": SCENES,
}


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
    )


class JudgeNet(nn.Module):
    def __init__(self, width: int = 32) -> None:
        super().__init__()
        self.trunk = nn.Sequential(
            _block(3, width), _block(width, width * 2), _block(width * 2, width * 4),
            _block(width * 4, width * 4), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )
        self.heads = nn.ModuleDict({name: nn.Linear(width * 4, len(v)) for name, v in HEADS.items()})

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        h = self.trunk(x)
        return {name: head(h) for name, head in self.heads.items()}


def to_tensor(images: list[Image.Image]) -> torch.Tensor:
    arr = np.stack([np.asarray(im.convert("RGB").resize((64, 64)), dtype=np.float32) for im in images])
    return torch.from_numpy(arr).permute(0, 3, 1, 2) / 127.5 - 1.0


def labels_of(subject_dict: dict[str, str | None], scene: str) -> dict[str, str]:
    return {
        "kind": str(subject_dict["kind"]),
        "colour": str(subject_dict["colour"]),
        "pattern": str(subject_dict["pattern"]),
        "accessory": str(subject_dict["accessory"]),
        "accessory_colour": str(subject_dict["accessory_colour"] or "none"),
        "scene": scene,
    }


@dataclass
class Judge:
    net: JudgeNet

    @torch.no_grad()
    def predict(self, images: list[Image.Image]) -> list[dict[str, str]]:
        out: list[dict[str, str]] = []
        for start in range(0, len(images), 128):
            out += self.predict_tensor(to_tensor(images[start:start + 128]))
        return out

    @torch.no_grad()
    def predict_tensor(self, x: torch.Tensor) -> list[dict[str, str]]:
        """Labels of images already in the judge's input form (NCHW in [-1, 1])."""
        self.net.eval()
        logits = self.net(x)
        out: list[dict[str, str]] = [{} for _ in range(x.shape[0])]
        for name, values in HEADS.items():
            for i, k in enumerate(logits[name].argmax(dim=1).tolist()):
                out[i][name] = values[k]
        return out

    def save(self, folder: Path, metrics: dict) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        save_file(self.net.state_dict(), str(folder / "judge.safetensors"))
        (folder / "judge.json").write_text(json.dumps(metrics, indent=2))

    @classmethod
    def load(cls, folder: Path) -> Judge:
        net = JudgeNet()
        net.load_state_dict(load_file(str(folder / "judge.safetensors")))
        return cls(net.eval())
