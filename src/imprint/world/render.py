"""Renders captioned scenes of the procedural world, deterministically from a seed."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from imprint.world.figures import Pose, draw_subject
from imprint.world.scenes import paint_scene
from imprint.world.subject import Subject, caption, training_caption
from imprint.world.vocabulary import SCENES

# Drawn at twice the output size and box-filtered down: cheap anti-aliasing.
SUPERSAMPLE = 2


@dataclass(frozen=True)
class Sample:
    image: Image.Image
    subject: Subject
    scene: str
    caption: str


def render(subject: Subject, scene: str, *, seed: int, size: int = 64,
           with_subject: bool = True) -> Image.Image:
    """One RGB image of `subject` in `scene`; the seed fixes the layout jitter and scene details.
    Without the subject it is the same background, which gives trainers a mask of the subject."""
    rng = random.Random(seed)
    canvas = size * SUPERSAMPLE
    img = Image.new("RGB", (canvas, canvas))
    d = ImageDraw.Draw(img)
    ground = paint_scene(d, scene, canvas, rng)
    unit = canvas / 128
    pose = Pose(
        x=canvas / 2 + rng.uniform(-0.1, 0.1) * canvas,
        feet=min(canvas - 2 * unit, ground + rng.uniform(0.06, 0.14) * canvas),
        scale=unit * rng.uniform(0.92, 1.08),
        facing=rng.choice((-1, 1)),
    )
    if with_subject:
        draw_subject(d, subject, pose)
    return img.resize((size, size), Image.Resampling.BOX)


def sample(seed: int, *, size: int = 64, subject: Subject | None = None, scene: str | None = None,
           full_caption: bool = False) -> Sample:
    """A random subject in a random scene with its training caption (parts randomly omitted unless
    full_caption)."""
    rng = random.Random(seed * 7919 + 17)
    subject = subject or Subject.sample(rng)
    scene = scene or rng.choice(SCENES)
    text = caption(subject, scene) if full_caption else training_caption(subject, scene, rng)
    return Sample(render(subject, scene, seed=seed, size=size), subject, scene, text)


def samples(start: int, count: int, **kwargs) -> Iterator[Sample]:
    for seed in range(start, start + count):
        yield sample(seed, **kwargs)


def to_array(images: list[Image.Image]) -> np.ndarray:
    """uint8 NHWC array of the images."""
    return np.stack([np.asarray(im, dtype=np.uint8) for im in images])
