"""A picture's prefix prepared before the question (ServingCore.prepare): batch work behind people, whose
cache the owner's first question re-uses; nothing for a model that is not loaded."""

from __future__ import annotations

from dataclasses import replace

from core.engines.types import SamplingParams
from core.serving.queue import Priority
from tests.serving.conftest import ask, wait_for


def _question(text: str):
    return replace(ask(text, max_new_tokens=4), reuse_prefix=True)


def test_a_prepared_picture_is_reused_by_the_owners_first_question(make_core, tiny_trio):
    core = make_core()
    model = tiny_trio[0]
    assert core.prepare(model, _question("Describe it"), owner="ann") is None  # not loaded: nothing asked
    core.client(model, "ann").load()

    job = core.prepare(model, _question("Describe it"), owner="ann")
    assert job is not None and job.ticket.priority is Priority.BATCH
    outcome = job.outcome() if job.wait(60) else None
    assert outcome is not None and outcome.stats.new_tokens == 1

    answer = core.client(model, "ann").generate(_question("What colour is it?"))
    assert answer.error is None and answer.stats.reused_prompt_tokens > 0  # only its own words computed
    other = core.client(model, "bob").generate(_question("What colour is it?"))
    assert other.stats.reused_prompt_tokens == 0  # someone else's cache is not theirs


def test_a_person_goes_before_a_preparation_that_waits(held):
    core, model_id, gate, running = held
    preparing = core.prepare(model_id, _question("Describe it"), owner="ann")
    person = core.submit(model_id, ask(), owner="bob")
    assert preparing is not None
    wait_for(lambda: (person.status.position, preparing.status.position) == (2, 3), what="bob ahead")
    preparing.cancel()  # the picture changed: the preparation leaves the line
    gate.release()
    assert person.outcome().error is None and preparing.wait(30) and preparing.outcome().stopped


def test_the_sampling_of_a_preparation_is_one_greedy_token(make_core, tiny_trio):
    core = make_core()
    model = tiny_trio[0]
    core.client(model, "ann").load()
    sampled = replace(_question("Describe it"), sampling=SamplingParams(max_new_tokens=64, do_sample=True))
    job = core.prepare(model, sampled, owner="ann")
    assert job is not None and job.wait(60)
    assert job.outcome().stats.new_tokens == 1
