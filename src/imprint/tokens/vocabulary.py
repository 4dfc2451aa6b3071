"""A base model's tokenizer, loaded on its own (a few files, no weights) to check requests early."""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imprint.tokens.known_words import is_known_word

log = logging.getLogger(__name__)

_WORD = re.compile(r"[a-z]+")
# Prompt markers the engine replaces before tokenizing; they are not words of the base model.
_MARKERS = re.compile(r"<[^<>\s]+>")


@dataclass(frozen=True)
class PromptReading:
    unknown_words: tuple[str, ...]
    # Text past the tokenizer's length, or None when the whole prompt is read.
    dropped: str | None
    max_tokens: int


class Vocabulary:
    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self.max_tokens = int(tokenizer.model_max_length)

    def unknown_words(self, text: str) -> tuple[str, ...]:
        words = _WORD.findall(_MARKERS.sub(" ", text.lower()))
        return tuple(w for w in dict.fromkeys(words) if not is_known_word(self.tokenizer, w))

    def dropped_text(self, text: str, *, reserved: int = 0) -> str | None:
        """What of `text` falls past the tokenizer's length (start and end tokens counted, and
        `reserved` more that the text will gain), as text."""
        ids = self.tokenizer(text, add_special_tokens=True, truncation=False, verbose=False).input_ids
        limit = self.max_tokens - reserved
        if len(ids) <= limit:
            return None
        # The end token is kept by truncation, so limit - 1 pieces of the text survive.
        dropped = ids[limit - 1:-1]
        return str(self.tokenizer.decode(dropped, skip_special_tokens=True)).strip() or None

    def read(self, text: str) -> PromptReading:
        return PromptReading(self.unknown_words(text), self.dropped_text(text), self.max_tokens)


def _tokenizer_folder(source: str) -> Path | None:
    folder = Path(source) / "tokenizer"
    return folder if folder.is_dir() else None


def load_vocabulary(source: str) -> Vocabulary | None:
    """The tokenizer of a diffusers folder or of a hub id already in the local cache; None when it
    cannot be had without the network (the engine checks then, when the job runs)."""
    from transformers import AutoTokenizer

    folder = _tokenizer_folder(source)
    try:
        if folder is not None:
            tokenizer = AutoTokenizer.from_pretrained(str(folder))
        else:
            tokenizer = AutoTokenizer.from_pretrained(source, subfolder="tokenizer", local_files_only=True)
    except Exception as exc:  # any loader failure only means "cannot tell at submission"
        log.info("the base model's tokenizer could not be read (%s); words are checked when jobs run", exc)
        return None
    return Vocabulary(tokenizer)


class LazyVocabulary:
    """Loaded on first use (a second or so), once per process, shared by request threads."""

    def __init__(self, source: str) -> None:
        self._source = source
        self._lock = threading.Lock()
        self._loaded = False
        self._vocabulary: Vocabulary | None = None

    def get(self) -> Vocabulary | None:
        with self._lock:
            if not self._loaded:
                self._vocabulary = load_vocabulary(self._source)
                self._loaded = True
            return self._vocabulary
