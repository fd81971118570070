"""The comparison's bookkeeping: shuffled blind columns, names hidden until the round's pick, the tally."""

from __future__ import annotations

import random

import pytest

from core.engines.types import Role
from core.tasks.chat import ChatTurn
from core.tasks.compare import TIE, Comparison

MODELS = [("m/one", "One"), ("m/two", "Two"), ("m/three", "Three")]


def _ask(comparison: Comparison, question: str) -> None:
    comparison.ask()
    for contender in comparison.contenders:
        contender.history.turns += [ChatTurn(Role.USER, question), ChatTurn(Role.ASSISTANT, f"{contender.title}!")]


def test_blind_columns_are_shuffled_and_named_by_letter_until_the_pick():
    comparison = Comparison.start("d", MODELS, blind=True, rng=random.Random(3))
    assert [c.model_id for c in comparison.contenders] != [m for m, _ in MODELS]  # shuffled with this seed
    _ask(comparison, "Which is it?")
    assert comparison.hidden and comparison.awaiting_pick and comparison.letter(2) == "C"
    comparison.pick(comparison.contenders[1].model_id)
    assert not comparison.hidden  # revealed
    _ask(comparison, "And now?")
    assert comparison.hidden  # a new round hides them again until it is picked
    comparison.pick(TIE)
    tally = comparison.tally()
    assert tally[comparison.contenders[1].model_id] == 1 and tally[TIE] == 1 and sum(tally.values()) == 2
    record = comparison.tally_json()
    assert record["rounds"] == 2 and record["picked"] == 2 and record["ties"] == 1


def test_open_mode_names_the_models_and_bad_inputs_are_refused():
    comparison = Comparison.start("d", MODELS[:2], blind=False)
    assert [c.model_id for c in comparison.contenders] == ["m/one", "m/two"] and not comparison.hidden
    with pytest.raises(ValueError, match="nothing asked"):
        comparison.pick("m/one")
    _ask(comparison, "?")
    with pytest.raises(ValueError, match="not in this comparison"):
        comparison.pick("m/other")
    with pytest.raises(ValueError, match="compare 2 to 3"):
        Comparison.start("d", MODELS[:1], blind=False)
