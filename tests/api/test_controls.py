"""Generation controls on both inference operations: each one's 400 and each one's effect."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alibabacloud_tea_openapi.exceptions import ClientException
from apikit import Server, running, settings_for, train_model
from generic import call_new, finished_inference
from PIL import Image, ImageChops

from imprint.engine.schedulers import SCHEDULERS
from imprint.service.controls import SCHEDULER_NAMES

PROMPT = "a <special-token> dog on the beach"
V1 = ("Personalizedtxt2imgAddInferenceJob", "addInferenceJob")
V2 = ("PersonalizedTextToImageAddInferenceJob", "addPreModelInferenceJob")


def _submit(server: Server, op: tuple[str, str], body: dict[str, Any]) -> dict[str, Any]:
    return call_new(server, *op, body=body)["body"]["data"]


def _image(server: Server, job: dict[str, Any]) -> Image.Image:
    # Raw PNG bytes through the new SDK's generic call (body_type "byte").
    raw = call_new(
        server,
        "Personalizedtxt2imgQueryImageAsset",
        "queryImageAsset",
        method="GET",
        body_type="byte",
        query={"modelId": job["modelId"], "promptId": job["promptId"], "imageId": job["resultImageUrl"][0]},
    )["body"]
    return Image.open(io.BytesIO(raw)).convert("RGB")


# A request served in a shared denoising loop may differ from the same request served alone by float
# rounding, up to 2/255 per pixel (tests/engine/test_generate_batch.py); beyond that, a control had an effect.
ROUNDING = 2


def _distance(a: Image.Image, b: Image.Image) -> int:
    extrema = ImageChops.difference(a, b).getextrema()
    return max(high for _, high in extrema)  # type: ignore[misc]


def _differ(a: Image.Image, b: Image.Image) -> bool:
    return a.size != b.size or _distance(a, b) > ROUNDING


BAD: list[tuple[dict[str, Any], str]] = [
    ({"steps": 0}, "steps"),
    ({"steps": 201}, "steps"),
    ({"steps": "10"}, "steps"),
    ({"guidanceScale": -1}, "guidanceScale"),
    ({"guidanceScale": 31}, "guidanceScale"),
    ({"guidanceScale": "high"}, "guidanceScale"),
    ({"width": 70}, "width"),
    ({"width": 4096}, "width"),
    ({"height": 32}, "height"),
    ({"height": 64.5}, "height"),
    ({"adapterScale": 2.5}, "adapterScale"),
    ({"adapterScale": True}, "adapterScale"),
    ({"scheduler": "plms"}, "scheduler"),
    ({"scheduler": 3}, "scheduler"),
    ({"negativePrompt": 5}, "negativePrompt"),
    ({"negativePrompt": "x" * 2001}, "negativePrompt"),
]


@pytest.mark.parametrize("op", [V1, V2], ids=["v1", "v2"])
def test_each_bad_control_is_a_400_naming_it(
    server: Server, trained_model: str, image_urls: list[str], op: tuple[str, str]
) -> None:
    base = (
        {"modelId": trained_model, "prompt": PROMPT}
        if op == V1
        else {"imageUrl": image_urls, "prompt": PROMPT}
    )
    for extra, field in BAD:
        with pytest.raises(ClientException) as err:
            _submit(server, op, {**base, **extra})
        assert err.value.status_code == 400, extra
        assert err.value.code == "B_PARAMETER_INVALID_EXCEPTION" and f"'{field}'" in err.value.message, extra


@pytest.fixture(scope="module")
def batching(tmp_path_factory: pytest.TempPathFactory, base_model: Path) -> Iterator[Server]:
    """Several inference threads, so that queued jobs are served together where compatible."""
    settings = settings_for(
        tmp_path_factory.mktemp("controls"), base_model, inference_workers=4, max_active_jobs_per_account=16
    )
    with running(settings) as server:
        yield server


def test_each_control_has_its_effect(batching: Server, image_urls: list[str]) -> None:
    server = batching
    # Enough steps for the LoRA weights to move visibly: adapterScale 0 must look different from 1.
    base = {"modelId": train_model(server.new_client(), image_urls, steps=40), "prompt": PROMPT, "seed": 7}
    variants: dict[str, dict[str, Any]] = {
        "plain": {},
        "again": {},
        "negative": {"negativePrompt": "blurry, dark"},
        "steps": {"steps": 4},
        "guidance": {"guidanceScale": 9.0},
        "no_adapter": {"adapterScale": 0.0},
        "double_adapter": {"adapterScale": 2.0},
        "euler_a": {"scheduler": "euler_a"},
        "euler": {"scheduler": "euler"},
        "ddim": {"scheduler": "ddim"},
        "size": {"width": 96, "height": 72},
    }
    # All submitted at once: jobs with different controls must not share a loop wrongly.
    jobs = {name: _submit(server, V1, {**base, **extra}) for name, extra in variants.items()}
    images = {name: _image(server, finished_inference(server, job["id"])) for name, job in jobs.items()}
    assert not _differ(images["plain"], images["again"])  # same request, same picture: differences are real
    for name in variants.keys() - {"plain", "again"}:
        assert _differ(images[name], images["plain"]), (name, _distance(images[name], images["plain"]))
    assert images["size"].size == (96, 72) and images["plain"].size == (64, 64)
    shown = finished_inference(server, jobs["size"]["id"])["controls"]
    assert shown == {"width": 96, "height": 72}
    assert finished_inference(server, jobs["plain"]["id"])["controls"] == {}
    negative = finished_inference(server, jobs["negative"]["id"])
    assert negative["controls"] == {"negativePrompt": "blurry, dark"}


def test_v2_controls_apply(server: Server, image_urls: list[str]) -> None:
    body = {
        "imageUrl": image_urls,
        "prompt": PROMPT,
        "trainSteps": 2,
        "seed": 3,
        "width": 80,
        "height": 128,
        "scheduler": "euler_a",
        "steps": 3,
        "adapterScale": 1.5,
    }
    job = finished_inference(server, _submit(server, V2, body)["id"])
    assert job["controls"] == {
        "width": 80,
        "height": 128,
        "scheduler": "euler_a",
        "steps": 3,
        "adapterScale": 1.5,
    }
    raw = call_new(
        server,
        "PersonalizedTextToImageQueryImageAsset",
        "queryImageAssetFromImageId",
        method="GET",
        body_type="byte",
        query={"imageId": job["resultImageUrl"][0]},
    )["body"]
    assert Image.open(io.BytesIO(raw)).size == (80, 128)


def test_scheduler_names_match_the_engine() -> None:
    assert tuple(SCHEDULERS) == SCHEDULER_NAMES
