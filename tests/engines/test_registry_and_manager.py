from __future__ import annotations

import json
import threading

import pytest

from core.engines.base import Engine
from core.engines.manager import ModelManager
from core.engines.registry import CATALOGUE, choices, create_engine, find_card
from core.engines.types import Capability, ModelCard, RuntimeInfo, UnknownModel
from core.settings import Settings


@pytest.mark.parametrize("card", CATALOGUE, ids=lambda card: card.title)
def test_catalogue_models_are_known_with_sizes_and_abilities(card):
    assert find_card(card.model_id) is card
    assert card.params_millions
    assert card.can(Capability.OCR) and card.can(Capability.REGION)
    # SmolVLM2 cannot ground reliably; the grounding families can. Florence-2 takes tasks, not chat.
    assert card.can(Capability.GROUNDING) is (card.family != "smolvlm")
    assert card.can(Capability.CHAT) is (card.family != "florence2")
    assert card.can(Capability.VIDEO) is (card.family == "smolvlm")


@pytest.mark.parametrize(
    ("model_type", "family"),
    [("smolvlm", "smolvlm"), ("qwen2_5_vl", "qwen2_5_vl"), ("internvl", "internvl"), ("florence2", "florence2")],
)
def test_local_directories_of_every_family(tmp_path, model_type, family):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": model_type}), encoding="utf-8")
    assert find_card(str(tmp_path)).family == family


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


def test_choices_put_the_active_model_first_then_local_extras():
    ids = choices("/models/mine", extra=("/models/other", "/models/mine"))
    assert ids[:2] == ["/models/mine", "/models/other"]
    assert set(ids[2:]) == {card.model_id for card in CATALOGUE}
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
