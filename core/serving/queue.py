"""Who generates next: one line per lane (a device, later a remote server), interactive work first.

Within a lane, tickets run strictly in order of (priority, arrival): the first waiting ticket starts
when a slot is free and its model is loaded, and nobody overtakes it. The queue is plain data with no
lock of its own; :class:`core.serving.core.ServingCore` calls it under the one serving lock.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum

from core.engines.types import ServerBusy, TooManyWaiting


class Priority(IntEnum):
    INTERACTIVE = 0  # a person is waiting for the answer
    BATCH = 1  # Lab work: yields to interactive requests between pages


@dataclass(eq=False)
class Ticket:
    owner: str  # a browser session, or a Lab run
    lane: str
    model_id: str
    priority: Priority
    sequence: int
    running: bool = False

    @property
    def order(self) -> tuple[int, int]:
        return (int(self.priority), self.sequence)


@dataclass
class FairQueue:
    max_waiting: int
    capacity: Callable[[str], int]  # generations a lane runs at once
    max_waiting_per_owner: int | None = None  # one person's interactive requests waiting at once
    _waiting: list[Ticket] = field(default_factory=list)  # kept sorted by ``order``
    _running: list[Ticket] = field(default_factory=list)
    _counter: itertools.count = field(default_factory=itertools.count)

    def enter(self, owner: str, lane: str, model_id: str, priority: Priority) -> Ticket:
        """A place in line; :class:`ServerBusy` at once when ``max_waiting`` requests already wait."""
        if len(self._waiting) >= self.max_waiting:
            raise ServerBusy(f"{len(self._waiting)} requests are waiting", limit=self.max_waiting)
        if priority is Priority.INTERACTIVE and self.max_waiting_per_owner is not None:
            own = sum(1 for ticket in self._waiting if ticket.owner == owner and ticket.priority is priority)
            if own >= self.max_waiting_per_owner:
                raise TooManyWaiting(f"{own} of this person's requests are waiting", count=own)
        ticket = Ticket(owner, lane, model_id, priority, next(self._counter))
        bisect.insort(self._waiting, ticket, key=lambda t: t.order)
        return ticket

    def _lane(self, tickets: list[Ticket], lane: str) -> list[Ticket]:
        return [ticket for ticket in tickets if ticket.lane == lane]

    def is_next(self, ticket: Ticket) -> bool:
        """Whether ``ticket`` may start now: first of its lane, with a free slot."""
        if ticket.running or ticket not in self._waiting:
            return False
        lane = self._lane(self._waiting, ticket.lane)
        return lane[0] is ticket and len(self._lane(self._running, ticket.lane)) < self.capacity(ticket.lane)

    def start(self, ticket: Ticket) -> None:
        self._waiting.remove(ticket)
        ticket.running = True
        self._running.append(ticket)

    def leave(self, ticket: Ticket) -> None:
        """Done, stopped or given up: free the place wherever it is. Leaving twice is harmless."""
        if ticket in self._waiting:
            self._waiting.remove(ticket)
        if ticket in self._running:
            self._running.remove(ticket)
        ticket.running = False

    def position(self, ticket: Ticket) -> int:
        """1 for the next to start in its lane, 2 for the one after...; 0 once running or gone."""
        lane = self._lane(self._waiting, ticket.lane)
        return lane.index(ticket) + 1 if ticket in lane else 0

    def ahead(self, ticket: Ticket) -> list[Ticket]:
        """Tickets that go before ``ticket``: those running in its lane, then those waiting before it."""
        waiting = self._lane(self._waiting, ticket.lane)
        before = waiting[: waiting.index(ticket)] if ticket in waiting else []
        return [*self._lane(self._running, ticket.lane), *before]

    def first_demand(self, model_id: str) -> tuple[int, int] | None:
        """The order of the earliest waiting ticket for ``model_id``: how urgently its weights are needed."""
        return next((t.order for t in self._waiting if t.model_id == model_id), None)

    def running_on(self, model_id: str) -> int:
        return sum(1 for ticket in self._running if ticket.model_id == model_id)

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    @property
    def running(self) -> int:
        return len(self._running)
