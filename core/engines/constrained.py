"""Decoding under a JSON Schema: at every step only the tokens that keep the answer valid may be chosen.

llguidance (Microsoft's Rust engine behind Guidance, also used by vLLM and llama.cpp) compiles the schema
into a grammar and gives, per step, a bitmask of the allowed tokens over the tokenizer's vocabulary; the
processor here sets every other logit to -inf before ``generate`` picks. Why llguidance: it works with any
fast tokenizer and plain ``generate`` through a logits processor (no model wrapper, no torch.compile), builds a
schema's grammar in milliseconds rather than precomputing an index over the vocabulary, and is kept by an
active team; outlines wraps the model in its own generator, lm-format-enforcer walks a character tree in
Python per token.

Whitespace between JSON tokens is fixed (``whitespace_flexible`` off): otherwise a weak model could fill its
whole budget with spaces that the grammar allows. A schema whose strings and arrays are bounded
(``maxLength``, ``maxItems``) therefore always ends within a known number of tokens.
"""

from __future__ import annotations

import json
import weakref
from typing import Any

import numpy as np

# The JSON compiler's options: fixed whitespace, the same separators a compact json.dumps writes.
COMPILE_OPTIONS: dict[str, Any] = {"whitespace_flexible": False, "item_separator": ",", "key_separator": ":"}


class SchemaError(ValueError):
    """The schema cannot be compiled into a grammar (the message says why)."""


def compile_schema(schema: str) -> str:
    """The llguidance grammar of a JSON Schema (as JSON text); :class:`SchemaError` when it cannot be used."""
    import llguidance

    grammar = llguidance.LLMatcher.grammar_from_json_schema(schema, defaults=COMPILE_OPTIONS)  # type: ignore[arg-type]
    is_error, messages = llguidance.LLMatcher.validate_grammar_with_warnings(grammar)
    if is_error:
        raise SchemaError(messages[0] if messages else "the schema cannot be compiled")
    return str(grammar)


_TOKENIZERS: weakref.WeakKeyDictionary[Any, dict[tuple[int, ...], Any]] = weakref.WeakKeyDictionary()


def _tokenizer(tokenizer: Any, eos_ids: list[int]) -> Any:
    """llguidance's view of the tokenizer (its own vocabulary: rows of the output layer beyond it stay masked).

    Made once per tokenizer and end tokens: converting a large vocabulary takes most of a second.
    """
    import llguidance.hf

    made = _TOKENIZERS.setdefault(tokenizer, {})
    key = tuple(eos_ids)
    if key not in made:
        made[key] = llguidance.hf.from_tokenizer(tokenizer, eos_token=eos_ids or None)
    return made[key]


class SchemaConstraint:
    """A ``generate`` logits processor (batch of one) that keeps the answer inside a JSON Schema.

    It reads the token chosen at the previous step from ``input_ids``, feeds it to the matcher, and masks the
    scores with the tokens the matcher allows next; once the JSON is complete only an end token is allowed.
    """

    def __init__(self, tokenizer: Any, schema: str, eos_ids: list[int]) -> None:
        import llguidance

        self._matcher = llguidance.LLMatcher(_tokenizer(tokenizer, eos_ids), compile_schema(schema))
        if self._matcher.is_error():
            raise SchemaError(self._matcher.get_error())
        self._prompt_length: int | None = None

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch

        if self._prompt_length is None:
            self._prompt_length = int(input_ids.shape[-1])
        else:
            self._matcher.consume_token(int(input_ids[0, -1]))
        if self._matcher.is_error():  # a token the grammar refused: end the answer rather than write on
            allowed = np.zeros(scores.shape[-1], dtype=bool)
        else:
            bits = np.unpackbits(np.frombuffer(self._matcher.compute_bitmask(), dtype=np.uint8), bitorder="little")
            allowed = np.zeros(scores.shape[-1], dtype=bool)
            width = min(scores.shape[-1], bits.shape[0])
            allowed[:width] = bits[:width].astype(bool)
        blocked = torch.from_numpy(~allowed).to(scores.device)
        return scores.masked_fill(blocked.unsqueeze(0), float("-inf"))

    @property
    def failed(self) -> str | None:
        return self._matcher.get_error() if self._matcher.is_error() else None


def schema_text(schema: dict[str, Any]) -> str:
    """The schema as the request carries it; its properties keep their order, which the answer then follows."""
    return json.dumps(schema, ensure_ascii=False)
