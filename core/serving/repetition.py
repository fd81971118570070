"""The repetition guard: an answer that has fallen into a loop is stopped, and its text kept up to the loop.

Small models (and OCR specialists on dense pages) sometimes write the same line, cell or phrase over and over
until the token limit. The guard watches the text as it streams, whatever produced it (a local model, a
server): when the end of the text is one block of up to :data:`MAX_PERIOD` characters repeated over at least
:data:`MIN_SPAN` characters and :data:`MIN_REPEATS` times, the answer is looping. Legitimate repetition stays
below that: a table rule, an account number's zeros, a dotted leader.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_PERIOD = 200  # characters in the repeated block: a line of a table, a sentence
MIN_SPAN = 240  # characters the repetition must cover
MIN_REPEATS = 4  # copies of the block at least
_TAIL = MIN_REPEATS * MAX_PERIOD  # how much of the end is looked at


@dataclass(frozen=True)
class Loop:
    start: int  # where the repetition begins in the text
    period: int  # the repeated block's length

    def kept(self, text: str) -> str:
        """The text up to the loop, with one copy of the repeated block."""
        return text[: self.start + self.period]


def find_loop(text: str) -> Loop | None:
    """The loop at the end of ``text``, if its end is one block repeated past the thresholds."""
    tail = text[-_TAIL:]
    offset = len(text) - len(tail)
    for period in range(1, MAX_PERIOD + 1):
        span = max(MIN_SPAN, MIN_REPEATS * period)
        if span > len(tail):
            break
        segment = tail[-span:]
        if segment[period:] == segment[:-period]:  # the last ``span`` characters have this period
            start = offset + len(tail) - span
            while start > 0 and text[start - 1] == text[start - 1 + period]:
                start -= 1  # walk back to where the repetition begins (before the tail looked at, too)
            return Loop(start, period)
    return None


class LoopGuard:
    """Fed the pieces of an answer; says when the answer is looping. Checks are cheap (string comparisons on
    the last few hundred characters) and run only when enough new text has come."""

    def __init__(self) -> None:
        self._text = ""
        self._checked_at = 0
        self.loop: Loop | None = None

    def feed(self, piece: str) -> bool:
        self._text += piece  # grown in place: the whole answer is not joined again at every check
        if self.loop is None and len(self._text) >= MIN_SPAN and len(self._text) - self._checked_at >= 8:
            self._checked_at = len(self._text)
            self.loop = find_loop(self._text)
        return self.loop is not None
