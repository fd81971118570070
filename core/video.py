"""Short video clips: recognise the container by content, decode with OpenCV, sample frames at a set rate.

Limits (size, duration, resolution) are checked on what is actually decoded, never on what the
container claims. The upload is written to a private temporary file with a name of our own, because
OpenCV reads from paths; the file is removed as soon as decoding ends.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass

import numpy as np
from PIL import Image

from core.engines.types import VideoClip, format_timestamp
from core.media import InvalidInput, check_size

__all__ = ["format_timestamp"]  # kept here too: pages caption frames with it

VIDEO_FORMATS = ("MP4", "MOV", "WEBM")
_QUICKTIME_BRANDS = (b"qt  ",)


@dataclass(frozen=True)
class VideoLimits:
    max_bytes: int = 200 * 1024 * 1024
    max_duration_s: float = 600.0
    max_side: int = 3840  # 4K; larger frames are refused
    min_side: int = 16


@dataclass(frozen=True)
class Sampling:
    fps: float = 1.0
    max_frames: int = 64  # SmolVLM2's model card
    frame_edge: int = 512  # the model's video edge: 512 for the small SmolVLM2 models, 384 for 2.2B

    def __post_init__(self) -> None:
        if not (0 < self.fps <= 10):
            raise ValueError("fps must be in (0, 10]")
        if not (1 <= self.max_frames <= 64):
            raise ValueError("max_frames must be between 1 and 64")
        if self.frame_edge < 16:
            raise ValueError("frame_edge must be at least 16")


@dataclass(frozen=True)
class NormalizedVideo:
    """A decoded upload: the sampled clip plus what the UI shows about it."""

    clip: VideoClip
    name: str
    container: str
    width: int
    height: int
    decoded_frames: int
    digest: str

    @property
    def duration_s(self) -> float:
        return self.clip.duration_s


def sniff_video(head: bytes) -> str | None:
    """MP4 / MOV (ISO base media: an ``ftyp`` box) or WebM (EBML with the webm doctype), else None."""
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return "MOV" if head[8:12] in _QUICKTIME_BRANDS else "MP4"
    if len(head) >= 8 and head[4:8] in (b"moov", b"mdat", b"wide", b"free"):
        return "MOV"  # old QuickTime files start straight with an atom
    if head[:4] == b"\x1a\x45\xdf\xa3" and b"webm" in head[:64]:
        return "WEBM"
    return None


def looks_like_playlist(head: bytes) -> bool:
    text = head[:64].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return text.startswith((b"#extm3u", b"[playlist]", b"<?xml", b"<smil", b"<asx", b"file:", b"http"))


def _resize_to_edge(frame_bgr: np.ndarray, edge: int) -> Image.Image:
    picture = Image.fromarray(frame_bgr[:, :, ::-1].copy())
    picture.thumbnail((edge, edge))  # never enlarges
    return picture


def _thin_out(kept: list[tuple[float, Image.Image]], limit: int) -> list[tuple[float, Image.Image]]:
    """``limit`` entries spread evenly over ``kept``, first and last included."""
    if len(kept) <= limit:
        return kept
    if limit == 1:
        return [kept[0]]
    step = (len(kept) - 1) / (limit - 1)
    return [kept[round(i * step)] for i in range(limit)]


def decode_video(
    data: bytes, name: str, sampling: Sampling | None = None, limits: VideoLimits | None = None
) -> NormalizedVideo:
    """Decode ``data`` and sample frames; raise :class:`InvalidInput` with the reason when refused."""
    import cv2

    sampling = sampling or Sampling()
    limits = limits or VideoLimits()
    check_size(data, limits.max_bytes)
    if looks_like_playlist(data[:64]):
        raise InvalidInput("video.playlist")
    container = sniff_video(data[:64])
    if container is None:
        raise InvalidInput("video.unsupported", allowed=", ".join(VIDEO_FORMATS))

    descriptor, path = tempfile.mkstemp(prefix="vlm-studio-", suffix=f".{container.lower()}")
    try:
        with os.fdopen(descriptor, "wb") as sink:
            sink.write(data)
        capture = cv2.VideoCapture(path)
        try:
            if not capture.isOpened():
                raise InvalidInput("video.unreadable")
            kept, decoded, last_time, size = _sample(capture, sampling, limits)
        finally:
            capture.release()
    finally:
        os.unlink(path)

    if decoded == 0 or not kept:
        raise InvalidInput("video.no_frames")
    chosen = _thin_out(kept, sampling.max_frames)
    clip = VideoClip(
        frames=tuple(frame for _, frame in chosen),
        timestamps=tuple(round(time, 3) for time, _ in chosen),
        duration_s=round(max(last_time, chosen[-1][0]), 3),
    )
    return NormalizedVideo(
        clip=clip,
        name=name,
        container=container,
        width=size[0],
        height=size[1],
        decoded_frames=decoded,
        digest=hashlib.sha256(data).hexdigest()[:16] + f"-{sampling.fps:g}-{sampling.max_frames}",
    )


def _sample(
    capture: object, sampling: Sampling, limits: VideoLimits
) -> tuple[list[tuple[float, Image.Image]], int, float, tuple[int, int]]:
    """One pass over the stream: keep a frame every 1/fps s; halve the rate whenever too many are kept."""
    import cv2

    container_fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)  # type: ignore[attr-defined]
    interval = 1.0 / sampling.fps
    next_sample = 0.0
    kept: list[tuple[float, Image.Image]] = []
    decoded = 0
    last_time = 0.0
    size = (0, 0)
    while capture.grab():  # type: ignore[attr-defined]
        position_ms = float(capture.get(cv2.CAP_PROP_POS_MSEC) or 0.0)  # type: ignore[attr-defined]
        # Prefer the decoder's clock; fall back to counting frames when it has none.
        time = position_ms / 1000.0 if position_ms > 0 or decoded == 0 else decoded / (container_fps or 25.0)
        time = max(time, last_time)
        decoded += 1
        last_time = time
        if time > limits.max_duration_s:
            raise InvalidInput("video.too_long", limit_s=int(limits.max_duration_s))
        if time + 1e-6 < next_sample and decoded > 1:
            continue
        ok, frame = capture.retrieve()  # type: ignore[attr-defined]
        if not ok or frame is None:
            continue
        height, width = frame.shape[:2]
        if max(width, height) > limits.max_side:
            raise InvalidInput("video.too_big", width=width, height=height, limit=limits.max_side)
        if min(width, height) < limits.min_side:
            raise InvalidInput("video.too_small", width=width, height=height)
        size = (width, height)
        kept.append((time, _resize_to_edge(frame, sampling.frame_edge)))
        next_sample += interval
        while next_sample <= time:
            next_sample += interval
        if len(kept) >= 2 * sampling.max_frames:
            # Memory stays bounded for long clips: keep every other frame and sample half as often.
            kept = kept[::2]
            interval *= 2
            next_sample = kept[-1][0] + interval
    return kept, decoded, last_time, size
