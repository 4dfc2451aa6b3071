"""Operation-specific parameter rules (ranges, clamping, defaults), kept out of the handlers."""

from __future__ import annotations

import re

from imprint.api.params import Params
from imprint.config import Settings
from imprint.service import warnings, webhooks
from imprint.service.controls import SCHEDULER_NAMES, Controls
from imprint.service.errors import InvalidParameter
from imprint.tokens import Vocabulary

SEED_MIN, SEED_MAX = -1, 2**31 - 1
MAX_IMAGES = 10
STRENGTH_DEFAULT, STRENGTH_MIN, STRENGTH_MAX = 0.5, 0.3, 0.8
_OBJECT_TYPE = re.compile(r"^[A-Za-z]+(?:[ -][A-Za-z]+)*$")


def object_type(p: Params) -> str:
    value = p.text("objectType", max_length=64).strip()
    if not _OBJECT_TYPE.match(value):
        raise InvalidParameter("objectType", "must be a word such as girl, man or dog (letters only)")
    return value.lower().replace(" ", "-")


def prompt(p: Params, settings: Settings) -> str:
    value = p.text("prompt", max_length=settings.max_prompt_chars)
    if not value.strip():
        raise InvalidParameter("prompt", "must not be blank")
    return value


def train_steps(p: Params, settings: Settings) -> int:
    value = p.opt_int("trainSteps", lo=1, hi=settings.max_train_steps)
    return settings.default_train_steps if value is None else value


def image_number(p: Params) -> int:
    # The documented behaviour: more than 10 is served as 10 (image_number_warnings says so in the job);
    # zero or less is a mistake.
    value = p.opt_int("imageNumber", lo=-(2**31), hi=2**31 - 1)
    if value is not None and value < 1:
        raise InvalidParameter("imageNumber", f"must be between 1 and {MAX_IMAGES} (more than {MAX_IMAGES} "
                                              f"is served as {MAX_IMAGES}), got {value}")
    return 1 if value is None else min(value, MAX_IMAGES)


def image_number_warnings(p: Params) -> list[str]:
    asked = p.opt_int("imageNumber", lo=-(2**31), hi=2**31 - 1)
    if asked is None or asked <= MAX_IMAGES:
        return []
    return [warnings.image_number_capped(asked, MAX_IMAGES)]


def known_object_type(value: str, vocabulary: Vocabulary | None, candidates: tuple[str, ...] = ()) -> str:
    """Refuses, before the job is queued, an object type whose words the base model does not know (the
    engine would refuse it when the job runs), naming the `candidates` it does know; without a
    vocabulary to ask, the engine decides."""
    if vocabulary is None:
        return value
    unknown = vocabulary.unknown_words(value.replace("-", " "))
    if unknown:
        examples = [w for w in candidates if not vocabulary.unknown_words(w)]
        hint = f" (the base model knows, for example: {', '.join(examples)})" if examples else ""
        raise InvalidParameter("objectType", f"the base model does not know the word '{unknown[0]}': name "
                                             f"the subject with a common word{hint}")
    return value


def prompt_warnings(text: str, vocabulary: Vocabulary | None) -> list[str]:
    unknown = vocabulary.unknown_words(text) if vocabulary is not None else ()
    return [warnings.unknown_prompt_words(unknown)] if unknown else []


def seed(p: Params) -> int | None:
    value = p.opt_int("seed", lo=SEED_MIN, hi=SEED_MAX)
    return None if value is None or value == -1 else value


def strength(p: Params) -> float:
    # The docs list 0.3-0.8 but their own example sends 1 (Terraform allows 0.1-0.9): accept (0, 1]
    # and clamp to the documented range rather than fail calls written from the example.
    value = p.opt_number("strength", lo=0.0, hi=1.0)
    if value is None:
        return STRENGTH_DEFAULT
    if value <= 0:
        raise InvalidParameter("strength", f"must be greater than 0, got {value}")
    return min(max(value, STRENGTH_MIN), STRENGTH_MAX)


MAX_STEPS = 200  # the engine's own bound (imprint.engine.generate.MAX_STEPS)
MAX_GUIDANCE = 30.0
MAX_ADAPTER_SCALE = 2.0
SIDE_MIN, SIDE_MAX, SIDE_MULTIPLE = 64, 2048, 8


def _side(p: Params, name: str) -> int | None:
    value = p.opt_int(name, lo=SIDE_MIN, hi=SIDE_MAX)
    if value is not None and value % SIDE_MULTIPLE:
        raise InvalidParameter(name, f"must be a multiple of {SIDE_MULTIPLE}, got {value}")
    return value


def controls(p: Params, settings: Settings) -> Controls:
    """The optional generation controls of both inference operations (docs/api-decisions.md)."""
    scheduler = p.opt_text("scheduler")
    if scheduler is not None and scheduler not in SCHEDULER_NAMES:
        raise InvalidParameter("scheduler", f"must be one of {', '.join(SCHEDULER_NAMES)}, got {scheduler!r}")
    negative = p.opt_text("negativePrompt", max_length=settings.max_prompt_chars)
    return Controls(
        negative_prompt=negative,
        steps=p.opt_int("steps", lo=1, hi=MAX_STEPS),
        guidance_scale=p.opt_number("guidanceScale", lo=0.0, hi=MAX_GUIDANCE),
        width=_side(p, "width"), height=_side(p, "height"),
        adapter_scale=p.opt_number("adapterScale", lo=0.0, hi=MAX_ADAPTER_SCALE),
        scheduler=scheduler)


def callback_url(p: Params) -> str | None:
    """A job's own webhook URL (raw HTTP only: the SDK models do not declare it)."""
    value = p.opt_text("callbackUrl")
    if value is None or value == "":
        return None
    return webhooks.check_url(value, "callbackUrl")
