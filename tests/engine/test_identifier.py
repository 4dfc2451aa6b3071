from __future__ import annotations

import pytest

from imprint.engine import SPECIAL_TOKEN, BadInput, BaseModel
from imprint.engine.identifier import class_token_ids, substitute


def test_known_object_type_is_one_token(base: BaseModel) -> None:
    assert len(class_token_ids(base.pipeline.tokenizer, " Dog ")) == 1


@pytest.mark.parametrize("word", ["giraffe", "dog2", "", "<special-token>"])
def test_unknown_object_type_is_bad_input(base: BaseModel, word: str) -> None:
    with pytest.raises(BadInput, match="object type"):
        class_token_ids(base.pipeline.tokenizer, word)


def test_special_token_is_replaced_or_dropped() -> None:
    assert (
        substitute(f"a photo of {SPECIAL_TOKEN} on the beach", "<id> dog")
        == "a photo of <id> dog on the beach"
    )
    assert substitute(f"a photo of {SPECIAL_TOKEN} on the beach", None) == "a photo of on the beach"
    assert substitute(f"{SPECIAL_TOKEN},at night", "x") == "x ,at night"
    assert substitute("no marker here", "x") == "no marker here"
