"""The imprint-tiny vocabulary loads as a stock CLIPTokenizer with one token per world word."""

from __future__ import annotations

from pathlib import Path

import pytest
from transformers import CLIPTokenizer

from imprint.tiny.tokenizer import MAX_LENGTH, save_tokenizer
from imprint.world.vocabulary import SPARE_IDENTIFIERS, all_words


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory: pytest.TempPathFactory) -> CLIPTokenizer:
    folder: Path = tmp_path_factory.mktemp("tok")
    save_tokenizer(folder)
    return CLIPTokenizer.from_pretrained(folder)


def test_every_world_word_and_identifier_is_one_token(tokenizer: CLIPTokenizer) -> None:
    for word in all_words() + list(SPARE_IDENTIFIERS):
        assert len(tokenizer.tokenize(word)) == 1, word


def test_unknown_words_still_tokenize_into_characters(tokenizer: CLIPTokenizer) -> None:
    pieces = tokenizer.tokenize("a zebra!")
    assert pieces[0] == "a</w>" and len(pieces) > 3
    assert tokenizer.unk_token_id not in tokenizer.convert_tokens_to_ids(pieces)


def test_padding_to_model_max_length(tokenizer: CLIPTokenizer) -> None:
    ids = tokenizer("a brown dog on the beach", padding="max_length", max_length=tokenizer.model_max_length,
                    truncation=True).input_ids
    assert len(ids) == MAX_LENGTH
    assert ids[0] == tokenizer.bos_token_id and ids[7] == tokenizer.eos_token_id
