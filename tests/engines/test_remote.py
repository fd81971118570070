"""The OpenAI-compatible engine against a real HTTP server on loopback (tests/openai_server.py).

The server runs the tiny local models, so an answer through the remote engine can be compared with
the same request run locally: greedy decoding gives the same words.
"""

from __future__ import annotations

import json
import threading
import time

import pytest
from PIL import Image

from core.engines.remote import (
    OpenAICompatEngine,
    RemoteDropped,
    RemoteModelMissing,
    RemoteUnauthorized,
    RemoteUnreachable,
)
from core.engines.tiling import plan_tiles
from core.engines.types import ChatMessage, GenerationRequest, Role, SamplingParams
from core.families.qwen2_5_vl import qwen_input_size
from core.registry import create_engine
from core.serving import ServingCore
from core.settings import Secret, Settings
from core.tasks.detect import detect
from tests.openai_server import OpenAITestServer


@pytest.fixture(scope="module")
def local_engines(tiny_models, tmp_path_factory):
    engines = {}
    for family in ("smolvlm", "qwen2_5_vl"):
        path = str(tiny_models[family])
        settings = Settings(allow_download=False, hf_home=tmp_path_factory.mktemp("hf"), device="cpu",
                            model_quant="none")  # fmt: skip
        engines[family] = create_engine(path, settings)
        engines[family].load()
    yield engines
    for engine in engines.values():
        engine.unload()


@pytest.fixture(scope="module")
def served(local_engines, tiny_models):
    names = {str(tiny_models[family]): engine for family, engine in local_engines.items()}
    with OpenAITestServer(names) as server:
        yield server


@pytest.fixture
def server(served):
    served.reset()
    return served


def remote_settings(server, tiny_models, tmp_path, **overrides) -> Settings:
    models = tuple(str(tiny_models[family]) for family in ("smolvlm", "qwen2_5_vl"))
    values = {"engine": "openai", "openai_base_url": server.url, "openai_models": models, "allow_download": False,
              "hf_home": tmp_path / "hf", "device": "cpu", "model_quant": "none", **overrides}  # fmt: skip
    return Settings(**values)  # type: ignore[arg-type]


def _remote(server, tiny_models, tmp_path, family="smolvlm", **overrides) -> OpenAICompatEngine:
    engine = create_engine(str(tiny_models[family]), remote_settings(server, tiny_models, tmp_path, **overrides))
    assert isinstance(engine, OpenAICompatEngine)
    return engine


def _ask(text="What is in the picture?", size=(300, 200), max_new_tokens=12, max_tiles=1) -> GenerationRequest:
    image = Image.new("RGB", size, "orange")
    return GenerationRequest((ChatMessage(Role.USER, text, (image,)),), SamplingParams(max_new_tokens), max_tiles)


def test_streamed_answer_equals_the_local_models(server, tiny_models, tmp_path, local_engines):
    engine = _remote(server, tiny_models, tmp_path)
    engine.load()
    assert engine.loaded and engine.runtime.device == "remote" and engine.estimated_bytes() == 0
    request = _ask(size=(64, 48))  # small enough that no resize happens on either path
    stream = engine.stream(request)
    pieces = list(stream)
    assert len(pieces) > 1  # it streamed
    local = local_engines["smolvlm"].stream(request)
    assert "".join(pieces) == "".join(local)
    assert stream.stats.new_tokens == len(pieces) and stream.stats.prompt_tokens == local.stats.prompt_tokens
    assert stream.stats.seconds_to_first_token is not None
    sent = server.log.bodies[-1]
    assert sent["stream"] is True and sent["max_tokens"] == 12 and sent["temperature"] == 0.0


def test_stop_closes_the_stream_and_the_server_sees_it(server, tiny_models, tmp_path):
    server.script.seconds_per_event = 0.05
    engine = _remote(server, tiny_models, tmp_path)
    engine.load()
    stop = threading.Event()
    stream = engine.stream(_ask(max_new_tokens=400), stop)
    received = []
    for piece in stream:
        received.append(piece)
        if len(received) == 3:
            stop.set()
            break
    stream.close()
    assert stream.stats.stopped and len(received) == 3
    deadline = time.monotonic() + 10
    while (server.log.disconnected, server.log.in_flight) != (1, 0) and time.monotonic() < deadline:
        time.sleep(0.05)  # the server counts the disconnect, then leaves its handler
    assert server.log.disconnected == 1 and server.log.in_flight == 0  # the server stopped generating


