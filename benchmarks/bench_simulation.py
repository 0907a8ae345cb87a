"""Whole-replay throughput (group ``simulation``): the engine end to end against the book
alone on the same order flow, measured in the same run.

Scenario: ``replays/bench-cascade.toml`` (100k traders; makers re-quoting every 100 ms;
a 10% fall with a sell program).  The full run (``-m slow``) has over 5M events; the
default run uses a reduced version (scale 0.1, 120 s) with the same mix.

* engine: ``engine.run`` wall time -- setup, the loop, the time series and the summary;
  events/s = events in the log / that time.  The result's ``events`` Arrow table is built
  lazily on first read (``RunResult``), so it is not in this time; the numpy log is.
* book only: the exact sequence of ``submit``/``cancel`` calls that reached the book
  (recorded by ``Exchange.flow_recorder`` in a separate, untimed run of the same seed)
  replayed through a fresh ``OrderBook``.
* ratio = engine time / book-only time; peak RSS of the engine's process is reported (the
  engine runs in a fresh process, away from the recorded flow's ~1 GB of tuples).
* floor: the same calls through a bare book plus one packed log row and an owner map per
  order (``floor_loop``) -- no accounts, risk, makers or set-up.  Its ratio to the
  book alone is what logging every order costs by itself.
The measurement is ``engine.sweeps.bench.engine_vs_book`` (also behind ``liqsim bench``;
CPU seconds, one engine run per repeat interleaved with the book and floor replays).
The bars are >= 300k events/s and the engine within 1.3x of the floor (issue 17; the
earlier "<= 2x the book" was blocked: the floor alone takes 1.6-1.8x; figures and history
in docs/performance.md).  The test asserts a regression guard (ratio
<= 5) and records every figure in ``extra_info``; the absolute speed is never asserted (it
is a property of the machine).
"""
from __future__ import annotations

import pytest

from engine.sweeps.bench import FULL, REDUCED, engine_vs_book

FLOOR_BAR = 1.3        # issue 17: engine within 1.3x of the logged floor (see docs/performance.md)
REGRESSION_GUARD = 5.0 # what this benchmark asserts: measured 2.76 (reduced), 3.15-3.35 (full)


def _bench(benchmark, cfg, min_events):
    m = engine_vs_book(cfg, 3)
    benchmark.extra_info.update(m)
    print(f"\nbench-cascade: {m['engine_events']:,} events, {m['engine_events_per_second']:,} "
          f"events/s; engine / book alone {m['engine_vs_book']:.2f} "
          f"({m['engine_vs_book_runs']}; guard <= {REGRESSION_GUARD}); floor / book "
          f"{m['floor_vs_book']:.2f}; engine / floor {m['engine_vs_floor']:.2f} "
          f"({m['engine_vs_floor_runs']}; bar <= {FLOOR_BAR}); engine peak RSS "
          f"{m['peak_rss_mb']:,} MB")
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    assert m["engine_events"] >= min_events
    assert m["engine_vs_book"] <= REGRESSION_GUARD


@pytest.mark.benchmark(group="simulation")
def test_engine_cost_over_the_book_alone_stays_within_the_guard_on_a_reduced_cascade(benchmark):
    _bench(benchmark, REDUCED, 200_000)


@pytest.mark.slow
@pytest.mark.benchmark(group="simulation")
def test_engine_cost_over_the_book_alone_on_a_5m_event_cascade(benchmark):
    _bench(benchmark, FULL, 5_000_000)
