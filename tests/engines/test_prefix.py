"""The media prefix's KV cache: answers from it equal answers computed from scratch, and it is dropped
whenever it no longer describes the conversation."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PIL import Image

from core.engines.prefix import PrefixEntry
from core.engines.types import ChatMessage, GenerationRequest, Role, SamplingParams, VideoClip
from core.serving import ServingCore
from core.serving.prefix_cache import PrefixCacheStore
from tests.serving.conftest import cpu_settings

TOKENS = 24


def _noisy(seed: int, size: tuple[int, int] = (160, 120)) -> Image.Image:
    """A picture with detail, so the answer depends on the pixels (a flat colour says little)."""
    import numpy as np

    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    return Image.fromarray(pixels)


def _conversation(media: ChatMessage, *turns: str) -> tuple[ChatMessage, ...]:
    messages = [media]
    for answer, question in zip(turns[::2], turns[1::2], strict=True):
        messages += [ChatMessage(Role.ASSISTANT, answer), ChatMessage(Role.USER, question)]
    return tuple(messages)


def _request(messages: tuple[ChatMessage, ...], reuse: bool, tiles: int = 2) -> GenerationRequest:
    return GenerationRequest(
        messages, SamplingParams(max_new_tokens=TOKENS), tiles, keep_special_tokens=True, reuse_prefix=reuse
    )


@pytest.fixture
def serving(tmp_path: Path):
    core = ServingCore(cpu_settings(tmp_path, model_quant="none"))
    yield core
    core.close()


def _ask(serving: ServingCore, model: str, owner: str, request: GenerationRequest):
    outcome = serving.client(model, owner).generate(request)
    assert outcome.error is None
    return outcome


def _follow_ups_match_scratch(serving: ServingCore, model: str, first: ChatMessage) -> None:
    opening = _ask(serving, model, "s", _request((first,), reuse=True))
    assert opening.stats.reused_prompt_tokens == 0  # nothing to re-use yet: the prefix is computed now
    scratch_opening = _ask(serving, model, "scratch", _request((first,), reuse=False))
    assert opening.text == scratch_opening.text

    # The history's answers are plain text: a random model's own answers hold special tokens (that user
    # text must not forge them is issue 11's business, not this test's).
    history = ("A picture with some noise.", "And what else is there?")
    cached = _ask(serving, model, "s", _request(_conversation(first, *history), reuse=True))
    scratch = _ask(serving, model, "scratch", _request(_conversation(first, *history), reuse=False))
    assert cached.stats.reused_prompt_tokens > 0
    assert cached.stats.new_tokens == scratch.stats.new_tokens == TOKENS
    assert cached.text == scratch.text  # special tokens kept, so equal text means the same tokens

    third = (*history, "Nothing else.", "Describe the colours.")
    second_reused = cached.stats.reused_prompt_tokens
    cached = _ask(serving, model, "s", _request(_conversation(first, *third), reuse=True))
    scratch = _ask(serving, model, "scratch", _request(_conversation(first, *third), reuse=False))
    # the whole previous prompt is re-used, not only the media: only the new turn is computed
    assert cached.stats.reused_prompt_tokens > second_reused and cached.text == scratch.text
    assert cached.stats.prompt_tokens - cached.stats.reused_prompt_tokens < 30
    third_reused = cached.stats.reused_prompt_tokens

    # an edited (or truncated) history shares less: the cache is cut back to what is shared
    edited = ("A picture with other words in it.", "And what else is there?")
    cut = _ask(serving, model, "s", _request(_conversation(first, *edited), reuse=True))
    scratch = _ask(serving, model, "scratch", _request(_conversation(first, *edited), reuse=False))
    assert 0 < cut.stats.reused_prompt_tokens < third_reused and cut.text == scratch.text


def test_image_follow_ups_are_token_identical_to_scratch(serving, tiny_smolvlm: Path) -> None:
    first = ChatMessage(Role.USER, "What is in this picture?", (_noisy(1),))
    _follow_ups_match_scratch(serving, str(tiny_smolvlm), first)


def test_video_follow_ups_are_token_identical_to_scratch(serving, tiny_smolvlm: Path) -> None:
    clip = VideoClip(tuple(_noisy(seed, (96, 64)) for seed in (2, 3, 4)), (0.0, 1.5, 3.0), 3.5)
    first = ChatMessage(Role.USER, "What happens in this video?", videos=(clip,))
    _follow_ups_match_scratch(serving, str(tiny_smolvlm), first)


def test_a_new_image_or_tile_budget_is_not_answered_from_the_old_prefix(serving, tiny_smolvlm: Path) -> None:
    model = str(tiny_smolvlm)
    first = ChatMessage(Role.USER, "What is this?", (_noisy(5, (400, 300)),))
    _ask(serving, model, "s", _request((first,), reuse=True))

    other = ChatMessage(Role.USER, "What is this?", (_noisy(6, (400, 300)),))  # same size, same tokens
    follow = _conversation(other, "Noise.", "Sure?")
    swapped = _ask(serving, model, "s", _request(follow, reuse=True))
    scratch = _ask(serving, model, "scratch", _request(follow, reuse=False))
    assert swapped.stats.reused_prompt_tokens == 0 and swapped.text == scratch.text

    retiled = _ask(serving, model, "s", _request(follow, reuse=True, tiles=9))  # another tile budget
    assert retiled.stats.image_tiles > swapped.stats.image_tiles
    assert retiled.stats.reused_prompt_tokens == 0
    again = _ask(serving, model, "s", _request(follow, reuse=True, tiles=9))
    assert again.stats.reused_prompt_tokens > 0


def test_sessions_and_models_keep_their_own_prefixes(serving, tiny_smolvlm: Path) -> None:
    model = str(tiny_smolvlm)
    first = ChatMessage(Role.USER, "What is this?", (_noisy(7),))
    _ask(serving, model, "anna", _request((first,), reuse=True))
    other_session = _ask(serving, model, "boris", _request(_conversation(first, "x", "y"), reuse=True))
    assert other_session.stats.reused_prompt_tokens == 0  # one session never reads another's cache
    assert set(serving.prefixes.keys()) == {("anna", model), ("boris", model)}

    serving.forget("anna")  # the image was cleared, or the session ended
    assert set(serving.prefixes.keys()) == {("boris", model)}
    serving.release(model)  # unloading a model drops every prefix computed with it
    deadline = threading.Event()
    for _ in range(200):
        if not serving.prefixes.keys():
            break
        deadline.wait(0.05)
    assert serving.prefixes.keys() == [] and serving.prefixes.total_bytes == 0


def test_requests_that_do_not_ask_keep_nothing(serving, tiny_smolvlm: Path) -> None:
    first = ChatMessage(Role.USER, "Read the text.", (_noisy(8),))
    _ask(serving, str(tiny_smolvlm), "s", _request((first,), reuse=False))  # OCR, Detection: one-shot
    assert serving.prefixes.keys() == []


def test_a_prefix_stopped_half_way_is_not_kept(serving, tiny_smolvlm: Path) -> None:
    model = str(tiny_smolvlm)
    client = serving.client(model, "s")
    assert client.load()
    engine = serving.pool.engine(model)
    stop = threading.Event()
    stop.set()  # the layer hooks abort the prefix's forward pass at its first layer
    stream = engine.stream(
        _request((ChatMessage(Role.USER, "Hi", (_noisy(9),)),), reuse=True),
        stop,
        prefix_cache=serving.prefixes.slot("s", model),
    )
    assert list(stream) == [] and stream.stats.stopped
    assert serving.prefixes.keys() == []


def _entry(nbytes: int) -> PrefixEntry:
    return PrefixEntry(tokens=None, media_digest="d", cache=None, nbytes=nbytes)


def test_the_store_keeps_its_budget_dropping_the_least_recently_used() -> None:
    store = PrefixCacheStore(budget_bytes=100)
    store.put("a", "m", _entry(40))
    store.put("b", "m", _entry(40))
    assert store.get("a", "m") is not None  # a is now the most recently used
    store.put("c", "m", _entry(40))
    assert store.keys() == [("a", "m"), ("c", "m")] and store.total_bytes == 80
    store.put("a", "m", _entry(30))  # a session keeps one prefix per model: replaced, not added
    assert store.total_bytes == 70
    store.put("huge", "m", _entry(101))  # bigger than the whole budget: not kept, nothing evicted
    assert store.get("huge", "m") is None and store.total_bytes == 70


def test_a_follow_up_stopped_inside_its_prefill_leaves_a_usable_cache(serving, tiny_smolvlm: Path) -> None:
    """Stopped between two layers, the cache's first layers hold more positions than the rest; the next
    question must still match an answer computed from scratch."""
    model = str(tiny_smolvlm)
    first = ChatMessage(Role.USER, "What is in this picture?", (_noisy(10),))
    _ask(serving, model, "s", _request((first,), reuse=True))
    engine = serving.pool.engine(model)
    stop = threading.Event()
    layer = engine._model.model.text_model.layers[0]  # type: ignore[attr-defined]

    def stop_during_prefill(module, args, kwargs):
        if kwargs.get("hidden_states", args[0] if args else None).shape[1] > 1:
            stop.set()  # the stop hook of the next layer ends the pass there

    handle = layer.register_forward_pre_hook(stop_during_prefill, with_kwargs=True)
    try:
        stopped = engine.stream(
            _request(_conversation(first, "Some words.", "A long question that is never answered?"), reuse=True),
            stop,
            prefix_cache=serving.prefixes.slot("s", model),
        )
        assert list(stopped) == [] and stopped.stats.stopped and stopped.stats.reused_prompt_tokens > 0
    finally:
        handle.remove()
    follow = _conversation(first, "Other words.", "Then what?")
    cached = _ask(serving, model, "s", _request(follow, reuse=True))
    scratch = _ask(serving, model, "scratch", _request(follow, reuse=False))
    assert cached.stats.reused_prompt_tokens > 0 and cached.text == scratch.text


def test_a_history_holding_the_models_own_answers_still_matches_scratch(serving, tiny_smolvlm: Path) -> None:
    """The cache also holds the answer; the next prompt repeats it as text, which may tokenize back
    differently: either way only what is really shared is re-used."""
    model = str(tiny_smolvlm)
    first = ChatMessage(Role.USER, "What is in this picture?", (_noisy(11),))
    plain = GenerationRequest((first,), SamplingParams(max_new_tokens=TOKENS), 2, reuse_prefix=True)
    answer = _ask(serving, model, "s", plain).text  # special tokens dropped, as the Chat page keeps it
    follow = _conversation(first, answer, "Why?")
    cached = _ask(serving, model, "s", _request(follow, reuse=True))
    scratch = _ask(serving, model, "scratch", _request(follow, reuse=False))
    assert cached.stats.reused_prompt_tokens > 0 and cached.text == scratch.text
