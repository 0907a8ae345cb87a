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
* ratio = engine time / book-only time; peak RSS of the process is reported (it includes
  the recorded flow, ~1 GB of tuples in the full run, recorded after the engine runs).
* floor: the same calls through a bare book plus one packed log row and an owner map per
  order (``replay_book_logged``) -- no accounts, risk, makers or set-up.  Its ratio to the
  book alone is what logging every order costs by itself.
The bars are >= 300k events/s and a ratio <= 2 (blocked: the floor alone takes 1.6-1.8x;
figures and history in docs/performance.md).  The test asserts a regression guard (ratio
<= 5) and records every figure in ``extra_info``; the absolute speed is never asserted (it
is a property of the machine).
"""
from __future__ import annotations

import resource
import time
from fractions import Fraction

import pytest

import engine
from engine.scenarios.scenario import load
from engine.simulation import Simulation
from engine.venue.events import ORDER_ROW, EventKind
from orderbook import OrderBook

_ACCEPTED = int(EventKind.ORDER_ACCEPTED)
_CANCELLED = int(EventKind.ORDER_CANCELLED)

ISSUE_BAR = 2.0        # the issue's bar for engine / book-only: NOT met (see the docstring)
REGRESSION_GUARD = 5.0 # what this benchmark asserts: measured 2.76 (reduced), 3.15-3.35 (full)
REDUCED = dict(scale=Fraction(1, 10), overrides=["scenario.duration_s=120",
                                                   "scenario.event_start_s=40",
                                                   'index.path=[[0, "100000"], [40, "100000"], '
                                                   '[100, "94000"], [120, "95000"]]',
                                                   "flows.0.window=[40, 100]"])
FULL = dict(scale=Fraction(1), overrides=[])


def recorded_flow(scale, overrides, seed=1):
    sim = Simulation(load("bench-cascade", overrides, scale), seed=seed)
    sim.exchange.flow_recorder = flow = []
    sim.run()
    return flow, len(sim.log)


def replay_book(flow) -> float:
    """Replay the recorded calls through bare books; return seconds."""
    books = [OrderBook()]
    t0 = time.perf_counter()
    for call in flow:
        if len(call) == 2:
            books[call[0]].cancel(call[1])
        else:
            inst, oid, acct, side, price, qty, tif, ot, po, ro, stp = call
            books[inst].submit(oid, acct, side, price, qty, tif, ot, po, ro, stp)
    return time.perf_counter() - t0


def replay_book_logged(flow) -> float:
    """Replay the recorded calls through bare books, adding only what any exchange must
    add to each order -- one packed log row (``ORDER_ROW``) and an owner map of the resting
    orders (set on rest, popped on cancel) -- and nothing else: no accounts, no risk, no
    market makers, no set-up.  Return seconds.  Its ratio to ``replay_book`` is a floor
    for the engine's: what the issue's "<= 2x the book alone" leaves for everything else."""
    books = [OrderBook()]
    pack = ORDER_ROW.pack
    buf = bytearray()
    owners = {}
    t0 = time.perf_counter()
    for call in flow:
        if len(call) == 2:
            inst, oid = call
            owner = owners.pop(oid, None)
            qty = books[inst].cancel(oid)
            if owner is not None:
                buf += pack(0, _CANCELLED, owner[2], inst, owner[0], oid, owner[3], qty)
        else:
            inst, oid, acct, side, price, qty, tif, ot, po, ro, stp = call
            r = books[inst].submit(oid, acct, side, price, qty, tif, ot, po, ro, stp)
            if r[4]:
                owners[oid] = (acct, inst, side, price)
            buf += pack(0, _ACCEPTED, side, inst, acct, oid, price or 0, qty)
    return time.perf_counter() - t0


def measure(scale, overrides, repeats=3):
    """Best of ``repeats`` for the engine, then for the book alone.  The engine runs
    first, before the flow is recorded: the recorded calls are ~1 GB of tuples in the full
    run, and timing the engine beside them measured ~1 s (~8%) slower than the same run in
    a fresh process -- a cost of this harness, not of the engine."""
    engine_s, book_s, events = [], [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        r = engine.run("bench-cascade", seed=1, scale=scale, overrides=overrides)
        engine_s.append(time.perf_counter() - t0)
        events = r.summary["events_processed"]
        del r
    flow, n_events = recorded_flow(scale, overrides)
    assert events == n_events, "the recorded run and the timed run differ"
    floor_s = []
    for _ in range(repeats):
        book_s.append(replay_book(flow))
        floor_s.append(replay_book_logged(flow))
    return min(engine_s), min(book_s), min(floor_s), events, len(flow)


def _bench(benchmark, cfg, min_events):
    engine_s, book_s, floor_s, events, calls = measure(cfg["scale"], cfg["overrides"])
    ratio = engine_s / book_s
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    info = {"events": events, "book_calls": calls, "engine_s": round(engine_s, 3),
            "book_only_s": round(book_s, 3), "events_per_s": round(events / engine_s),
            "ratio_engine_over_book": round(ratio, 3),
            "book_logged_s": round(floor_s, 3),
            "ratio_book_logged_over_book": round(floor_s / book_s, 3),
            "peak_rss_mb": round(peak_mb)}
    benchmark.extra_info.update(info)
    print(f"\nbench-cascade: {events:,} events in {engine_s:.2f} s = "
          f"{events / engine_s:,.0f} events/s; book alone on the same {calls:,} calls "
          f"{book_s:.2f} s; ratio {ratio:.2f} (issue bar <= {ISSUE_BAR}; "
          f"guard <= {REGRESSION_GUARD}); the book plus one log row and an owner map per "
          f"order (a floor) {floor_s:.2f} s = {floor_s / book_s:.2f}x; "
          f"peak RSS {peak_mb:,.0f} MB")
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    assert events >= min_events
    assert ratio <= REGRESSION_GUARD


@pytest.mark.benchmark(group="simulation")
def test_engine_cost_over_the_book_alone_stays_within_the_guard_on_a_reduced_cascade(benchmark):
    _bench(benchmark, REDUCED, 200_000)


@pytest.mark.slow
@pytest.mark.benchmark(group="simulation")
def test_engine_cost_over_the_book_alone_on_a_5m_event_cascade(benchmark):
    _bench(benchmark, FULL, 5_000_000)
