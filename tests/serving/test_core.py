"""Requests through the serving core on real tiny engines: the queue, Stop in every phase, failures."""

from __future__ import annotations

import threading
import time

import pytest
from PIL import Image

from core.engines.types import (
    ChatMessage,
    GenerationFailed,
    GenerationRequest,
    Role,
    SamplingParams,
    ServerBusy,
    VideoClip,
)
from core.registry import create_engine
from core.serving import LoadState, Phase, Priority
from tests.serving.conftest import Gate, LoadLog, ask, cpu_settings, slow_factory, wait_for


def test_waiting_requests_see_their_place_and_move_up_when_one_leaves(held):
    core, model_id, gate, running = held
    second = core.submit(model_id, ask(), owner="second")
    third = core.submit(model_id, ask(), owner="third")
    wait_for(lambda: (second.status.position, third.status.position) == (2, 3), what="places in line")
    assert second.status.phase is Phase.QUEUED and not third.status.behind_own

    cancelled_at = time.monotonic()
    second.cancel()
    assert second.wait(1.0), "a queued request leaves at once, while the first still runs"
    assert time.monotonic() - cancelled_at < 1.0 and not running.done.is_set()
    assert second.outcome().stopped and second.outcome().error is None and second.outcome().text == ""
    wait_for(lambda: third.status.position == 2, what="the third moves up")

    gate.release()
    assert running.wait(20) and third.wait(20)
    assert third.outcome().error is None and third.outcome().stats.new_tokens >= 1


def test_first_come_first_served(held):
    core, model_id, gate, running = held
    finished: list[str] = []
    jobs = {name: core.submit(model_id, ask(), owner=name) for name in ("b", "c", "d")}
    watchers = [threading.Thread(target=lambda n=n, j=j: (j.wait(30), finished.append(n))) for n, j in jobs.items()]
    for watcher in watchers:
        watcher.start()
    gate.release()
    for watcher in watchers:
        watcher.join()
    assert finished == ["b", "c", "d"]


def test_past_the_cap_a_request_is_refused_at_once(make_core, tiny_trio, tmp_path):
    core = make_core(settings=cpu_settings(tmp_path, max_queue=2))
    model_id = tiny_trio[0]
    core.client(model_id, "x").load()
    gate = Gate(core.pool.engine(model_id))
    running = core.submit(model_id, ask(), owner="a")
    assert gate.entered.wait(10)
    core.submit(model_id, ask(), owner="b")
    core.submit(model_id, ask(), owner="c")
    started = time.monotonic()
    with pytest.raises(ServerBusy) as refused:
        core.submit(model_id, ask(), owner="d")
    assert time.monotonic() - started < 0.5
    assert refused.value.params == {"limit": 2}
    gate.release()
    assert running.wait(20)


def test_interactive_requests_go_before_lab_work(held):
    core, model_id, gate, running = held
    finished: list[str] = []
    lab = core.submit(model_id, ask(), owner="lab:1", priority=Priority.BATCH)
    person = core.submit(model_id, ask(), owner="person")
    wait_for(lambda: (person.status.position, lab.status.position) == (2, 3), what="the person ahead of the lab")
    watchers = [threading.Thread(target=lambda n=n, j=j: (j.wait(30), finished.append(n)))
                for n, j in (("lab", lab), ("person", person))]  # fmt: skip
    for watcher in watchers:
        watcher.start()
    gate.release()
    for watcher in watchers:
        watcher.join()
    assert finished == ["person", "lab"]


def test_your_own_earlier_request_is_called_yours(held):
    core, model_id, gate, running = held
    mine = core.submit(model_id, ask(), owner="first")
    theirs = core.submit(model_id, ask(), owner="someone else")
    wait_for(lambda: mine.status.phase is Phase.QUEUED and theirs.status.phase is Phase.QUEUED, what="queued")
    assert mine.status.behind_own
    assert not theirs.status.behind_own  # the first person's requests are ahead: someone else's


def test_stop_while_the_model_loads_drops_the_request_but_not_the_load(make_core, tiny_trio):
    log = LoadLog()
    core = make_core(factory=slow_factory(log, 1.5))
    model_id = tiny_trio[0]
    leaving = core.submit(model_id, ask(), owner="impatient")
    wait_for(lambda: leaving.status.phase is Phase.LOADING, what="loading")
    staying = core.submit(model_id, ask(), owner="patient")
    leaving.cancel()
    assert leaving.wait(0.5)
    assert leaving.outcome().stopped and leaving.outcome().error is None
    assert core.status(model_id).state is LoadState.LOADING  # the load goes on for the others
    assert staying.wait(30)
    assert staying.outcome().error is None and staying.outcome().text


