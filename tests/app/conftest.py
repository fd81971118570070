"""AppTest fixtures: each test gets a fresh process-wide serving core, the tiny model as the default."""

from __future__ import annotations

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
    monkeypatch.setenv("UI_LANG", "en")
    monkeypatch.setenv("MODEL_QUANT", "none")  # auto would depend on the CPU; int8 has its own tests
    st.cache_resource.clear()
    yield monkeypatch
    st.cache_resource.clear()


def open_page(path: str) -> AppTest:
    return AppTest.from_file(str(ROOT / path), default_timeout=120)


def upload_and_open(upload: tuple[str, bytes, str], page: str | None = None, lang: str = "en") -> AppTest:
    """Open Home, upload ``(name, data, mime)`` as a person would, then switch to ``page`` if given."""
    at = open_page("Home.py").run()
    if lang != "en":
        at.session_state["lang"] = lang
    at.file_uploader[0].set_value(upload).run()
    assert not at.exception and not at.error
    if page is not None:
        at.switch_page(page).run()
        assert not at.exception
    return at
