"""The vocabulary of "when": the fixed phases of one timestamp, in the order they run (see
``engine.simulation``), one second in nanoseconds, and the ``Port`` -- the small written
interface through which breaker policies and participants act on the loop.

Kept apart from the Simulation so that participants and policies can schedule work in a
phase without importing the loop; it imports nothing of the project.
"""
from __future__ import annotations

from enum import IntEnum
from typing import Protocol

SECOND = 1_000_000_000      # one second of simulated time, in the loop's nanoseconds


class Phase(IntEnum):
    INPUT = 0
    BREAKERS = 1
    MARK = 2
    RISK = 3
    SAMPLE = 4


class Port(Protocol):
    """What a policy or a participant may use of the run (``engine.simulation.Simulation``
    is one; the breaker tests use a small stand-in).

    ``exchange``      the venue: its public calls, its status (``halted``, ``down``,
                      ``halt``), its books, marks and event log
    ``instrument``    the run's instrument (index 0 of the exchange)
    ``rng``           the run's ``numpy.random.Generator`` (draws in a stated order)
    ``now``           the current time, ns
    ``index_ticks``   the index price at ``now``, ticks
    ``schedule``      queue ``fn(ts)`` at ``ts`` in ``phase`` (not in the past)
    ``send``          a participant's message decided at ``ts``: it reaches the venue
                      after the order latency, or its own ``latency_ns``
                      (``fn(arrival ts)``), and with a ``[capacity]`` after its turn in
                      the matching engine's queue
    ``reopen``        end a halt: the Exchange's reopening auction, then a fresh mark
    """

    exchange: object
    instrument: object
    rng: object
    now: int
    index_ticks: int

    def schedule(self, ts: int, phase: int, fn) -> None: ...

    def send(self, ts: int, fn, latency_ns: int | None = None) -> None: ...

    def reopen(self, ts: int, reference: int | None, code: int): ...
