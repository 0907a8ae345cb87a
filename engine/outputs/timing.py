"""The one place that reads the wall clock: timing a run for the summary's
``wall_seconds`` / ``events_per_second``, and the measurements of ``liqsim bench``
(``engine.sweeps.bench``).  Nothing here feeds the event log or any simulated quantity
(tests/test_architecture.py allows the clock only in this module and the CLI)."""
from __future__ import annotations

import gc
import resource
import sys
import time


def stopwatch():
    """Return a function giving seconds elapsed since this call."""
    start = time.perf_counter()
    return lambda: time.perf_counter() - start


def cpu_stopwatch():
    """Return a function giving the CPU seconds this process used since this call
    (``process_time``: another process sharing the cores does not count against it)."""
    start = time.process_time()
    return lambda: time.process_time() - start


def cpu_timed(fn, *args):
    """``(CPU seconds of fn(*args), its result)``.  The objects alive before the call are
    frozen out of the cyclic collector's reach (``gc.freeze``) for its length: a harness's
    earlier survivors would otherwise make every collection the call triggers traverse them
    too (inside a test suite this weighed on the book's tuple-heavy path more than on the
    plain reference's: 1.147 against 1.18-1.19 alone, same code)."""
    gc.collect()
    gc.freeze()
    try:
        elapsed = cpu_stopwatch()
        result = fn(*args)
        return elapsed(), result
    finally:
        gc.unfreeze()


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MB (``ru_maxrss``: KiB on Linux,
    bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)
