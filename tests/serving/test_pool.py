"""The pool with real tiny engines and a memory budget of a few tiny models: what stays resident, and when."""

from __future__ import annotations

import threading

import pytest

from core.engines.types import EngineNotLoaded, ModelTooLarge
from core.serving import LoadState, Phase, Priority
from tests.serving.conftest import Gate, LoadLog, ask, cpu_settings, model_cost, slow_factory, wait_for


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _names(resident: dict[str, int]) -> set[str]:
    return {model_id.rsplit("/", 1)[-1] for model_id in resident}


def test_concurrent_loads_of_different_models_never_exceed_the_budget(make_core, tiny_trio, tmp_path):
    """Loads held for 0.3 s overlap for real; the budget fits two of the three models."""
    settings = cpu_settings(tmp_path)
    cost = model_cost(tiny_trio[0], settings)
    log = LoadLog()
    core = make_core(factory=slow_factory(log, 0.3), budget_bytes=int(cost * 2.5), max_loaded=3)
    jobs = []
    # one owner per request: a person may have only MAX_QUEUED_PER_USER requests waiting
    starters = [
        threading.Thread(target=lambda m=model_id, o=f"{person}-{index}": jobs.append(core.submit(m, ask(), owner=o)))
        for person in ("ann", "bob", "cat")
        for index, model_id in enumerate(tiny_trio)
    ]
    for thread in starters:
        thread.start()
    for thread in starters:
        thread.join()
    assert len(jobs) == len(starters)  # every request was taken
    for job in jobs:
        assert job.wait(60)
        assert job.outcome().error is None
    assert log.peak <= 2, log.events
    assert len(core.pool.resident()) <= 2
    assert sum(core.pool.resident().values()) <= cost * 2.5


def test_least_recently_used_idle_model_goes_first(make_core, tiny_trio, tmp_path):
    alpha, beta, gamma = tiny_trio
    cost = model_cost(alpha, cpu_settings(tmp_path))
    core = make_core(budget_bytes=int(cost * 2.5), max_loaded=3)
    core.client(alpha, "x").load()
    core.client(beta, "x").load()
    assert core.client(alpha, "x").generate(ask()).error is None  # alpha is now the more recently used
    core.client(gamma, "x").load()
    assert _names(core.pool.resident()) == {"alpha", "gamma"}


def test_max_loaded_models_counts_too(make_core, tiny_trio, tmp_path):
    alpha, beta, _ = tiny_trio
    core = make_core(max_loaded=1)
    core.client(alpha, "x").load()
    core.client(beta, "x").load()
    assert _names(core.pool.resident()) == {"beta"}


def test_a_generating_model_is_never_evicted(make_core, tiny_trio, tmp_path):
    alpha, beta, _ = tiny_trio
    core = make_core(max_loaded=1)
    core.client(alpha, "ann").load()
    gate = Gate(core.pool.engine(alpha))
    busy = core.submit(alpha, ask(), owner="ann")
    assert gate.entered.wait(10)  # alpha is generating
    other = core.submit(beta, ask(), owner="bob")
    wait_for(lambda: core.status(beta).state is LoadState.PENDING, what="beta waiting for memory")
    wait_for(lambda: other.status.phase is Phase.QUEUED, what="bob told he waits")
    assert other.status.position == 2 and not other.status.behind_own
    assert _names(core.pool.resident()) == {"alpha"}
    gate.release()
    assert busy.wait(20) and other.wait(20)
    assert busy.outcome().error is None and other.outcome().error is None
    assert _names(core.pool.resident()) == {"beta"}


def test_a_model_with_a_request_waiting_ahead_is_not_evicted_for_a_preload(make_core, tiny_trio, tmp_path):
    alpha, beta, gamma = tiny_trio
    cost = model_cost(alpha, cpu_settings(tmp_path))
    core = make_core(budget_bytes=int(cost * 2.5), max_loaded=3)
    core.client(alpha, "ann").load()
    core.client(beta, "bob").load()
    gate = Gate(core.pool.engine(beta))
    running = core.submit(beta, ask(), owner="bob")
    assert gate.entered.wait(10)
    waiting = core.submit(alpha, ask(), owner="ann")  # alpha idle, but its request waits in line
    core.preload(gamma)  # nobody waits for gamma: it may not push alpha out
    wait_for(lambda: core.status(gamma).state is LoadState.PENDING, what="gamma pending")
    assert _names(core.pool.resident()) == {"alpha", "beta"}
    gate.release()
    assert running.wait(20) and waiting.wait(20)
    assert waiting.outcome().error is None


def test_two_people_taking_turns_with_two_models_that_do_not_fit_together(make_core, tiny_trio, tmp_path):
    """Each waits for the other's model to be unloaded; neither waits for ever."""
    alpha, beta, _ = tiny_trio
    core = make_core(max_loaded=1)
    jobs = [core.submit(model_id, ask(), owner=owner) for owner, model_id in
            [("ann", alpha), ("bob", beta), ("ann", alpha), ("bob", beta)]]  # fmt: skip
    for job in jobs:
        assert job.wait(60), job.status
        assert job.outcome().error is None


