"""Stop reaches a generation inside a forward pass, not only between tokens."""

from __future__ import annotations

import threading
import time

from PIL import Image

from core.engines.streaming import install_stop_hooks
from core.engines.types import ChatMessage, GenerationRequest, Role, SamplingParams
from core.registry import create_engine
from core.settings import Settings


def test_stop_hooks_cover_the_vision_and_the_text_layers(tiny_smolvlm):
    from transformers import AutoModelForImageTextToText

    model = AutoModelForImageTextToText.from_pretrained(tiny_smolvlm)
    vision = len(model.model.vision_model.encoder.layers)
    text = len(model.model.text_model.layers)
    assert install_stop_hooks(model) == vision + text


def test_a_stop_during_a_slow_prefill_ends_it_without_a_token(tiny_smolvlm, tmp_path):
    settings = Settings(allow_download=False, hf_home=tmp_path, device="cpu")
    engine = create_engine(str(tiny_smolvlm), settings)
    engine.load()  # the adapter's own load, under test here; the app loads through the pool
    layers = engine._model.model.vision_model.encoder.layers
    handles = [layer.register_forward_pre_hook(lambda module, args: time.sleep(0.5)) for layer in layers]
    stop = threading.Event()
    request = GenerationRequest(
        (ChatMessage(Role.USER, "?", (Image.new("RGB", (64, 64)),)),), SamplingParams(max_new_tokens=20)
    )
    stream = engine.stream(request, stop)
    threading.Timer(0.2, stop.set).start()
    started = time.monotonic()
    assert list(stream) == []
    assert time.monotonic() - started < 0.9  # the first layer's 0.5 s, then the stop at the second
    assert stream.stats.stopped and stream.stats.new_tokens == 0
    for handle in handles:
        handle.remove()
    assert list(engine.stream(request))  # the engine is fine afterwards
