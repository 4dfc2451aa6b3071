"""End to end: a phone's sideways-stored JPEG (EXIF Orientation 6) served on loopback, submitted with
the official SDK, reaches the trainer upright and is cut on the person's face."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from alibabacloud_aicontent20240611 import models as m
from api.apikit import ImageServer, Server, free_port, settings_for, wait_for
from photokit import astronaut, encode
from PIL import Image
from serving_kit import as_served, serve_in_thread

from imprint.photos.crop import choose_square
from imprint.runtime import build_runtime
from imprint.tiny.pipeline_folder import save_random_pipeline
from imprint.worker.engine_runtime import EngineRuntime


class RecordingEngine(EngineRuntime):
    """The real engine, noting which pictures each training was given."""

    def __init__(self, source: str) -> None:
        super().__init__(source, captioner="none")
        self.trained_on: list[tuple[list[Image.Image], str]] = []

    def train(self, images: list[Image.Image], **kw: Any) -> None:
        self.trained_on.append(([image.copy() for image in images], kw["object_type"]))
        super().train(images, **kw)


def sideways_jpeg(photo: Image.Image) -> bytes:
    """As a phone held upright stores it: pixels turned, Orientation 6 ("turn 90 degrees clockwise")."""
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(photo.transpose(Image.Transpose.ROTATE_90), "JPEG", quality=95, exif=exif.tobytes())


@pytest.mark.slow
def test_a_sideways_stored_photo_trains_upright_and_face_centred(tmp_path: Path) -> None:
    upright = astronaut().crop((80, 0, 380, 400))  # portrait, the face near the top
    stored = sideways_jpeg(upright)
    assert Image.open(io.BytesIO(stored)).size == (400, 300)
    images = ImageServer()
    engine = RecordingEngine(str(save_random_pipeline(tmp_path / "base")))
    runtime = build_runtime(settings_for(tmp_path / "data", tmp_path / "base"), engine_runtime=engine)
    assert runtime.first_key is not None
    runtime.start()
    port = free_port()
    uvicorn_server = as_served(runtime.app, port)
    server = Server(runtime, port, runtime.first_key.access_key_id, runtime.first_key.secret, uvicorn_server,
                    serve_in_thread(uvicorn_server))
    try:
        client = server.new_client()
        url = images.add("portrait.jpg", stored)
        job = client.personalizedtxt_2img_add_model_train_job(m.Personalizedtxt2imgAddModelTrainJobRequest(
            name="me", object_type="woman", image_url=[url], train_steps=2))
        model_id = job.body.data.model_id
        status = wait_for(lambda: client.personalizedtxt_2img_query_model_train_status(
            m.Personalizedtxt2imgQueryModelTrainStatusRequest(model_id=model_id)).body,
            lambda body: body.data.model_train_status)
        assert status.data.model_train_status == "FINISHED", status.to_map()
    finally:
        server.stop()
        images.close()
    [(received, object_type)] = engine.trained_on
    [picture] = received
    assert picture.size == upright.size == (300, 400)
    error = np.abs(np.asarray(picture, dtype=np.int16) - np.asarray(upright, dtype=np.int16)).mean()
    assert error < 3, error  # JPEG noise; turned the wrong way it would be tens
    crop = choose_square(picture, object_type)
    assert object_type == "woman" and crop.rule == "face" and crop.box == (0, 0, 300, 300)