def test_idle_models_leave_after_the_keep_alive(make_core, tiny_trio, tmp_path):
    alpha, beta, _ = tiny_trio
    clock = Clock()
    core = make_core(settings=cpu_settings(tmp_path, model_keep_alive_s=60.0), clock=clock)
    core.client(alpha, "x").load()
    clock.now += 30
    core.client(beta, "x").load()
    clock.now += 31  # alpha idle for 61 s, beta for 31 s
    core.pool.poke()
    wait_for(lambda: core.status(alpha).state is LoadState.UNLOADED, what="alpha unloaded")
    assert _names(core.pool.resident()) == {"beta"}


def test_keep_alive_never_unloads_a_busy_model(make_core, tiny_trio, tmp_path):
    alpha = tiny_trio[0]
    clock = Clock()
    core = make_core(settings=cpu_settings(tmp_path, model_keep_alive_s=0.0), clock=clock)
    core.client(alpha, "x").load()
    gate = Gate(core.pool.engine(alpha))
    job = core.submit(alpha, ask(), owner="x")
    assert gate.entered.wait(10)
    clock.now += 3600
    core.pool.poke()
    assert core.status(alpha).state is LoadState.READY
    gate.release()
    assert job.wait(20) and job.outcome().error is None
    # keep-alive 0: unloaded as soon as it is idle
    wait_for(lambda: core.status(alpha).state is LoadState.UNLOADED, what="alpha unloaded once idle")


def test_a_model_that_cannot_fit_alone_says_its_size_and_the_budget(make_core, tiny_trio, tmp_path):
    core = make_core(budget_bytes=1024)
    outcome = core.client(tiny_trio[0], "x").generate(ask())
    assert isinstance(outcome.error, ModelTooLarge)
    assert set(outcome.error.params) == {"model", "need_gb", "budget_gb"}
    assert outcome.error.params["model"] == "alpha"
    with pytest.raises(ModelTooLarge):
        core.client(tiny_trio[0], "x").load()
    assert core.pool.resident() == {}


def test_an_engine_held_after_eviction_cannot_bring_itself_back(make_core, tiny_trio, tmp_path):
    """A page that kept the old engine object gets an error, not a second copy of the weights."""
    alpha, beta, gamma = tiny_trio
    log = LoadLog()
    cost = model_cost(alpha, cpu_settings(tmp_path))
    core = make_core(factory=slow_factory(log), budget_bytes=int(cost * 2.5), max_loaded=3)
    core.client(alpha, "x").load()
    old_engine = core.pool.engine(alpha)
    core.client(beta, "x").load()
    core.client(gamma, "x").load()
    assert not old_engine.loaded
    with pytest.raises(EngineNotLoaded):
        old_engine.stream(ask())
    assert not old_engine.loaded
    assert "alpha" not in _names(core.pool.resident())
    # The right way back is through the pool, which makes room first.
    assert core.client(alpha, "x").generate(ask()).error is None
    assert len(core.pool.resident()) == 2 and log.peak <= 2


def test_lab_work_loads_through_the_same_pool(make_core, tiny_trio):
    core = make_core(max_loaded=1)
    lab = core.client(tiny_trio[0], "lab:1", Priority.BATCH)
    assert lab.load()
    assert lab.generate(ask()).error is None
    assert _names(core.pool.resident()) == {"alpha"}


def test_loads_and_answers_run_on_threads_that_end_with_them(make_core, tiny_trio):
    """GNU OpenMP keeps a team of worker threads for each thread that ran a parallel torch operation, as long
    as that thread lives; with a second team alive it stops its workers spinning and a decoding step waits
    on woken threads (twice as slow on two cores, ``bench/decode_threads.py``). So neither a load nor an
    answer may run on a thread that outlives it, the long-lived loader's included."""
    from core.registry import create_engine

    threads: dict[str, list[threading.Thread]] = {"load": [], "answer": []}

    def factory(model_id, settings):
        engine = create_engine(model_id, settings)
        real_load, real_stream = engine.load, engine.stream

        def load(on_progress=None) -> None:
            threads["load"].append(threading.current_thread())
            real_load(on_progress)

        def stream(*args, **kwargs):
            threads["answer"].append(threading.current_thread())
            return real_stream(*args, **kwargs)

        engine.load, engine.stream = load, stream  # type: ignore[method-assign]
        return engine

    core = make_core(factory=factory)
    client = core.client(tiny_trio[0], "x")
    client.load()
    assert client.generate(ask()).error is None
    (loading,), (answering,) = threads["load"], threads["answer"]
    assert loading is not core.scheduler._loader_thread and loading is not threading.current_thread()
    wait_for(lambda: not loading.is_alive() and not answering.is_alive(), what="the threads to end")
    assert core.scheduler._loader_thread.is_alive()  # the loader itself goes on, for the next load
