"""Compare: the same questions about the same pictures to two or three models, answers side by side.

Each model keeps its own conversation (so follow-ups go to all, each with its own cached prefix). In blind mode
the columns are shuffled and named A, B, C until the person picks the better answer of the latest round; the
picks are tallied per model for the session: a small arena on one's own documents.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.tasks.chat import ChatHistory

MIN_MODELS, MAX_MODELS = 2, 3
TIE = "tie"


@dataclass
class Contender:
    model_id: str
    title: str
    history: ChatHistory


@dataclass
class Comparison:
    """The contenders in their (possibly shuffled) column order, and a pick per round once made."""

    media_digest: str
    contenders: list[Contender]
    blind: bool = False
    picks: list[str | None] = field(default_factory=list)  # per round: a model id, TIE, or None (not yet)
    created_at: datetime = field(default_factory=datetime.now)

    @classmethod
    def start(cls, media_digest: str, models: list[tuple[str, str]], blind: bool,
              rng: random.Random | None = None) -> Comparison:  # fmt: skip
        """``models`` as (id, title); blind mode shuffles the columns so their order tells nothing."""
        if not MIN_MODELS <= len(models) <= MAX_MODELS:
            raise ValueError(f"compare {MIN_MODELS} to {MAX_MODELS} models, not {len(models)}")
        ordered = list(models)
        if blind:
            (rng or random.Random()).shuffle(ordered)
        return cls(media_digest, [Contender(i, title, ChatHistory(media_digest)) for i, title in ordered], blind)

    @property
    def rounds(self) -> int:
        return sum(1 for turn in self.contenders[0].history.turns if turn.role.value == "user")

    def ask(self) -> None:
        """A new round starts: no pick for it yet."""
        self.picks.append(None)

    @property
    def awaiting_pick(self) -> bool:
        return self.blind and bool(self.picks) and self.picks[-1] is None

    @property
    def hidden(self) -> bool:
        """Blind, and the latest round (or the start) is not picked yet: the columns go by letter."""
        return self.blind and (self.awaiting_pick or not self.picks)

    @staticmethod
    def letter(index: int) -> str:
        return "ABC"[index]

    def pick(self, choice: str) -> None:
        """The better answer of the latest round: a contender's model id, or :data:`TIE`."""
        if not self.picks:
            raise ValueError("nothing asked yet")
        if choice != TIE and choice not in {contender.model_id for contender in self.contenders}:
            raise ValueError(f"{choice!r} is not in this comparison")
        self.picks[-1] = choice

    def tally(self) -> dict[str, int]:
        """Wins per model id (and ties), over the rounds picked."""
        counts = dict.fromkeys([contender.model_id for contender in self.contenders], 0) | {TIE: 0}
        for choice in self.picks:
            if choice is not None:
                counts[choice] += 1
        return counts

    def tally_json(self) -> dict[str, Any]:
        titles = {contender.model_id: contender.title for contender in self.contenders}
        return {
            "blind": self.blind,
            "rounds": self.rounds,
            "picked": sum(choice is not None for choice in self.picks),
            "wins": [
                {"model": model, "title": titles.get(model, model), "wins": wins}
                for model, wins in self.tally().items()
                if model != TIE
            ],  # fmt: skip
            "ties": self.tally()[TIE],
            "picks": [titles.get(choice, choice) if choice else None for choice in self.picks],
        }
