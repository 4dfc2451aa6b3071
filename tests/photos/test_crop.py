"""The training square keeps the subject, on real photographs: a person's detected face is centred,
anything else lands where the picture's saliency is."""

from __future__ import annotations

import pytest
from photokit import (
    ASTRONAUT_FACE,
    CHELSEA_EYES_AND_NOSE,
    COFFEE_CUP,
    astronaut,
    chelsea,
    coffee,
    inside,
    pasted,
    shifted,
)
from PIL import Image

from imprint.engine.images import prepare_images
from imprint.photos.crop import choose_square, names_a_person
from imprint.photos.faces import Box, find_faces


def face_box(face: Box | None) -> tuple[int, int, int, int]:
    assert face is not None
    return face.left, face.top, face.left + face.width, face.top + face.height


def test_the_cascade_finds_the_astronauts_face_where_it_is() -> None:
    faces = find_faces(astronaut())
    assert len(faces) == 1
    found = face_box(faces[0])
    assert all(abs(a - b) <= 12 for a, b in zip(found, ASTRONAUT_FACE, strict=True)), found


def test_a_person_off_centre_in_a_wide_photo_gets_the_face_centred() -> None:
    # The astronaut on the right of a 1400x512 picture: a centre square (444..956) cuts her face.
    photo = pasted(astronaut(), (1400, 512), (700, 0))
    crop = choose_square(photo, "woman")
    assert crop.rule == "face" and crop.side == 512
    face = face_box(crop.face)
    assert inside(face, crop.box)
    assert inside(shifted(ASTRONAUT_FACE, (700, 0)), crop.box)
    assert crop.face is not None and abs(crop.face.centre[0] - (crop.left + crop.side / 2)) <= 2
    assert not inside(shifted(ASTRONAUT_FACE, (700, 0)), (444, 0, 956, 512))


def test_a_portrait_photo_keeps_the_head_that_a_centre_crop_cuts_off() -> None:
    portrait = astronaut().crop((100, 0, 400, 512))  # 300x512, the face near the top
    face = shifted(ASTRONAUT_FACE, (-100, 0))
    crop = choose_square(portrait, "young woman")
    assert crop.rule == "face" and crop.box == (0, 0, 300, 300)  # as high as the picture allows
    assert inside(face, crop.box) and inside(face_box(crop.face), crop.box)
    centred = (0, 106, 300, 406)
    assert not inside(face, centred)
    # Without a person's object type the face is not looked for.
    assert choose_square(portrait, "dog").rule == "saliency"


def test_the_engine_trains_on_the_face_square() -> None:
    portrait = astronaut().crop((100, 0, 400, 512))
    [square] = prepare_images([portrait], 64, "girl")
    expected = portrait.crop((0, 0, 300, 300)).resize((64, 64), Image.Resampling.BICUBIC)
    assert square.tobytes() == expected.tobytes()
    [untyped] = prepare_images([portrait], 64)
    assert untyped.tobytes() != expected.tobytes()


def test_a_full_size_photo_is_cropped_on_the_face_too() -> None:
    big = pasted(astronaut(), (1400, 512), (700, 0)).resize((5600, 2048))
    crop = choose_square(big, "man")
    assert crop.rule == "face" and crop.side == 2048
    assert inside(face_box(crop.face), crop.box)
    assert crop.face is not None and abs(crop.face.centre[0] - (crop.left + 1024)) <= 4


@pytest.mark.parametrize(("object_type", "person"), [
    ("girl", True), ("young woman", True), ("Man", True), ("child", True), ("person", True),
    ("baby", True), ("cat", False), ("dog", False), ("teddy bear", False), ("", False), (None, False),
])
def test_which_object_types_name_a_person(object_type: str | None, person: bool) -> None:
    assert names_a_person(object_type) is person


def test_the_cat_keeps_both_eyes_and_its_nose() -> None:
    crop = choose_square(chelsea(), "cat")
    assert crop.side == 300 and inside(CHELSEA_EYES_AND_NOSE, crop.box), crop


def test_the_coffee_cup_stays_in_the_square() -> None:
    crop = choose_square(coffee(), "cup")
    assert crop.side == 400 and inside(COFFEE_CUP, crop.box), crop


def test_a_cat_off_centre_is_followed_by_the_saliency_crop() -> None:
    # The cat photo on the left of a wide, blurred picture: the centre square (350..750) loses an eye.
    at = (60, 50)
    photo = pasted(chelsea(), (1100, 400), at)
    features = shifted(CHELSEA_EYES_AND_NOSE, at)
    assert not inside(features, (350, 0, 750, 400))
    crop = choose_square(photo, "cat")
    assert crop.rule == "saliency" and inside(features, crop.box), crop


def test_a_person_whose_face_is_not_found_falls_back_to_saliency() -> None:
    assert choose_square(chelsea(), "girl").rule == "saliency"


def test_an_even_picture_is_cut_in_the_centre_and_a_square_one_used_whole() -> None:
    assert choose_square(Image.new("RGB", (300, 100), (200, 30, 30)), "cat").box == (100, 0, 200, 100)
    assert choose_square(Image.new("L", (90, 300), 7), "girl").box == (0, 105, 90, 195)
    whole = choose_square(astronaut(), "woman")
    assert whole.rule == "whole" and whole.box == (0, 0, 512, 512)
