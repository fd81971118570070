from __future__ import annotations

import pytest

from core.engines.loading import download_command, load_local_only
from core.engines.types import ModelUnavailable
from core.settings import Settings

MODEL = "HuggingFaceTB/SmolVLM2-256M-Video-Instruct"


def _fake_cache_entry(hub, model_id):
    """The layout huggingface_hub writes for a downloaded repo (refs/main -> snapshots/<rev>/...)."""
    repo = hub / f"models--{model_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("abc123")
    snapshot = repo / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")


def test_local_directory_loads_from_disk(tmp_path):
    assert load_local_only(str(tmp_path), Settings(hf_home=tmp_path)) is True


def test_missing_local_directory(tmp_path):
    with pytest.raises(ModelUnavailable) as caught:
        load_local_only(str(tmp_path / "absent"), Settings(hf_home=tmp_path))
    assert caught.value.params["command"] == ""


def test_cached_model_never_touches_the_network(tmp_path):
    settings = Settings(hf_home=tmp_path, allow_download=True)
    _fake_cache_entry(settings.hub_cache_dir, MODEL)
    assert load_local_only(MODEL, settings) is True


def test_offline_and_not_cached(tmp_path):
    settings = Settings(hf_home=tmp_path, allow_download=False)
    with pytest.raises(ModelUnavailable) as caught:
        load_local_only(MODEL, settings)
    assert caught.value.params == {
        "model": MODEL,
        "cache_dir": str(tmp_path / "hub"),
        "command": download_command(MODEL, settings),
    }


def _hub_answers(monkeypatch, answer):
    """Replace the one network call, HfApi.model_info, whatever network this machine has."""
    import huggingface_hub

    calls = []

    def model_info(self, repo_id, **kwargs):
        calls.append((repo_id, kwargs.get("timeout")))
        if isinstance(answer, BaseException):
            raise answer
        return answer

    monkeypatch.setattr(huggingface_hub.HfApi, "model_info", model_info)
    return calls


def test_download_allowed_but_hub_unreachable_fails_fast(tmp_path, monkeypatch):
    calls = _hub_answers(monkeypatch, ConnectionError("no route to huggingface.co"))
    with pytest.raises(ModelUnavailable) as caught:
        load_local_only(MODEL, Settings(hf_home=tmp_path, allow_download=True))
    assert caught.value.params["command"].startswith(f"hf download {MODEL}")
    assert calls == [(MODEL, 10)]  # one probe, with a short timeout


def test_download_allowed_and_hub_reachable_downloads(tmp_path, monkeypatch):
    calls = _hub_answers(monkeypatch, object())
    assert load_local_only(MODEL, Settings(hf_home=tmp_path, allow_download=True)) is False  # from_pretrained fetches
    assert calls == [(MODEL, 10)]


def test_offline_never_probes_the_hub(tmp_path, monkeypatch):
    calls = _hub_answers(monkeypatch, object())
    with pytest.raises(ModelUnavailable):
        load_local_only(MODEL, Settings(hf_home=tmp_path, allow_download=False))
    assert calls == []


def test_download_command_quotes_paths(tmp_path):
    settings = Settings(hf_home=tmp_path / "with space")
    assert download_command(MODEL, settings).endswith("'" + str(tmp_path / "with space" / "hub") + "'")
