"""Names what surrounds the subject in each training picture of the procedural world, and describes
the subject itself.

The trainer credits a picture's surroundings to the words of its caption (`train_adapter(contexts=)`):
without them, an adapter strong enough to keep a subject's fine detail also learns its photos' room or
forest as part of "this dog" and draws them whatever the prompt says. A user of the API sends pictures,
not captions, so for imprint-tiny the judge's scene head writes them, as BLIP or a tagger does for
SD-class models in kohya- or EasyPhoto-style trainers.

The subject's description ("golden spotted dog with a red scarf") is the other half of such a
caption: words the base model already draws carry the subject's attributes, so the identifier and
LoRA have only what the words miss to learn (measured in docs/imprint-tiny.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from PIL import Image

from imprint.evaluation.judge import HEADS, Judge, to_tensor
from imprint.world.vocabulary import SCENE_PHRASES, SUBJECT_TYPES

# Below this probability the scene is left unsaid: a wrong caption is worse than none.
MIN_CONFIDENCE = 0.8
# An attribute goes into the description only when more than this share of the pictures reads it
# confidently and the same way: one odd picture (a hat hidden by the crop) must not rename the subject.
MIN_AGREEMENT = 0.5


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

    @torch.no_grad()
    def describe(self, images: Sequence[Image.Image], object_type: str) -> str | None:
        """A noun phrase for the subject the pictures share ("golden spotted dog with a red scarf"),
        built around `object_type` from the attributes most pictures confidently agree on; None when
        there is nothing to add, or when the judge cannot vouch for the type (an object type it does
        not know, or pictures it reads as something else): a description of the wrong thing would
        teach the adapter against the words."""
        object_type = " ".join(object_type.lower().split())  # as the trainer normalises it
        if not images or object_type not in SUBJECT_TYPES:
            return None
        self.judge.net.eval()
        logits = self.judge.net(to_tensor(list(images)))
        agreed = {head: self._consensus(logits[head], HEADS[head]) for head in
                  ("kind", "colour", "pattern", "accessory", "accessory_colour")}
        if agreed["kind"] != object_type:
            return None
        pattern = agreed["pattern"] if agreed["pattern"] != "plain" else None
        words = [agreed["colour"] or "", pattern or "", object_type]
        accessory = agreed["accessory"]
        if accessory == "glasses":
            words.append("with glasses")
        elif accessory in ("hat", "scarf") and agreed["accessory_colour"] not in (None, "none"):
            words.append(f"with a {agreed['accessory_colour']} {accessory}")
        description = " ".join(w for w in words if w)
        return description if description != object_type else None

    @staticmethod
    def _consensus(logits: torch.Tensor, names: tuple[str, ...]) -> str | None:
        best, index = logits.softmax(dim=1).max(dim=1)
        votes: dict[str, int] = {}
        for p, i in zip(best.tolist(), index.tolist(), strict=True):
            if p >= MIN_CONFIDENCE:
                votes[names[i]] = votes.get(names[i], 0) + 1
        if not votes:
            return None
        name, count = max(votes.items(), key=lambda kv: kv[1])
        return name if count > MIN_AGREEMENT * len(logits) else None
