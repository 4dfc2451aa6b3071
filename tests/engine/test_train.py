from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from PIL import Image
from safetensors.torch import load_file

from imprint.engine import (
    AdapterInfo,
    BadInput,
    BaseModel,
    Cancelled,
    GenerateRequest,
    Generator,
    Progress,
    TrainConfig,
    UnusableImages,
    read_adapter_info,
    train_adapter,
)
from imprint.engine.adapter_file import TOKEN_KEY, subject_phrase
from imprint.engine.identifier import SPECIAL_TOKEN


def test_adapter_file_carries_lora_token_and_metadata(dog_adapter: AdapterInfo, base: BaseModel) -> None:
    assert dog_adapter.path.is_file()
    assert (dog_adapter.object_type, dog_adapter.steps, dog_adapter.rank, dog_adapter.seed) == (
        "dog",
        4,
        8,
        0,
    )
    assert dog_adapter.base_model == base.name
    assert read_adapter_info(dog_adapter.path) == dog_adapter
    tensors = load_file(dog_adapter.path)
    assert tensors[TOKEN_KEY].shape == (1, base.pipeline.text_encoder.config.hidden_size)
    lora_keys = [k for k in tensors if k != TOKEN_KEY]
    assert lora_keys and all(k.startswith("unet.") and ".lora" in k for k in lora_keys)
    assert {k.split(".lora")[0].rsplit(".", 1)[-1] for k in lora_keys} >= {"to_q", "to_k", "to_v"}


def test_no_temporary_files_are_left_behind(dog_adapter: AdapterInfo) -> None:
    assert sorted(p.name for p in dog_adapter.path.parent.iterdir() if p.name.startswith(".")) == []


def test_progress_reports_every_step_with_rate_and_eta(base: BaseModel, dog_images, tmp_path: Path) -> None:
    events: list[Progress] = []
    train_adapter(
        base, dog_images, "dog", tmp_path / "a.safetensors", TrainConfig(steps=3), progress=events.append
    )
    training = [e for e in events if e.stage == "training"]
    assert [e.done for e in training] == [0, 1, 2, 3] and all(e.total == 3 for e in training)
    assert all(
        e.steps_per_second and e.steps_per_second > 0 and e.eta_seconds is not None for e in training[1:]
    )
    assert training[-1].fraction == 1.0 and training[-1].eta_seconds == 0


def test_same_seed_same_adapter(
    base: BaseModel, dog_images, dog_adapter: AdapterInfo, tmp_path: Path
) -> None:
    again = train_adapter(
        base, dog_images, "dog", tmp_path / "again.safetensors", TrainConfig(steps=dog_adapter.steps)
    )
    other = train_adapter(
        base, dog_images, "dog", tmp_path / "other.safetensors", TrainConfig(steps=dog_adapter.steps, seed=7)
    )
    first, second, third = (load_file(p) for p in (dog_adapter.path, again.path, other.path))
    assert all(first[k].equal(second[k]) for k in first)
    assert not all(first[k].equal(third[k]) for k in first)


def test_cancel_mid_training_raises_and_writes_nothing(base: BaseModel, dog_images, tmp_path: Path) -> None:
    cancel = threading.Event()
    seen: list[int] = []

    def on_progress(p: Progress) -> None:
        if p.stage == "training":
            seen.append(p.done)
            if p.done == 2:
                cancel.set()

    with pytest.raises(Cancelled):
        train_adapter(
            base,
            dog_images,
            "dog",
            tmp_path / "x.safetensors",
            TrainConfig(steps=50),
            progress=on_progress,
            cancel=cancel,
        )
    assert seen[-1] == 2
    assert list(tmp_path.iterdir()) == []


def test_grayscale_image_trains(base: BaseModel, dog_images, tmp_path: Path) -> None:
    gray = [dog_images[0].convert("L")]
    info = train_adapter(base, gray, "dog", tmp_path / "g.safetensors", TrainConfig(steps=1, augment=False))
    assert info.steps == 1


def test_zero_images_is_bad_input(base: BaseModel, tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="no training images"):
        train_adapter(base, [], "dog", tmp_path / "z.safetensors")


def test_one_pixel_image_is_rejected(base: BaseModel, tmp_path: Path) -> None:
    with pytest.raises(UnusableImages, match="too small") as err:
        train_adapter(base, [Image.new("RGB", (1, 1))], "dog", tmp_path / "z.safetensors")
    assert list(err.value.reasons) == [0]


def test_unknown_object_type_is_bad_input(base: BaseModel, dog_images, tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="giraffe"):
        train_adapter(base, dog_images, "giraffe", tmp_path / "z.safetensors")


def test_invalid_config_is_bad_input(base: BaseModel, dog_images, tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="rank=0"):
        train_adapter(base, dog_images, "dog", tmp_path / "z.safetensors", TrainConfig(rank=0))


