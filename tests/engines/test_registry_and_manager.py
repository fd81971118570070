from __future__ import annotations

import json
import threading

import pytest

from core.engines.base import Engine
from core.engines.manager import ModelManager
from core.engines.registry import CATALOGUE, choices, create_engine, find_card
from core.engines.types import Capability, ModelCard, RuntimeInfo, UnknownModel
from core.settings import Settings


def test_catalogue_models_are_known_with_sizes_and_abilities():
    for card in CATALOGUE:
        assert find_card(card.model_id) is card
        assert card.params_millions
        assert card.can(Capability.CHAT)
        assert not card.can(Capability.GROUNDING)  # SmolVLM2 cannot ground reliably


def test_local_directory_is_recognised_by_its_config(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "smolvlm"}), encoding="utf-8")
    card = find_card(str(tmp_path))
    assert card.family == "smolvlm"
    assert card.title == tmp_path.name


def test_unknown_model_raises_one_clear_error(tmp_path):
    with pytest.raises(UnknownModel) as caught:
        find_card("someone/some-llm")
    assert caught.value.params["model"] == "someone/some-llm"


def test_creating_an_engine_reads_no_weights(tmp_path):
    engine = create_engine("HuggingFaceTB/SmolVLM2-256M-Video-Instruct", Settings(hf_home=tmp_path, device="cpu"))
    assert isinstance(engine, Engine)
    assert not engine.loaded


def test_choices_put_the_active_model_first():
    ids = choices("/models/mine")
    assert ids[0] == "/models/mine"
    assert set(ids[1:]) == {card.model_id for card in CATALOGUE}
    assert choices(CATALOGUE[1].model_id).count(CATALOGUE[1].model_id) == 1


class _RecordingEngine:
    """A neighbour of the manager under test: records load/unload, never touches weights."""

    def __init__(self, model_id: str, log: list[str]) -> None:
        self.card = ModelCard(model_id, "fake", model_id, None, frozenset({Capability.CHAT}))
        self._loaded = False
        self._log = log

    @property
    def loaded(self) -> bool:
        return self._loaded

    @property
    def runtime(self) -> RuntimeInfo:
        return RuntimeInfo("cpu", "float32")

    def load(self, on_progress=None) -> None:
        self._loaded = True
        self._log.append(f"load {self.card.model_id}")

    def unload(self) -> None:
        self._loaded = False
        self._log.append(f"unload {self.card.model_id}")

    def stream(self, request, stop=None):
        raise NotImplementedError


def test_manager_keeps_one_model_and_unloads_the_previous():
    log: list[str] = []
    manager = ModelManager(Settings(), factory=lambda model_id, settings: _RecordingEngine(model_id, log))
    first = manager.load("a")
    assert manager.activate("a") is first  # same id: same engine, nothing reloaded
    manager.load("b")
    assert log == ["load a", "unload a", "load b"]
    assert not first.loaded
    assert manager.engine is not None and manager.engine.card.model_id == "b"


def test_manager_is_safe_to_switch_from_two_threads():
    log: list[str] = []
    manager = ModelManager(Settings(), factory=lambda model_id, settings: _RecordingEngine(model_id, log))
    threads = [threading.Thread(target=manager.load, args=(name,)) for name in ("a", "b", "a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    loaded = [line for line in log if line.startswith("load")]
    unloaded = [line for line in log if line.startswith("unload")]
    assert len(loaded) - len(unloaded) == 1  # exactly one model left in memory