def test_busy_then_success_is_retried(server, tiny_models, tmp_path):
    server.script.statuses = [429, 503]
    engine = _remote(server, tiny_models, tmp_path)
    engine.load()
    stream = engine.stream(_ask(max_new_tokens=4))
    assert list(stream)
    assert server.log.requests == 3  # two refusals, then the answer


def test_wrong_key_is_refused_with_a_clear_error(server, tiny_models, tmp_path):
    server.script.api_key = "right-key"
    with pytest.raises(RemoteUnauthorized) as caught:
        _remote(server, tiny_models, tmp_path, openai_api_key=Secret("wrong-key")).load()
    assert caught.value.key == "remote.unauthorized" and caught.value.params["server"] == server.url
    good = _remote(server, tiny_models, tmp_path, openai_api_key=Secret("right-key"))
    good.load()
    assert list(good.stream(_ask(max_new_tokens=3)))


def test_a_model_the_server_does_not_serve(server, tiny_models, tmp_path):
    settings = remote_settings(
        server, tiny_models, tmp_path, openai_models=("HuggingFaceTB/SmolVLM2-256M-Video-Instruct",)
    )
    engine = create_engine("HuggingFaceTB/SmolVLM2-256M-Video-Instruct", settings)
    with pytest.raises(RemoteModelMissing) as caught:
        engine.load()
    assert str(tiny_models["smolvlm"]) in caught.value.params["served"]


def test_no_server_at_all(tiny_models, tmp_path):
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = Settings(engine="openai", openai_base_url=f"http://127.0.0.1:{port}/v1",
                        openai_models=(str(tiny_models["smolvlm"]),), hf_home=tmp_path)  # fmt: skip
    with pytest.raises(RemoteUnreachable):
        create_engine(str(tiny_models["smolvlm"]), settings).load()


def test_a_dropped_connection_keeps_the_text_so_far(server, tiny_models, tmp_path):
    server.script.answer = "one two three four five six seven"
    server.script.drop_after_events = 3
    core = ServingCore(remote_settings(server, tiny_models, tmp_path))
    try:
        outcome = core.client(str(tiny_models["smolvlm"]), "alice").generate(_ask(max_new_tokens=50))
    finally:
        core.close()
    assert isinstance(outcome.error, RemoteDropped)
    assert outcome.text == "one two three " and outcome.stats.new_tokens == 3


@pytest.mark.parametrize(("size", "max_tiles"), [((2000, 1000), 1), ((2000, 1000), 4), ((300, 200), 16)])
def test_images_go_as_data_urls_within_the_tile_budget(server, tiny_models, tmp_path, size, max_tiles):
    engine = _remote(server, tiny_models, tmp_path)
    engine.load()
    list(engine.stream(_ask(size=size, max_tiles=max_tiles, max_new_tokens=2)))
    (received,) = server.log.images
    part = server.log.bodies[-1]["messages"][0]["content"][0]
    assert part["type"] == "image_url" and part["image_url"]["url"].startswith("data:image/png;base64,")
    longest = plan_tiles(*size, 512, max_tiles, 2048).longest_edge  # SmolVLM's budget with 512 px tiles
    assert max(received) == min(max(size), longest)
    assert abs(received[0] / received[1] - size[0] / size[1]) < 0.02  # aspect kept


def test_detection_through_the_server_parses_boxes_like_a_local_run(server, tiny_models, tmp_path):
    """Qwen answers in pixels of its resized input; the remote engine sends exactly that size."""
    size = (1000, 500)
    width, height = qwen_input_size(*size)
    server.script.answer = f'[{{"bbox_2d": [0, 0, {width // 2}, {height // 2}], "label": "cat"}}]'
    core = ServingCore(remote_settings(server, tiny_models, tmp_path))
    try:
        client = core.client(str(tiny_models["qwen2_5_vl"]), "alice")
        run = detect(client, Image.new("RGB", size, "gray"), ["cat"])
    finally:
        core.close()
    assert run.error is None
    assert server.log.images == [(width, height)]
    assert server.log.bodies[-1]["skip_special_tokens"] is False
    (found,) = run.detections
    assert found.label == "cat" and found.box.as_tuple() == (0, 0, 500, 250)


