"""Small clips made with OpenCV's VideoWriter for the tests: coloured frames that change over time."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

FOURCC = {".mp4": "mp4v", ".mov": "mp4v", ".webm": "VP80", ".avi": "MJPG"}
COLOURS = [(0, 0, 220), (0, 200, 0), (220, 0, 0), (0, 220, 220)]  # BGR: red, green, blue, yellow


def write_clip(path: Path, seconds: float = 4.0, fps: int = 10, size: tuple[int, int] = (160, 120)) -> bytes:
    """A clip whose colour changes every second; returns its bytes."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*FOURCC[path.suffix]), fps, size)
    for index in range(int(seconds * fps)):
        frame = np.zeros((size[1], size[0], 3), np.uint8)
        frame[:, :] = COLOURS[(index // fps) % len(COLOURS)]
        cv2.putText(frame, str(index), (5, size[1] - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1)
        writer.write(frame)
    writer.release()
    return path.read_bytes()
