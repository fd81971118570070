from __future__ import annotations

import pytest

from tests.app.conftest import open_page
from tests.conftest import image_bytes


@pytest.mark.parametrize("page", ["pages/1_Chat.py", "pages/2_OCR.py", "pages/6_Extract.py"])
def test_reruns_of_a_page_with_a_photo_encode_nothing(app_env, monkeypatch, page):
    """Streamlit's own encoder (the one that ran on every rerun) is never asked for a picture."""
    from streamlit.elements.lib import image_utils

    at = open_page("Home.py").run()
    at.file_uploader[0].set_value(("cat.jpg", image_bytes((1600, 1200), "orange", "JPEG"), "image/jpeg")).run()
    at.switch_page(page).run()
    assert not at.exception
    encoded_by_streamlit = []
    monkeypatch.setattr(image_utils, "_pil_to_bytes", lambda *args, **kwargs: encoded_by_streamlit.append(1))
    at.run()
    at.switch_page("Home.py").run()
    assert not at.exception
    assert encoded_by_streamlit == []
