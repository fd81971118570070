"""The fair queue on its own: order, places, the cap, leaving, lanes and priorities."""

from __future__ import annotations

import pytest

from core.engines.types import ServerBusy, TooManyWaiting
from core.serving.queue import FairQueue, Priority


def _queue(max_waiting: int = 16, capacity: int = 1) -> FairQueue:
    return FairQueue(max_waiting, lambda lane: capacity)


def test_first_come_first_served_with_places_in_line():
    queue = _queue()
    first, second, third = (queue.enter(owner, "cpu", "m", Priority.INTERACTIVE) for owner in "abc")
    assert [queue.position(t) for t in (first, second, third)] == [1, 2, 3]
    assert queue.is_next(first) and not queue.is_next(second)
    queue.start(first)
    assert queue.ahead(third) == [first, second]  # the running one counts as ahead
    assert not queue.is_next(second)  # one slot on the lane, and it is taken
    queue.leave(first)
    assert queue.is_next(second) and queue.position(third) == 2


def test_nobody_overtakes_the_first_in_line():
    queue = _queue(capacity=2)
    first = queue.enter("a", "cpu", "slow-to-load", Priority.INTERACTIVE)
    second = queue.enter("b", "cpu", "ready", Priority.INTERACTIVE)
    assert queue.is_next(first)
    assert not queue.is_next(second)  # even with a free slot: strict order within the lane


def test_the_cap_refuses_at_once_with_the_limit():
    queue = _queue(max_waiting=2)
    running = queue.enter("a", "cpu", "m", Priority.INTERACTIVE)
    queue.start(running)  # running requests do not count against the cap
    queue.enter("b", "cpu", "m", Priority.INTERACTIVE)
    queue.enter("c", "cpu", "m", Priority.BATCH)
    with pytest.raises(ServerBusy) as refused:
        queue.enter("d", "cpu", "m", Priority.INTERACTIVE)
    assert refused.value.key == "queue.full" and refused.value.params == {"limit": 2}


def test_one_person_may_have_only_so_many_requests_waiting():
    queue = FairQueue(16, lambda lane: 1, max_waiting_per_owner=2)
    queue.start(queue.enter("u:ann@example.com", "cpu", "m", Priority.INTERACTIVE))  # running: not waiting
    queue.enter("u:ann@example.com", "cpu", "m", Priority.INTERACTIVE)
    queue.enter("u:ann@example.com", "cpu", "m", Priority.INTERACTIVE)
    with pytest.raises(TooManyWaiting) as refused:
        queue.enter("u:ann@example.com", "cpu", "m", Priority.INTERACTIVE)
    assert refused.value.key == "queue.user_limit" and refused.value.params == {"count": 2}
    queue.enter("u:bob@example.com", "cpu", "m", Priority.INTERACTIVE)  # someone else is not held back
    queue.enter("u:ann@example.com", "cpu", "m", Priority.BATCH)  # a Lab run is not a waiting person


def test_interactive_requests_go_before_batch_work_that_waits():
    queue = _queue()
    running = queue.enter("lab", "cpu", "m", Priority.BATCH)
    queue.start(running)
    lab_next = queue.enter("lab", "cpu", "m", Priority.BATCH)
    person = queue.enter("person", "cpu", "m", Priority.INTERACTIVE)
    assert queue.position(person) == 1 and queue.position(lab_next) == 2
    assert queue.ahead(person) == [running]  # a running Lab page is not interrupted, only overtaken in line


def test_leaving_from_the_middle_moves_the_others_up_and_twice_is_harmless():
    queue = _queue()
    tickets = [queue.enter(owner, "cpu", "m", Priority.INTERACTIVE) for owner in "abcd"]
    queue.leave(tickets[1])
    queue.leave(tickets[1])
    assert [queue.position(t) for t in tickets] == [1, 0, 2, 3]
    assert queue.waiting == 3


def test_lanes_are_independent():
    queue = _queue()
    on_cpu = queue.enter("a", "cpu", "m", Priority.INTERACTIVE)
    queue.start(on_cpu)
    remote = queue.enter("b", "remote", "r", Priority.INTERACTIVE)
    assert queue.is_next(remote) and queue.ahead(remote) == []


def test_demand_is_the_earliest_waiting_request_for_a_model():
    queue = _queue()
    queue.enter("a", "cpu", "x", Priority.BATCH)
    urgent = queue.enter("b", "cpu", "x", Priority.INTERACTIVE)
    assert queue.first_demand("x") == urgent.order
    assert queue.first_demand("y") is None