def test_requests_run_side_by_side_up_to_remote_parallel(server, tiny_models, tmp_path):
    # Every answer takes 20 events x 0.05 s, whatever the random model would say: the overlap is certain.
    server.script.answer = " ".join(["word"] * 20)
    server.script.seconds_per_event = 0.05
    core = ServingCore(remote_settings(server, tiny_models, tmp_path, remote_parallel=2))
    try:
        clients = [core.client(str(tiny_models["smolvlm"]), owner) for owner in ("a", "b", "c")]
        jobs = [client.submit(_ask(max_new_tokens=10)) for client in clients]
        for job in jobs:
            assert job.wait(60)
        outcomes = [job.outcome() for job in jobs]
        assert set(core.pool.resident().values()) == {0}  # a served model holds no memory here
    finally:
        core.close()
    assert all(outcome.error is None and outcome.text for outcome in outcomes)
    assert server.log.most_in_flight == 2  # two at once, the third waited in line


def test_video_frames_go_as_images_after_their_timestamps(server, tiny_models, tmp_path):
    from core.engines.types import VideoClip

    frames = tuple(Image.new("RGB", (640, 360), colour) for colour in ("red", "green", "blue"))
    clip = VideoClip(frames, (0.0, 1.0, 62.5), 63.0)
    engine = _remote(server, tiny_models, tmp_path)
    engine.load()
    request = GenerationRequest((ChatMessage(Role.USER, "What happens?", videos=(clip,)),), SamplingParams(3))
    stream = engine.stream(request)
    list(stream)
    parts = server.log.bodies[-1]["messages"][0]["content"]
    kinds = [part["type"] for part in parts]
    assert kinds == ["text", "image_url"] * 3 + ["text"]
    assert [part["text"] for part in parts[0:6:2]] == ["Frame at 0:00:", "Frame at 0:01:", "Frame at 1:02:"]
    assert parts[-1]["text"] == "What happens?"
    assert len(server.log.images) == 3 and all(max(size) <= 512 for size in server.log.images)  # one tile each
    assert stream.stats.image_tiles == 3


def test_a_thinking_model_is_asked_for_the_answer_and_a_page_reader_gets_the_picture_alone(tiny_models, tmp_path):
    """What goes on the wire, built without a server: Qwen3.5's template switch travels as vLLM's
    ``chat_template_kwargs``; LightOnOCR-2's request holds the picture and no empty text part."""
    models = (str(tiny_models["qwen3_5"]), str(tiny_models["lighton_ocr"]), str(tiny_models["smolvlm"]))
    settings = Settings(engine="openai", openai_base_url="http://127.0.0.1:9", openai_models=models,
                        allow_download=False, hf_home=tmp_path / "hf", device="cpu")  # fmt: skip
    qwen, reader, smol = (create_engine(model_id, settings) for model_id in models)
    body, _ = qwen.body(_ask())
    assert body["chat_template_kwargs"] == {"enable_thinking": False}
    body, _ = reader.body(_ask(text=""))
    [part] = body["messages"][0]["content"]
    assert part["type"] == "image_url"
    body, _ = smol.body(_ask())
    assert "chat_template_kwargs" not in body and body["messages"][0]["content"][-1]["type"] == "text"


def test_a_schema_travels_as_the_servers_structured_output(tiny_models, tmp_path):
    models = (str(tiny_models["smolvlm"]),)
    settings = Settings(engine="openai", openai_base_url="http://127.0.0.1:9", openai_models=models,
                        allow_download=False, hf_home=tmp_path / "hf", device="cpu")  # fmt: skip
    engine = create_engine(models[0], settings)
    schema = {"type": "object", "properties": {"total": {"type": ["string", "null"]}}, "required": ["total"]}
    request = GenerationRequest(_ask().messages, SamplingParams(8), 1, json_schema=json.dumps(schema))
    body, _ = engine.body(request)
    assert body["response_format"] == {"type": "json_schema",
                                       "json_schema": {"name": "answer", "schema": schema, "strict": True}}  # fmt: skip
    assert "response_format" not in engine.body(_ask())[0]