def test_stop_during_the_image_prefill_ends_at_the_next_layer(make_core, tiny_trio):
    """Each vision layer is slowed to 0.6 s, so the prefill alone takes over a second."""
    core = make_core()
    model_id = tiny_trio[0]
    core.client(model_id, "x").load()
    vision_layers = core.pool.engine(model_id)._model.model.vision_model.encoder.layers
    handles = [layer.register_forward_pre_hook(lambda module, args: time.sleep(0.6)) for layer in vision_layers]
    try:
        job = core.submit(model_id, ask(max_new_tokens=50), owner="x")
        wait_for(lambda: job.status.phase is Phase.PREFILL, what="prefill")
        time.sleep(0.2)
        stopped_at = time.monotonic()
        job.cancel()
        assert job.status.stopping
        assert job.wait(5)
        assert time.monotonic() - stopped_at < 1.0, "ends within one layer, not after the whole prefill"
        outcome = job.outcome()
        assert outcome.stopped and outcome.error is None
        assert outcome.stats.new_tokens == 0 and outcome.text == ""
    finally:
        for handle in handles:
            handle.remove()
    after = core.client(model_id, "x").generate(ask())
    assert after.error is None and after.stats.new_tokens >= 1


def test_stop_during_decoding_ends_within_a_token(make_core, tiny_trio):
    core = make_core()
    model_id = tiny_trio[0]
    job = core.submit(model_id, ask(max_new_tokens=4000), owner="x")
    for piece in job.updates(0.05):
        if piece:
            job.cancel()
            break
    assert job.wait(2)
    outcome = job.outcome()
    assert outcome.stopped and outcome.text and outcome.stats.new_tokens < 100


def test_a_failing_request_frees_the_model_and_the_line(make_core, tiny_trio):
    core = make_core()
    model_id = tiny_trio[0]
    picture = Image.new("RGB", (32, 32))
    clip = VideoClip((picture,), (0.0,), 1.0)
    broken = GenerationRequest((ChatMessage(Role.USER, "?", (picture,), (clip,)),), SamplingParams(4))
    outcome = core.client(model_id, "x").generate(broken)
    assert isinstance(outcome.error, GenerationFailed)
    assert core.queue.waiting == 0 and core.queue.running == 0
    assert core.client(model_id, "x").generate(ask()).error is None


def test_an_update_callback_that_raises_cancels_the_request(make_core, tiny_trio):
    """What a Streamlit rerun does to a page mid-answer: the request must not run on unseen."""
    core = make_core()
    model_id = tiny_trio[0]

    class Rerun(Exception):
        pass

    def interrupt(piece, status):
        if piece:
            raise Rerun

    with pytest.raises(Rerun):
        core.client(model_id, "x").generate(ask(max_new_tokens=4000), on_update=interrupt)
    wait_for(lambda: core.queue.running == 0, timeout=3, what="the model free again")


def test_cancel_owner_ends_everything_a_session_had(held):
    core, model_id, gate, running = held
    queued = core.submit(model_id, ask(), owner="first")
    core.cancel_owner("first")
    assert queued.wait(1)
    gate.release()
    assert running.wait(5) and running.outcome().stopped


@pytest.mark.parametrize("attempt", range(4))  # which waiter takes the lock first varies: try a few times
def test_max_parallel_two_runs_two_at_once_even_when_both_waited_for_the_load(make_core, tiny_trio, tmp_path, attempt):
    """Both requests queue while the model loads; once it is ready the second must start beside the first.

    Before the fix, when the second waiter took the lock first it went back to sleep, and the first
    starting woke nobody: the second waited for the first to end.
    """
    gates: list[Gate] = []

    def held_after_load(model_id, settings):
        engine = create_engine(model_id, settings)
        real_load = engine.load

        def load(on_progress=None):
            time.sleep(0.3)  # both requests are in line before the model is ready
            real_load(on_progress)
            gates.append(Gate(engine))  # every forward pass waits: a started request stays running

        engine.load = load
        return engine

    core = make_core(settings=cpu_settings(tmp_path, max_parallel=2), factory=held_after_load)
    model_id = tiny_trio[0]
    first = core.client(model_id, "a").submit(ask(max_new_tokens=2))
    second = core.client(model_id, "b").submit(ask(max_new_tokens=2))
    try:
        wait_for(lambda: core.queue.running == 2, timeout=10, what="both requests running at once")
    finally:
        for gate in gates:
            gate.release()
    assert first.wait(30) and second.wait(30)


def test_a_waiting_request_holds_no_thread_and_a_running_one_holds_one(held):
    """The scheduler's loop and loader serve everyone; each running request has its runner, nothing more."""
    core, model_id, gate, running = held
    before = set(threading.enumerate())
    waiting = [core.submit(model_id, ask(), owner=name) for name in ("b", "c", "d")]
    wait_for(lambda: all(job.status.phase is Phase.QUEUED for job in waiting), what="three in line")
    assert set(threading.enumerate()) - before == set()  # three requests in line, not one thread more
    runners = [thread for thread in before if thread.name.startswith("vlm-run-")]
    assert runners and not any(thread.name.startswith(("vlm-job-", "vlm-generate", "vlm-stream")) for thread in before)
    gate.release()
    assert all(job.wait(30) for job in waiting)
