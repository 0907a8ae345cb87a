"""The fixed phases of one timestamp, in the order they run (see ``engine.simulation``).

Kept apart from the Simulation so that participants and breaker policies can schedule work
in a phase without importing the loop."""
from __future__ import annotations

from enum import IntEnum


SECOND = 1_000_000_000      # one second of simulated time, in the loop's nanoseconds


class Phase(IntEnum):
    INPUT = 0
    BREAKERS = 1
    MARK = 2
    RISK = 3
    SAMPLE = 4
