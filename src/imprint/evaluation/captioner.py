"""Names what surrounds the subject in each training picture of the procedural world.

The trainer credits a picture's surroundings to the words of its caption (`train_adapter(contexts=)`):
without them, an adapter strong enough to keep a subject's fine detail also learns its photos' room or
forest as part of "this dog" and draws them whatever the prompt says. A user of the API sends pictures,
not captions, so for imprint-tiny the judge's scene head writes them, as BLIP or a tagger does for
SD-class models in kohya- or EasyPhoto-style trainers.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from PIL import Image

from imprint.evaluation.judge import HEADS, Judge, to_tensor
from imprint.world.vocabulary import SCENE_PHRASES

# Below this probability the scene is left unsaid: a wrong caption is worse than none.
MIN_CONFIDENCE = 0.8


class SceneCaptioner:
    def __init__(self, judge: Judge) -> None:
        self.judge = judge

    @classmethod
    def load(cls, judge_folder: Path) -> SceneCaptioner:
        return cls(Judge.load(judge_folder))

    @torch.no_grad()
    def contexts(self, images: Sequence[Image.Image]) -> list[str]:
        """One phrase per image ("in a room"), or "" where the judge is unsure of the scene."""
        if not images:
            return []
        self.judge.net.eval()
        probs = self.judge.net(to_tensor(list(images)))["scene"].softmax(dim=1)
        best, index = probs.max(dim=1)
        scenes = HEADS["scene"]
        return [
            SCENE_PHRASES[scenes[i]] if p >= MIN_CONFIDENCE else ""
            for p, i in zip(best.tolist(), index.tolist(), strict=True)
        ]
