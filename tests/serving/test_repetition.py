"""The repetition guard on its own: loops found at the end of a text, legitimate repetition left alone."""

from __future__ import annotations

import time

import pytest
from PIL import Image

from core.engines.types import ChatMessage, GenerationRequest, Role, SamplingParams
from core.serving import ServingCore
from core.serving.repetition import MIN_SPAN, LoopGuard, find_loop
from core.settings import Settings

LINE = "| Бумага А4 | 3 | 28,70 |\n"


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("Итого: " + "ha" * 200, "Итого: ha"),  # a two-character loop
        # the same table row again and again: the loop starts at the header's line break (the block is a row
        # with its break in front), so one copy of the row is kept
        ("Счёт № 42\n" + LINE * 30, "Счёт № 42\n" + LINE[:-1]),
        ("x" * 10 + "the same sentence again. " * 20, "x" * 10 + "the same sentence again. "),
    ],
)
def test_a_loop_is_found_and_the_text_kept_up_to_it(text, kept):
    loop = find_loop(text)
    assert loop is not None and loop.kept(text) == kept


@pytest.mark.parametrize(
    "text",
    [
        "|---|---|---|---|---|---|---|---|---|---|\n| a | b |",  # a wide table's rule
        "Р/с 40702810000000000000 БИК 044525225",  # zeros in an account number
        "Chapter 1 " + "." * 60 + " 5",  # a dotted leader
        " ".join(f"line {number}" for number in range(200)),  # long but never the same
        "ha" * 100,  # repeated, but shorter than the span that counts as a loop
    ],
)
def test_legitimate_repetition_is_not_a_loop(text):
    assert find_loop(text) is None


def test_the_guard_fires_within_a_bounded_number_of_characters():
    guard = LoopGuard()
    fed = 0
    for piece in ["Answer: "] + ["again and again "] * 100:
        fed += len(piece)
        if guard.feed(piece):
            break
    assert guard.loop is not None and fed <= MIN_SPAN + 8 + len("Answer: ") + 16


class LoopingText:
    """A stream that runs the real engine, then writes ``piece`` over and over, slowly, until stopped: a model
    fallen into a loop, at the text boundary."""

    def __init__(self, real, piece: str, stop, times: int = 400, delay_s: float = 0.002) -> None:
        self._real, self._piece, self._stop, self._times, self._delay = real, piece, stop, times, delay_s
        self.stats, self.input_size, self.text_layout = real.stats, real.input_size, real.text_layout
        self.emitted = 0

    def run(self, emit) -> None:
        self._real.run(lambda piece: None)  # the real generation runs; its words are replaced
        for _ in range(self._times):
            if self._stop is not None and self._stop.is_set():
                self.stats.stopped = True
                return
            time.sleep(self._delay)
            self.emitted += 1
            emit(self._piece)

    def close(self) -> None:
        self._real.close()


@pytest.mark.parametrize("guarded", [True, False])
def test_a_looping_answer_is_stopped_within_a_bounded_number_of_pieces(tmp_path, tiny_smolvlm, monkeypatch, guarded):
    serving = ServingCore(Settings(allow_download=False, hf_home=tmp_path / "hf", device="cpu", model_quant="none"))
    streams: list[LoopingText] = []
    try:
        client = serving.client(str(tiny_smolvlm), "test")
        engine = serving.pool.engine(str(tiny_smolvlm))
        real_stream = engine.stream

        def stream(request, stop=None, prefix_cache=None):
            streams.append(LoopingText(real_stream(request, stop, prefix_cache=prefix_cache), "the same line\n", stop))
            return streams[-1]

        monkeypatch.setattr(engine, "stream", stream)
        request = GenerationRequest((ChatMessage(Role.USER, "Read it", (Image.new("RGB", (64, 64), "white"),)),),
                                    SamplingParams(max_new_tokens=4), repetition_guard=guarded)  # fmt: skip
        outcome = client.generate(request)
    finally:
        serving.close()
    if guarded:
        assert outcome.looped and outcome.stopped and outcome.text == "the same line\n"  # kept up to the loop
        assert streams[0].emitted <= (MIN_SPAN + 8) // len("the same line\n") + 2  # bounded, whatever the limit
    else:
        assert not outcome.looped and streams[0].emitted == 400  # without the guard it runs to its end
