"""The one place that reads the wall clock: timing a run for the summary's
``wall_seconds`` / ``events_per_second``.  Nothing here feeds the event log or any
simulated quantity (tests/test_architecture.py allows the clock only in this module and
the CLI)."""
from __future__ import annotations

import time


def stopwatch():
    """Return a function giving seconds elapsed since this call."""
    start = time.perf_counter()
    return lambda: time.perf_counter() - start
