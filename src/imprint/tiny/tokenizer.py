"""A CLIP-format BPE vocabulary built from the procedural world's words.

CLIP's tokenizer is byte-level BPE whose word-final symbols carry a `</w>` suffix. We keep every
byte symbol (so any text still tokenizes, unknown words fall apart into characters) and learn merges
from the world's words until each is whole: every caption word and every spare identifier then
becomes exactly one token, which keeps sequences short and gives each
word its own embedding row.
"""

from __future__ import annotations

import json
from pathlib import Path

from imprint.world.vocabulary import SPARE_IDENTIFIERS, all_words

BOS, EOS = "<|startoftext|>", "<|endoftext|>"
MAX_LENGTH = 24


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP's reversible map of bytes to printable characters."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    bs += list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs), strict=True))


def _learn_merges(words: list[str]) -> list[tuple[str, str]]:
    """Plain BPE training over the word list (each word counted once) until every word is a single
    symbol. Encoding a training word with merges learned this way replays its training merges, so
    each of these words comes out as exactly one token."""
    byte_map = bytes_to_unicode()
    states = []
    for word in words:
        chars = [byte_map[b] for b in word.encode("utf-8")]
        chars[-1] += "</w>"
        states.append(chars)
    merges: list[tuple[str, str]] = []
    while True:
        counts: dict[tuple[str, str], int] = {}
        for sym in states:
            for pair in zip(sym, sym[1:], strict=False):
                counts[pair] = counts.get(pair, 0) + 1
        if not counts:
            return merges
        best = min(counts, key=lambda p: (-counts[p], p))
        merges.append(best)
        for i, sym in enumerate(states):
            out, j = [], 0
            while j < len(sym):
                if j + 1 < len(sym) and (sym[j], sym[j + 1]) == best:
                    out.append(sym[j] + sym[j + 1])
                    j += 2
                else:
                    out.append(sym[j])
                    j += 1
            states[i] = out


def build_vocabulary() -> tuple[dict[str, int], list[tuple[str, str]]]:
    symbols = list(bytes_to_unicode().values())
    vocab: dict[str, int] = {}
    for s in symbols + [s + "</w>" for s in symbols]:
        vocab.setdefault(s, len(vocab))
    merges = _learn_merges(all_words() + list(SPARE_IDENTIFIERS))
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    vocab[BOS] = len(vocab)
    vocab[EOS] = len(vocab)
    return vocab, merges


def save_tokenizer(folder: Path) -> None:
    """Writes vocab.json, merges.txt and the tokenizer config that CLIPTokenizer loads."""
    folder.mkdir(parents=True, exist_ok=True)
    vocab, merges = build_vocabulary()
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    lines = ["#version: 0.2"] + [f"{a} {b}" for a, b in merges]
    (folder / "merges.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = {
        "tokenizer_class": "CLIPTokenizer",
        "model_max_length": MAX_LENGTH,
        "bos_token": BOS,
        "eos_token": EOS,
        "unk_token": EOS,
        "pad_token": EOS,
        "do_lower_case": True,
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    special = {"bos_token": BOS, "eos_token": EOS, "unk_token": EOS, "pad_token": EOS}
    (folder / "special_tokens_map.json").write_text(json.dumps(special, indent=2), encoding="utf-8")
