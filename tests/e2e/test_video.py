"""Video in a real browser: upload an mp4, see the frame strip, ask twice on Chat."""

from __future__ import annotations

import pytest

from tests.e2e.browser import ANSWERS, ask, go_to, upload, wait_idle
from tests.video_clips import write_clip

pytestmark = pytest.mark.e2e


def test_upload_clip_see_frames_and_chat(page, server_url, tmp_path):
    clip = tmp_path / "street.mp4"
    write_clip(clip, seconds=4)
    upload(page, server_url, clip, "the model is shown 4 of 40 frames")
    for stamp in ("0:00", "0:01", "0:02", "0:03"):
        page.get_by_text(stamp, exact=True).first.wait_for()  # the strip can draw just after the caption

    go_to(page, "Chat", "Chat")
    page.get_by_text("4 frames · 3.9 s").wait_for()
    ask(page, "What happens in the video?")
    page.locator(ANSWERS).nth(1).get_by_text("tokens").wait_for()
    wait_idle(page)
    ask(page, "And at the end?")
    page.locator(ANSWERS).nth(3).get_by_text("tokens").wait_for()
    wait_idle(page)
    assert page.locator(ANSWERS).count() == 4
    follow_up = page.locator(ANSWERS).nth(3).inner_text()
    assert "frames: 4" in follow_up
    # The same four frames at the same times: the follow-up's prefix came from the cache. Frames sampled
    # again differently (other times, other pixels) would miss it and be encoded anew.
    assert "video from the cache" in follow_up


def test_playlist_posing_as_mp4(page, server_url, tmp_path):
    fake = tmp_path / "movie.mp4"
    fake.write_text("#EXTM3U\n#EXTINF:10,Clip\nhttp://example.invalid/clip.mp4\n")
    upload(page, server_url, fake)
    page.get_by_text("This is a playlist or a link, not a video file.").wait_for()
