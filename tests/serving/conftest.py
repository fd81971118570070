"""Serving tests run real tiny engines; what they slow down or hold on purpose is said where it happens."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image

from core.engines.base import Engine
from core.engines.types import ChatMessage, GenerationRequest, Role, SamplingParams
from core.registry import create_engine
from core.serving import ServingCore
from core.settings import Settings


@pytest.fixture(scope="session")
def tiny_trio(tiny_smolvlm: Path, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Three distinct model ids (copies of the tiny SmolVLM), so the pool sees three models of one size."""
    root = tmp_path_factory.mktemp("trio")
    paths = []
    for name in ("alpha", "beta", "gamma"):
        shutil.copytree(tiny_smolvlm, root / name)
        paths.append(str(root / name))
    return paths


def cpu_settings(tmp_path: Path, **overrides: object) -> Settings:
    return Settings(allow_download=False, hf_home=tmp_path / "hf", device="cpu", **overrides)  # type: ignore[arg-type]


def model_cost(model_id: str, settings: Settings) -> int:
    cost = create_engine(model_id, settings).estimated_bytes()
    assert cost is not None
    return cost


def ask(text: str = "What is this?", max_new_tokens: int = 6, size: tuple[int, int] = (96, 64)) -> GenerationRequest:
    image = Image.new("RGB", size, "orange")
    return GenerationRequest(
        (ChatMessage(Role.USER, text, (image,)),), SamplingParams(max_new_tokens=max_new_tokens), max_tiles=1
    )


def wait_for(predicate: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


class LoadLog:
    """Which engines hold weights at each moment, counted from the start of a load to the end of an unload."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.holding: set[str] = set()
        self.peak = 0
        self.events: list[str] = []

    def loading(self, model_id: str) -> None:
        with self._lock:
            self.holding.add(model_id)
            self.peak = max(self.peak, len(self.holding))
            self.events.append(f"load {Path(model_id).name}")

    def unloaded(self, model_id: str) -> None:
        with self._lock:
            self.holding.discard(model_id)
            self.events.append(f"unload {Path(model_id).name}")


def slow_factory(log: LoadLog, load_delay_s: float = 0.0) -> Callable[[str, Settings], Engine]:
    """The real adapters, with every load held for ``load_delay_s`` first: loads overlap for real."""

    def factory(model_id: str, settings: Settings) -> Engine:
        engine = create_engine(model_id, settings)
        real_load, real_unload = engine.load, engine.unload

        def load(on_progress=None) -> None:
            log.loading(model_id)
            time.sleep(load_delay_s)
            real_load(on_progress)

        def unload() -> None:
            real_unload()
            log.unloaded(model_id)

        engine.load = load  # type: ignore[method-assign]
        engine.unload = unload  # type: ignore[method-assign]
        return engine

    return factory


class Gate:
    """Holds every forward pass of a loaded model until opened: a generation that stays busy on demand."""

    def __init__(self, engine: Engine) -> None:
        self.open = threading.Event()
        self.entered = threading.Event()
        model = engine._model  # type: ignore[attr-defined]
        assert model is not None, "open a gate on a loaded engine"

        def hold(module: object, args: object) -> None:
            self.entered.set()
            self.open.wait()

        self._handle = model.register_forward_pre_hook(hold)

    def release(self) -> None:
        self.open.set()
        self._handle.remove()


@pytest.fixture
def make_core(tmp_path: Path) -> Iterator[Callable[..., ServingCore]]:
    made: list[ServingCore] = []

    def make(*, settings: Settings | None = None, **kwargs: object) -> ServingCore:
        core = ServingCore(settings or cpu_settings(tmp_path), **kwargs)  # type: ignore[arg-type]
        made.append(core)
        return core

    yield make
    for core in made:
        core.close()


@pytest.fixture
def held(make_core, tiny_trio):
    """A core whose one model is loaded, and a first request stuck in its first forward pass."""
    core = make_core()
    model_id = tiny_trio[0]
    core.client(model_id, "first").load()
    gate = Gate(core.pool.engine(model_id))
    running = core.submit(model_id, ask(), owner="first")
    assert gate.entered.wait(10)
    yield core, model_id, gate, running
    gate.release()
