"""Faults inside a real generate: out of memory, a model that raises, an overlong conversation.

Each fault is raised by a forward pre-hook on the tiny model's decoder, so it comes from inside
``model.generate`` on the worker thread, exactly where a real allocator would raise it. After each,
the same session's next question must be answered by the same loaded model.
"""

from __future__ import annotations

import io
import json
import logging

import pytest
import torch

from core.engines.types import GenerationFailed, OutOfMemory, PromptTooLong
from core.logs import REQUEST_LOGGER, anonymous, configure_logging
from core.serving import LoadState
from core.settings import Secret
from tests.serving.conftest import ask, cpu_settings


class FailOnce:
    """Raise ``error`` from the first decoder layer the next time it runs, then behave."""

    def __init__(self, model: torch.nn.Module, error: BaseException) -> None:
        self.error, self.raised = error, 0
        layer = model.model.text_model.layers[0]
        self._handle = layer.register_forward_pre_hook(self._hook)

    def _hook(self, module: object, args: object) -> None:
        if not self.raised:
            self.raised += 1
            raise self.error

    def remove(self) -> None:
        self._handle.remove()


@pytest.fixture
def logs():
    """Our loggers as JSON lines in a buffer; the handler is put back to stderr afterwards."""
    buffer = io.StringIO()
    configure_logging("info", "json", stream=buffer)
    yield buffer
    configure_logging()


def _lines(buffer: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.startswith("{")]


def _core_with_loaded(make_core, tiny_smolvlm, tmp_path, **settings):
    core = make_core(settings=cpu_settings(tmp_path, model_id=str(tiny_smolvlm), **settings))
    client = core.client(str(tiny_smolvlm), "alice")
    assert client.load()
    return core, client, core.pool.engine(str(tiny_smolvlm))._model


@pytest.mark.parametrize("error", [torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB"),
                                   MemoryError()], ids=["torch", "python"])  # fmt: skip
def test_out_of_memory_is_a_message_and_the_next_question_works(make_core, tiny_smolvlm, tmp_path, error, logs):
    core, client, model = _core_with_loaded(make_core, tiny_smolvlm, tmp_path)
    assert client.generate(ask(max_new_tokens=2)).error is None
    core.prefixes.put("alice", client.model_id, _entry())  # memory of alice's that the failure should free
    fault = FailOnce(model, error)
    failed = client.generate(ask(max_new_tokens=4))
    fault.remove()
    assert fault.raised == 1
    assert isinstance(failed.error, OutOfMemory) and failed.error.key == "engine.out_of_memory"
    assert core.prefixes.get("alice", client.model_id) is None  # the session's caches were dropped
    assert core.status(client.model_id).state is LoadState.READY  # still loaded...
    assert core.pool._slot(client.model_id).users == 0  # ...and free for the next request
    after = client.generate(ask(max_new_tokens=3))
    assert after.error is None and after.stats.new_tokens >= 1
    outcomes = [line["outcome"] for line in _lines(logs) if line["logger"] == REQUEST_LOGGER]
    assert outcomes == ["done", "failed", "done"]


def _entry():
    from core.engines.prefix import PrefixEntry

    return PrefixEntry(torch.zeros(3, dtype=torch.long), "digest", None, 10)


def test_a_model_that_raises_gives_its_own_message_and_an_error_id_in_the_log(make_core, tiny_smolvlm, tmp_path, logs):
    core, client, model = _core_with_loaded(make_core, tiny_smolvlm, tmp_path)
    fault = FailOnce(model, RuntimeError("the kernel said no"))
    failed = client.generate(ask(max_new_tokens=4))
    fault.remove()
    assert isinstance(failed.error, GenerationFailed)
    assert "RuntimeError: the kernel said no" in str(failed.error)  # the engine's own words
    error_id = failed.error.params["error_id"]
    logged = [line for line in _lines(logs) if line.get("error_id") == error_id or error_id in line["message"]]
    assert any("the kernel said no" in line.get("traceback", "") for line in logged)  # the traceback, findable
    assert any(line["logger"] == REQUEST_LOGGER and line["outcome"] == "failed" for line in logged)
    assert client.generate(ask(max_new_tokens=2)).error is None


def test_a_conversation_longer_than_the_context_is_refused_with_the_limit(make_core, tiny_smolvlm, tmp_path):
    core, client, model = _core_with_loaded(make_core, tiny_smolvlm, tmp_path)
    limit = model.config.text_config.max_position_embeddings
    model.config.text_config.max_position_embeddings = 10  # fewer positions than the image alone takes
    try:
        refused = client.generate(ask(max_new_tokens=4))
    finally:
        model.config.text_config.max_position_embeddings = limit
    assert isinstance(refused.error, PromptTooLong)
    assert refused.error.params["limit"] == 10 and refused.error.params["tokens"] > 10
    assert client.generate(ask(max_new_tokens=2)).error is None


def test_request_lines_carry_numbers_and_names_never_user_text(make_core, tiny_smolvlm, tmp_path, logs):
    secret_question = "Is Ivan Petrov's passport 4509 123456 visible?"
    token = "hf_SECRETsecretSECRETsecret"
    core = make_core(
        settings=cpu_settings(tmp_path, model_id=str(tiny_smolvlm), hf_token=Secret(token), model_quant="none")
    )
    client = core.client(str(tiny_smolvlm), "session-uuid-1234")
    outcome = client.generate(ask(secret_question, max_new_tokens=3))
    assert outcome.error is None
    requests = [line for line in _lines(logs) if line["logger"] == REQUEST_LOGGER]
    assert len(requests) == 1
    line = requests[0]
    assert line["session"] == anonymous("session-uuid-1234") != "session-uuid-1234"
    assert line["task"] == "chat" and line["model"] == str(tiny_smolvlm) and line["quantization"] == "none"
    assert line["outcome"] == "done" and line["prompt_tokens"] > 0 and line["new_tokens"] == 3
    assert line["vision_inputs"] >= 1 and line["first_token_s"] > 0
    everything = logs.getvalue()
    for private in ("Ivan", "Petrov", "4509", "passport", token, "session-uuid-1234"):
        assert private not in everything


def test_a_refused_request_is_logged_as_rejected(make_core, tiny_smolvlm, tmp_path, logs):
    from core.engines.types import ServerBusy
    from tests.serving.conftest import Gate

    core, client, model = _core_with_loaded(make_core, tiny_smolvlm, tmp_path, max_queue=1)
    gate = Gate(core.pool.engine(client.model_id))
    running = client.submit(ask())
    assert gate.entered.wait(10)
    waiting = core.client(client.model_id, "bob").submit(ask())
    with pytest.raises(ServerBusy):
        core.client(client.model_id, "carol").submit(ask())
    gate.release()
    running.wait(30)
    waiting.wait(30)
    outcomes = sorted(line["outcome"] for line in _lines(logs) if line["logger"] == REQUEST_LOGGER)
    assert outcomes == ["done", "done", "rejected"]


def test_text_format_is_one_line_with_fields():
    buffer = io.StringIO()
    configure_logging("info", "text", stream=buffer)
    try:
        logging.getLogger(REQUEST_LOGGER).info("request", extra={"fields": {"task": "ocr", "first_token_s": 1.23456}})
        logging.getLogger("core.test").debug("hidden at info")
    finally:
        configure_logging()
    (line,) = buffer.getvalue().splitlines()
    assert line.endswith("request task=ocr first_token_s=1.235")
