"""The learned identifier token of pivotal tuning: its word, its initial embedding, and the trainable row.

A new token gets its own embedding row, initialised from the object type's word: a random row sits far
from anything the text encoder was trained on and wrecks generation (measured on imprint-tiny), while
the class word's row starts the subject at "a generic dog" and training moves it towards "this dog".
"""

from __future__ import annotations

import re

import torch
from torch import nn
from transformers import CLIPTextModel, CLIPTokenizer

from imprint.engine.errors import BadInput
from imprint.tokens.known_words import is_known_word, word_pieces

IDENTIFIER_TOKEN = "<imprint-id>"
SPECIAL_TOKEN = "<special-token>"
_WORDS = re.compile(r"^[a-z]+(?:[ -][a-z]+)*$")


def normalise_object_type(object_type: str) -> str:
    return " ".join(object_type.strip().lower().split())


def class_token_ids(tokenizer: CLIPTokenizer, object_type: str) -> list[int]:
    """Token ids of the object type, or BadInput when the tokenizer does not know the word.

    A word the vocabulary lacks falls apart into single characters, whose embeddings say nothing about
    the subject: training from such an init is training from noise, so it is refused up front.
    """
    words = normalise_object_type(object_type)
    if not _WORDS.match(words):
        raise BadInput(f"object type {object_type!r} must be one or more plain words (letters only)")
    ids: list[int] = []
    for word in words.split():
        if not is_known_word(tokenizer, word):
            raise BadInput(
                f"unknown object type {object_type!r}: the base model does not know the word {word!r}"
            )
        ids += word_pieces(tokenizer, word)
    return ids


def class_embedding(text_encoder: CLIPTextModel, ids: list[int]) -> torch.Tensor:
    """Mean input embedding of the object type's pieces: the identifier's starting point."""
    table = text_encoder.get_input_embeddings().weight
    return table[torch.tensor(ids, device=table.device)].mean(dim=0).detach().clone()


class IdentifierEmbedding(nn.Module):
    """The frozen embedding table plus one trainable row for a token id past its end.

    Training only this row (instead of marking the whole table trainable and masking gradients, as
    the textual-inversion example does) keeps optimiser state at one vector instead of vocab x hidden.
    """

    def __init__(self, table: nn.Embedding, token_id: int, init: torch.Tensor) -> None:
        super().__init__()
        self.table = table
        self.token_id = token_id
        self.row = nn.Parameter(init.to(torch.float32).clone())

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        is_token = input_ids == self.token_id
        embeds = self.table(input_ids.masked_fill(is_token, 0))
        return torch.where(is_token.unsqueeze(-1), self.row.to(embeds.dtype), embeds)


def add_identifier(
    tokenizer: CLIPTokenizer, text_encoder: CLIPTextModel, object_type: str
) -> IdentifierEmbedding:
    """Adds IDENTIFIER_TOKEN to this (private) tokenizer and routes its id to a trainable row."""
    ids = class_token_ids(tokenizer, object_type)
    tokenizer.add_tokens([IDENTIFIER_TOKEN])
    token_id = tokenizer.convert_tokens_to_ids(IDENTIFIER_TOKEN)
    wrapper = IdentifierEmbedding(
        text_encoder.get_input_embeddings(), token_id, class_embedding(text_encoder, ids)
    )
    text_encoder.set_input_embeddings(wrapper)
    return wrapper


def substitute(prompt: str, subject: str | None) -> str:
    """Puts the subject phrase where the prompt says SPECIAL_TOKEN, or drops the marker when there is none."""
    text = prompt.replace(SPECIAL_TOKEN, f" {subject} " if subject else " ")
    return " ".join(text.split())
