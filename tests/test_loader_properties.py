"""Property test: damaged files through the image, PDF and video loaders.

Hypothesis mutates valid seed files (flipped, inserted and deleted bytes, truncation). Whatever it
makes, each loader either returns a normalised input within its budget or raises our own
:class:`InvalidInput`: never another exception, never an oversized result.
"""

from __future__ import annotations

import io
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from core.documents import PdfLimits, open_pdf, render_page
from core.media import InvalidInput, MediaLimits, load_image
from core.video import Sampling, VideoLimits, decode_video
from tests.test_documents import make_pdf
from tests.video_clips import write_clip

LIMITS = MediaLimits(max_bytes=2 * 1024 * 1024, max_pixels=4_000_000)
PDF_LIMITS = PdfLimits(max_pages=5, dpi=72, max_render_pixels=2_000_000)
SAMPLING = Sampling(fps=2, max_frames=8, frame_edge=64)
VIDEO_LIMITS = VideoLimits(max_bytes=2 * 1024 * 1024, max_duration_s=30)


def _image(fmt: str) -> bytes:
    buffer = io.BytesIO()
    picture = Image.new("RGB", (48, 32), "teal")
    picture.paste(Image.new("RGB", (16, 16), "orange"), (8, 8))
    picture.save(buffer, fmt)
    return buffer.getvalue()


@cache
def _seeds() -> dict[str, bytes]:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        video = write_clip(Path(folder) / "clip.mp4", seconds=1.0, fps=4, size=(64, 48))
    return {"png": _image("PNG"), "jpeg": _image("JPEG"), "webp": _image("WEBP"),
            "pdf": make_pdf([(200, 100), (100, 300)]), "mp4": video}  # fmt: skip


# One edit: (kind, where as a share of the length, a byte value, how many bytes).
EDITS = st.lists(
    st.tuples(
        st.sampled_from(["flip", "insert", "delete", "truncate"]),
        st.floats(0, 1),
        st.integers(0, 255),
        st.integers(1, 64),
    ),  # fmt: skip
    min_size=1,
    max_size=6,
)


def _mutate(data: bytes, edits: list[tuple[str, float, int, int]]) -> bytes:
    buffer = bytearray(data)
    for kind, where, value, count in edits:
        at = min(int(where * len(buffer)), max(len(buffer) - 1, 0))
        if kind == "flip" and buffer:
            buffer[at] ^= value or 0xFF
        elif kind == "insert":
            buffer[at:at] = bytes([value]) * count
        elif kind == "delete":
            del buffer[at : at + count]
        elif kind == "truncate":
            del buffer[at:]
    return bytes(buffer)


PROPERTY = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])  # fmt: skip


@pytest.mark.parametrize("seed", ["png", "jpeg", "webp"])
@PROPERTY
@given(edits=EDITS)
def test_a_damaged_image_is_normalised_or_refused(seed, edits):
    data = _mutate(_seeds()[seed], edits)
    try:
        loaded = load_image(data, "damaged", LIMITS)
    except InvalidInput:
        return
    assert loaded.image.mode == "RGB"
    assert loaded.image.width * loaded.image.height <= LIMITS.max_pixels
    assert min(loaded.image.size) >= LIMITS.min_side


@PROPERTY
@given(edits=EDITS)
def test_a_damaged_pdf_is_rendered_or_refused(edits):
    data = _mutate(_seeds()["pdf"], edits)
    try:
        document = open_pdf(data, "damaged.pdf", PDF_LIMITS, LIMITS)
        assert 1 <= document.page_count <= PDF_LIMITS.max_pages
        page = render_page(document, document.page_count - 1, PDF_LIMITS)
    except InvalidInput:
        return
    assert page.image.mode == "RGB"
    assert page.image.width * page.image.height <= PDF_LIMITS.max_render_pixels


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(edits=EDITS)
def test_a_damaged_video_is_sampled_or_refused(edits):
    data = _mutate(_seeds()["mp4"], edits)
    try:
        video = decode_video(data, "damaged.mp4", SAMPLING, VIDEO_LIMITS)
    except InvalidInput:
        return
    frames = video.clip.frames
    assert 1 <= len(frames) <= SAMPLING.max_frames
    assert all(max(frame.size) <= SAMPLING.frame_edge and frame.mode == "RGB" for frame in frames)
    assert list(video.clip.timestamps) == sorted(video.clip.timestamps)


def test_the_seeds_themselves_load():
    """Otherwise every mutation could be refused and the properties would hold vacuously."""
    seeds = _seeds()
    for fmt in ("png", "jpeg", "webp"):
        assert load_image(seeds[fmt], fmt, LIMITS).image.size == (48, 32)
    assert open_pdf(seeds["pdf"], "seed.pdf", PDF_LIMITS, LIMITS).page_count == 2
    assert len(decode_video(seeds["mp4"], "seed.mp4", SAMPLING, VIDEO_LIMITS).clip.frames) >= 2
