"""Lab fixtures."""

from __future__ import annotations

import pytest


@pytest.fixture
def offline_lab(monkeypatch, tmp_path):
    """An empty working directory, no hub, and none of a developer's model settings."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    for name in ("MODEL_ID", "MODEL_PATH", "MODEL_DEVICE", "ENGINE"):
        monkeypatch.delenv(name, raising=False)
