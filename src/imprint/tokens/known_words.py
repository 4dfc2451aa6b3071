"""The rule for "the base model knows this word", shared by submission checks and the trainer."""

from __future__ import annotations

from typing import Any

# Longer than this many sub-word pieces, a "word" is more likely a typo than a word the model knows.
MAX_PIECES_PER_WORD = 3


def word_pieces(tokenizer: Any, word: str) -> list[int]:
    return list(tokenizer(word, add_special_tokens=False).input_ids)


def is_known_word(tokenizer: Any, word: str) -> bool:
    """A word the vocabulary lacks falls apart into many pieces or into single characters, whose
    embeddings say nothing about what the word means."""
    pieces = word_pieces(tokenizer, word)
    texts = [tokenizer.convert_ids_to_tokens(i).replace("</w>", "") for i in pieces]
    return not (len(pieces) > MAX_PIECES_PER_WORD or (len(pieces) > 1 and min(map(len, texts)) <= 1))
