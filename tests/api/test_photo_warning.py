"""On the bundled imprint-tiny, training pictures its judge cannot read as drawings of its world
(real photographs that scikit-image ships) get the cartoon-world warning in the job; the world's own
renders do not."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest
from apikit import ImageServer, raw_call, running, settings_for, wait_for
from PIL import Image
from skimage import data

from imprint.config import bundled_base_model
from imprint.service.warnings import CARTOON_WORLD
from imprint.world.render import render
from imprint.world.subject import Subject


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def _photos() -> list[bytes]:
    return [_png(Image.fromarray(getattr(data, name)())) for name in ("astronaut", "chelsea", "coffee")]


def _renders() -> list[bytes]:
    subject = Subject.sample(random.Random(3), "cat")
    return [_png(render(subject, scene, seed=i)) for i, scene in enumerate(("beach", "snow", "forest"))]


@pytest.mark.slow
def test_photos_on_imprint_tiny_warn_and_renders_do_not(tmp_path: Path) -> None:
    images = ImageServer()
    settings = settings_for(tmp_path / "data", bundled_base_model(), default_train_steps=1)
    try:
        with running(settings) as server:
            client = server.new_client()
            outcomes = {}
            for label, pictures in (("photos", _photos()), ("renders", _renders())):
                urls = [images.add(f"{label}{i}.png", p) for i, p in enumerate(pictures)]
                model_id = raw_call(client, "Personalizedtxt2imgAddModelTrainJob", body={
                    "name": label, "objectType": "cat", "imageUrl": urls, "trainSteps": 1})["data"]["modelId"]
                outcomes[label] = wait_for(
                    lambda model_id=model_id: raw_call(client, "Personalizedtxt2imgQueryModelTrainStatus",
                                                       query={"modelId": model_id})["data"],
                    lambda d: d["modelTrainStatus"])
    finally:
        images.close()
    assert outcomes["photos"]["modelTrainStatus"] == "FINISHED"
    assert outcomes["photos"]["warnings"] == [CARTOON_WORLD]
    assert CARTOON_WORLD.startswith(
        "imprint-tiny draws a cartoon world; for photos start imprint with an SD 1.5 or SDXL model")
    assert outcomes["renders"]["modelTrainStatus"] == "FINISHED"
    assert outcomes["renders"]["warnings"] == []
