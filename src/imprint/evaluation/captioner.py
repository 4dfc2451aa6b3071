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

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image

from imprint.engine.identifier import normalise_object_type
from imprint.evaluation.judge import HEADS, Judge, to_tensor
from imprint.world.subject import noun_phrase
from imprint.world.vocabulary import SCENE_PHRASES, SUBJECT_TYPES

# Below this probability the scene is left unsaid: a wrong caption is worse than none.
MIN_CONFIDENCE = 0.8
# An attribute goes into the description only when more than this share of the pictures reads it
# confidently and the same way: one odd picture (a hat hidden by the crop) must not rename the subject.
MIN_AGREEMENT = 0.5


@dataclass(frozen=True)
class Captions:
    contexts: list[str]  # one phrase per picture ("in a room"), or "" where the judge is unsure
    description: str | None  # the subject the pictures share, or None (see SceneCaptioner.describe)
    # Pictures the judge cannot read as drawings of its world (photos, say): see _unfamiliar.
    unfamiliar: int = 0


class SceneCaptioner:
    def __init__(self, judge: Judge) -> None:
        self.judge = judge

    @classmethod
    def load(cls, judge_folder: Path) -> SceneCaptioner:
        return cls(Judge.load(judge_folder))

    def caption(self, images: Sequence[Image.Image], object_type: str) -> Captions:
        """Both halves of the training captions from one pass of the judge over the pictures."""
        if not images:
            return Captions([], None)
        logits = self._read(images)
        return Captions(_contexts(logits["scene"]), _description(logits, object_type), _unfamiliar(logits))

    def contexts(self, images: Sequence[Image.Image]) -> list[str]:
        """One phrase per image ("in a room"), or "" where the judge is unsure of the scene."""
        return _contexts(self._read(images)["scene"]) if images else []

    def describe(self, images: Sequence[Image.Image], object_type: str) -> str | None:
        """A noun phrase for the subject the pictures share ("golden spotted dog with a red scarf"),
        built around `object_type` from the attributes most pictures confidently agree on; None when
        there is nothing to add, or when the judge cannot vouch for the type (an object type it does
        not know, or pictures it reads as something else): a description of the wrong thing would
        teach the adapter against the words."""
        return _description(self._read(images), object_type) if images else None

    @torch.no_grad()
    def _read(self, images: Sequence[Image.Image]) -> dict[str, torch.Tensor]:
        self.judge.net.eval()
        return self.judge.net(to_tensor(list(images)))


def _contexts(scene_logits: torch.Tensor) -> list[str]:
    best, index = scene_logits.softmax(dim=1).max(dim=1)
    scenes = HEADS["scene"]
    return [
        SCENE_PHRASES[scenes[i]] if p >= MIN_CONFIDENCE else ""
        for p, i in zip(best.tolist(), index.tolist(), strict=True)
    ]


def _unfamiliar(logits: dict[str, torch.Tensor]) -> int:
    """Pictures on which some head of the judge is unsure. On the world's own renders every head is
    confident (measured: 1.3% of 600 renders below MIN_CONFIDENCE on their least sure head); on
    photographs (scikit-image's astronaut, chelsea, coffee) at least one head is not."""
    least_sure = torch.stack([logits[head].softmax(dim=1).max(dim=1).values for head in HEADS]).min(dim=0)
    return int((least_sure.values < MIN_CONFIDENCE).sum())


def _description(logits: dict[str, torch.Tensor], object_type: str) -> str | None:
    object_type = normalise_object_type(object_type)
    if object_type not in SUBJECT_TYPES:
        return None
    agreed = {head: _consensus(logits[head], HEADS[head])
              for head in ("kind", "colour", "pattern", "accessory", "accessory_colour")}
    if agreed["kind"] != object_type:
        return None
    accessory_colour = agreed["accessory_colour"]
    description = noun_phrase(object_type, colour=agreed["colour"], pattern=agreed["pattern"],
                              accessory=agreed["accessory"],
                              accessory_colour=accessory_colour if accessory_colour != "none" else None)
    return description if description != object_type else None


def _consensus(logits: torch.Tensor, names: tuple[str, ...]) -> str | None:
    best, index = logits.softmax(dim=1).max(dim=1)
    votes = Counter(names[i] for p, i in zip(best.tolist(), index.tolist(), strict=True)
                    if p >= MIN_CONFIDENCE)
    if not votes:
        return None
    name, count = votes.most_common(1)[0]
    return name if count > MIN_AGREEMENT * len(logits) else None
