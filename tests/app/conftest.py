"""AppTest fixtures: each test gets a fresh process-wide serving core, the tiny model as the default."""

from __future__ import annotations

from dataclasses import replace

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT


@pytest.fixture
def app_env(monkeypatch, tmp_path, tiny_smolvlm):
    # Run from an empty directory so a developer's own .env cannot leak into the tests.
    monkeypatch.chdir(tmp_path)
    for name in ("MODEL_PATH", "SMOLVLM2_MODEL_ID", "MODEL_NAME", "MODEL_DEVICE", "MODEL_DTYPE", "HF_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MODEL_ID", str(tiny_smolvlm))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))  # the history's database and files
    # no background work of its own in the page tests; tests/app/test_prepare.py turns it on
    monkeypatch.setenv("PREPARE_IMAGES", "no")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("UI_LANG", "en")
    monkeypatch.setenv("MODEL_QUANT", "none")  # auto would depend on the CPU; int8 has its own tests
    # random weights never stop on their own: 512 tokens of noise per answer (and in every later prompt)
    # cost seconds per question and test nothing more than 48 do
    monkeypatch.setenv("MAX_NEW_TOKENS", "48")
    st.cache_resource.clear()
    yield monkeypatch
    st.cache_resource.clear()


def open_page(path: str) -> AppTest:
    return AppTest.from_file(str(ROOT / path), default_timeout=120)


def upload_and_open(upload: tuple[str, bytes, str], page: str | None = None, lang: str = "en") -> AppTest:
    """Open Home, upload ``(name, data, mime)`` as a person would, then switch to ``page`` if given."""
    at = open_page("Home.py").run()
    if lang != "en":
        at.session_state["app_lang"] = lang
    at.file_uploader[0].set_value(upload).run()
    assert not at.exception and not at.error
    if page is not None:
        at.switch_page(page).run()
        assert not at.exception
    return at


# How many tokens the real model writes behind a canned answer.
CANNED_RUN_TOKENS = 24


class CannedText:
    """A stream that runs the real engine (processor, input size, stats) and then says ``text`` instead.

    The model's own words are noise on a random-weight model; replacing them at the text boundary lets
    a page test walk its parser and rendering paths on an answer chosen by the test.
    """

    def __init__(self, real, text: str, request) -> None:
        self._real, self._text, self.request = real, text, request
        self.stats = real.stats
        self.input_size = real.input_size
        self.text_layout = real.text_layout

    def run(self, emit) -> None:
        self._real.run(lambda piece: None)  # the real generation runs to its end, its words dropped
        emit(self._text)

    def __iter__(self):
        for _ in self._real:  # the real generation runs to its end
            pass
        yield self._text

    def close(self) -> None:
        self._real.close()


def can_answers(monkeypatch, model_id: str, answer) -> list:
    """Make the session's engine for ``model_id`` answer ``answer(request, input_size)``; returns its streams.

    ``input_size`` is the (width, height) the real processor gave the model, for answers in its pixels.
    """
    from ui.serving import serving

    engine = serving().pool.engine(model_id)
    real_stream = engine.stream
    seen: list = []

    def stream(request, stop=None, prefix_cache=None):
        # the model's own words are dropped, so a short run of them walks the same engine path as a long one
        budget = replace(request.sampling, max_new_tokens=min(request.sampling.max_new_tokens, CANNED_RUN_TOKENS))
        real = real_stream(replace(request, sampling=budget), stop, prefix_cache=prefix_cache)
        canned = CannedText(real, answer(request, real.input_size), request)
        seen.append(canned)
        return canned

    monkeypatch.setattr(engine, "stream", stream)
    return seen