def test_prior_preservation_and_text_encoder_lora(base: BaseModel, dog_images, tmp_path: Path) -> None:
    events: list[Progress] = []
    config = TrainConfig(
        steps=2,
        rank=4,
        prior_preservation=True,
        num_class_images=2,
        class_image_steps=2,
        train_text_encoder=True,
    )
    info = train_adapter(base, dog_images, "dog", tmp_path / "p.safetensors", config, progress=events.append)
    assert info.rank == 4
    assert [e.done for e in events if e.stage == "class images"] == [0, 1, 2]
    keys = load_file(info.path).keys()
    assert any(k.startswith("text_encoder.") for k in keys) and any(k.startswith("unet.") for k in keys)


def test_contexts_caption_each_image_and_each_trains_every_step(
    base: BaseModel, dog_images, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts: list[str] = []
    encoded: list[int] = []
    family = base.family
    real_token_ids, real_encode = family.token_ids, family.encode_ids

    # The family object is shared by the whole process: count only this thread's training, not a
    # lane of an earlier test's server that may still be generating with the same family.
    trainer = threading.get_ident()

    def spy_token_ids(pipe, batch):
        if threading.get_ident() == trainer:
            texts.extend(batch)
        return real_token_ids(pipe, batch)

    def spy_encode(encoders, ids, size):
        if threading.get_ident() == trainer:
            encoded.append(ids[0].shape[0])
        return real_encode(encoders, ids, size)

    monkeypatch.setattr(family, "token_ids", spy_token_ids)
    monkeypatch.setattr(family, "encode_ids", spy_encode)
    # The 1x1 image is dropped: its context must go with it, not shift onto the next image.
    images = [dog_images[0], Image.new("RGB", (1, 1)), dog_images[1], dog_images[2]]
    contexts = ["in a room", "on the beach", "at  night ", "in a room"]
    info = train_adapter(
        base, images, "dog", tmp_path / "c.safetensors", TrainConfig(steps=3), contexts=contexts
    )
    instance = [t for t in texts if "<imprint-id>" in t]
    assert instance == ["a <imprint-id> dog in a room", "a <imprint-id> dog at night"]
    # The class caption once up front, then both instance captions once each, every step.
    assert len(encoded) == 1 + 3 * 2
    assert read_adapter_info(info.path).steps == 3


def test_contexts_with_prior_preservation_train(base: BaseModel, dog_images, tmp_path: Path) -> None:
    # Instance groups of 2 and a class batch of 4: captions with unequal sample counts.
    config = TrainConfig(steps=2, prior_preservation=True, num_class_images=2, class_image_steps=1)
    contexts = ["in a room", "in the forest", "in a room"]
    info = train_adapter(base, dog_images, "dog", tmp_path / "p.safetensors", config, contexts=contexts)
    assert info.path.is_file()


def test_contexts_must_match_images(base: BaseModel, dog_images, tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="2 contexts were given for 3 images"):
        train_adapter(base, dog_images, "dog", tmp_path / "z.safetensors", contexts=["a", "b"])


def test_a_description_names_the_subject_in_its_captions_and_its_prompts(
    base: BaseModel, dog_images, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import imprint.engine.generate as generate_module

    texts: list[str] = []
    real_token_ids = base.family.token_ids
    monkeypatch.setattr(base.family, "token_ids", lambda pipe, batch: texts.extend(batch)
                        or real_token_ids(pipe, batch))
    info = train_adapter(base, dog_images, "dog", tmp_path / "d.safetensors", TrainConfig(steps=2),
                         contexts=["in a room"] * 3, description=" Golden  spotted dog")
    assert [t for t in texts if "<imprint-id>" in t] == ["a <imprint-id> golden spotted dog in a room"]
    assert info.subject == "golden spotted dog" and info.object_type == "dog"

    prompts: list[str] = []
    real_substitute = generate_module.substitute
    monkeypatch.setattr(generate_module, "substitute", lambda text, subject: prompts.append(
        real_substitute(text, subject)) or prompts[-1])
    Generator(base).generate(GenerateRequest(prompt=f"a {SPECIAL_TOKEN} on the beach", adapter=info.path,
                                             steps=1))
    assert re.fullmatch(r"a \S+ golden spotted dog on the beach", prompts[0]), prompts


@pytest.mark.parametrize(("description", "message"), [
    ("golden spotted cat", "does not name the object type"),
    ("qzxwv dog", "does not know the word"),
])
def test_a_bad_description_is_refused_before_training(
    base: BaseModel, dog_images, tmp_path: Path, description: str, message: str
) -> None:
    with pytest.raises(BadInput, match=message):
        train_adapter(base, dog_images, "dog", tmp_path / "x.safetensors", TrainConfig(steps=1),
                      description=description)
    assert not (tmp_path / "x.safetensors").exists()


def test_files_from_before_descriptions_name_the_object_type() -> None:
    assert subject_phrase({"object_type": "dog"}) == "dog"
    assert subject_phrase({"object_type": "dog", "subject": "red dog"}) == "red dog"
