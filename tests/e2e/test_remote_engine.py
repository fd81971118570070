"""The dashboard on an OpenAI-compatible server (ENGINE=openai), in a real browser: two people at once."""

from __future__ import annotations

import pytest

from tests.conftest import image_bytes
from tests.e2e.browser import ANSWERS, ask, go_to, upload, wait_idle

pytestmark = pytest.mark.e2e


def test_two_sessions_stream_at_once_through_the_server(browser, remote_server_url, remote_model_server, tmp_path):
    remote_model_server.reset()
    remote_model_server.script.api_key = "e2e-key"
    remote_model_server.script.seconds_per_event = 0.05  # long answers, so the two overlap on the server
    pages = []
    for number, colour in enumerate(("teal", "orange")):
        context = browser.new_context(viewport={"width": 1300, "height": 900})
        page = context.new_page()
        page.set_default_timeout(90_000)
        picture = tmp_path / f"{colour}.png"
        picture.write_bytes(image_bytes((320 + number, 240), colour))
        upload(page, remote_server_url, picture, f"{320 + number}×240 px")
        page.get_by_text("(server)").first.wait_for()  # the status line names the served model
        go_to(page, "Chat", "Chat")
        pages.append(page)
    for page in pages:  # both questions go out before either answer is done
        ask(page, "What is in the picture?")
    for page in pages:
        page.locator(ANSWERS).nth(1).get_by_text("tokens").wait_for()
        wait_idle(page)
        assert page.locator('[data-testid="stException"]').count() == 0
        assert page.locator('[data-testid="stAlertContentError"]').count() == 0
    log = remote_model_server.log
    assert log.requests == 2 and log.most_in_flight == 2  # the server had both at the same time
    assert all(body["model"] == "served/tiny-smolvlm" for body in log.bodies)
    for page in pages:
        page.context.close()
