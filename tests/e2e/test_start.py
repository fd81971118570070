"""The server as scripts/serve.sh starts it (``python -m ui.launch``): the default model is loading before
anyone opens the page, so the first person does not wait for it."""

from __future__ import annotations

import time

import pytest

from tests.e2e.browser import wait_idle
from tests.e2e.conftest import ARTIFACTS, start_server, stop_server

pytestmark = pytest.mark.e2e


def test_the_default_model_is_loaded_before_the_first_visit(browser, tiny_smolvlm, tiny_models, tmp_path):
    server = start_server(tiny_smolvlm, tiny_models, tmp_path, module="ui.launch", log_name="launch.log")
    try:
        deadline = time.monotonic() + 60
        while "loaded " not in server.log.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        log = server.log.read_text()
        assert f"loaded {tiny_smolvlm}" in log, log  # no browser has connected yet
        context = browser.new_context(viewport={"width": 1300, "height": 900})
        tab = context.new_page()
        tab.set_default_timeout(60_000)
        tab.goto(server.url)
        wait_idle(tab)
        sidebar = tab.locator('[data-testid="stSidebar"]').inner_text()
        assert "loaded" in sidebar and "loading" not in sidebar
        tab.screenshot(path=str(ARTIFACTS / "launch-preloaded.png"), full_page=True)
        context.close()
    finally:
        stop_server(server, "-launch")


def test_preload_off_leaves_the_model_for_the_first_request(browser, tiny_smolvlm, tiny_models, tmp_path):
    server = start_server(tiny_smolvlm, tiny_models, tmp_path, module="ui.launch", log_name="launch-off.log",
                          extra_env={"PRELOAD_MODEL": "no"})  # fmt: skip
    try:
        time.sleep(3)
        assert "loaded " not in server.log.read_text()
    finally:
        stop_server(server, "-launch-off")
