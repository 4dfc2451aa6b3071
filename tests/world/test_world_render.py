"""The procedural world: deterministic, every combination drawable, captions that name what is drawn."""

from __future__ import annotations

import random

import numpy as np
import pytest

from imprint.world.render import render, sample, to_array
from imprint.world.subject import Subject, caption, training_caption
from imprint.world.vocabulary import ACCESSORIES, COLOURS_BY_TYPE, PATTERNS, SCENES, SUBJECT_TYPES


def test_same_seed_same_pixels_and_different_seed_different_pixels() -> None:
    a, b, c = sample(5), sample(5), sample(6)
    assert a.caption == b.caption
    assert np.array_equal(np.asarray(a.image), np.asarray(b.image))
    assert not np.array_equal(np.asarray(a.image), np.asarray(c.image))


@pytest.mark.parametrize("kind", SUBJECT_TYPES)
def test_every_type_colour_pattern_and_accessory_renders_in_every_scene(kind: str) -> None:
    for colour in COLOURS_BY_TYPE[kind]:
        for pattern in PATTERNS:
            for accessory in ACCESSORIES:
                acc_colour = "red" if accessory in ("hat", "scarf") else None
                subject = Subject(kind, colour, pattern, accessory, acc_colour)
                for scene in SCENES:
                    image = render(subject, scene, seed=1)
                    assert image.size == (64, 64) and image.mode == "RGB"


def test_the_subject_is_actually_drawn() -> None:
    subject = Subject("panda", "black", "plain", "hat", "blue")
    with_subject = np.asarray(render(subject, "snow", seed=3), dtype=np.int16)
    without = np.asarray(render(subject, "snow", seed=3, with_subject=False), dtype=np.int16)
    changed = (np.abs(with_subject - without).sum(axis=2) > 0).mean()
    assert 0.05 < changed < 0.6


def test_attributes_change_the_picture() -> None:
    base = Subject("dog", "brown", "plain")
    variants = [Subject("dog", "white", "plain"), Subject("dog", "brown", "striped"),
                Subject("dog", "brown", "plain", "glasses"), Subject("cat", "brown", "plain")]
    ref = np.asarray(render(base, "beach", seed=2))
    for v in variants:
        assert not np.array_equal(ref, np.asarray(render(v, "beach", seed=2))), v


def test_caption_names_the_attributes() -> None:
    s = Subject("dog", "brown", "spotted", "scarf", "red")
    assert caption(s, "beach") == "a brown spotted dog with a red scarf on the beach"
    girl = Subject("girl", "golden", "plain", "glasses")
    assert caption(girl, "night") == "a golden girl with glasses at night"


def test_training_captions_leave_parts_out_but_never_lie() -> None:
    s = Subject("cat", "gray", "striped", "hat", "blue")
    rng = random.Random(0)
    texts = [training_caption(s, "snow", rng) for _ in range(400)]
    assert "" in texts and "a gray striped cat with a blue hat in the snow" in texts
    assert any(t == "a cat in the snow" or t.startswith("a cat") for t in texts)
    for t in texts:
        assert set(t.split()) <= {"a", "gray", "striped", "cat", "with", "blue", "hat", "in", "the", "snow"}


@pytest.mark.parametrize("bad", [
    dict(kind="zebra", colour="black"), dict(kind="panda", colour="white"),
    dict(kind="dog", colour="brown", accessory="hat"),
    dict(kind="dog", colour="brown", accessory="glasses", accessory_colour="red"),
])
def test_impossible_subjects_are_refused(bad: dict) -> None:
    with pytest.raises(ValueError):
        Subject(**bad)


def test_to_array_is_nhwc_uint8() -> None:
    arr = to_array([sample(i).image for i in range(3)])
    assert arr.shape == (3, 64, 64, 3) and arr.dtype == np.uint8
