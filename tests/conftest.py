"""Shared fixtures: one tiny random-weight SmolVLM per test session, built offline with real classes."""

from __future__ import annotations

import io
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from core.tiny_models import BUILDERS, build_tiny_docling, build_tiny_smolvlm

ROOT = Path(__file__).resolve().parents[1]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # with TEST_WORKERS=2 (scripts/test.sh) pytest-xdist runs two workers; the browser tests share their
    # session's servers, so they all go to one worker, in file order, as in a serial run
    for item in items:
        if item.get_closest_marker("e2e"):
            item.add_marker(pytest.mark.xdist_group("browser"))


@pytest.fixture(scope="session")
def tiny_smolvlm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_smolvlm(tmp_path_factory.mktemp("models") / "tiny-smolvlm")


@pytest.fixture(scope="session")
def tiny_docling(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny Granite-Docling; "docling" in its folder name tells it from SmolVLM (both are idefics3)."""
    return build_tiny_docling(tmp_path_factory.mktemp("models") / "tiny-docling")


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory, tiny_smolvlm: Path, tiny_docling: Path) -> dict[str, Path]:
    """One tiny model per family (the grounding families are built on first use)."""
    root = tmp_path_factory.mktemp("families")
    built = {"smolvlm": tiny_smolvlm, "docling": tiny_docling}
    for family, build in BUILDERS.items():
        if family not in built:
            built[family] = build(root / family)
    return built


def image_bytes(size: tuple[int, int] = (320, 240), color: str = "navy", fmt: str = "PNG", mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, fmt)
    return buffer.getvalue()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs: a real file system that fills up."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
