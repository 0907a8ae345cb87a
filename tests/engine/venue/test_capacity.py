"""The venue's capacity (engine.venue.capacity): the matching engine's FIFO queue at
``messages_per_s``, the liquidation engine's per-second budget, the stale-mark rule, their
time-series columns and summary keys, and the loop with a limit (conservation, determinism)
and without one (nothing changes)."""
from __future__ import annotations

import pathlib

import heapq
from fractions import Fraction

import numpy as np
import pytest

import engine
from engine.liquidation import state
from engine.liquidation.waterfalls import run_liquidations
from engine.phases import SECOND
from engine.scenarios.scenario import load
from engine.simulation import Simulation
from engine.venue.capacity import LiquidationEngine, MatchingQueue, VenueCapacity
from engine.venue.events import EventKind, EventLog

#: The controlled gap (tests/data/gap-drop.toml): five identical makers, no capacity.
GAP_DROP = str(pathlib.Path(__file__).resolve().parents[2] / "data" / "gap-drop.toml")

MS = 1_000_000
K = EventKind
SMALL = Fraction(1, 50)      # 2,000 traders; a stop burst of ~150 messages at t = 90 s
MAKER = 900


class Loop:
    """A minimal loop for the queue: a heap of (ts, seq, fn), run in order."""

    def __init__(self):
        self.heap, self.seq, self.now = [], 0, 0

    def schedule(self, ts, fn):
        assert ts >= self.now
        self.seq += 1
        heapq.heappush(self.heap, (ts, self.seq, fn))

    def run(self):
        while self.heap:
            ts, _, fn = heapq.heappop(self.heap)
            self.now = ts
            fn(ts)


def _queue(rate):
    loop, log = Loop(), EventLog()
    return loop, log, MatchingQueue(rate, loop.schedule, log)


def _send(loop, queue, applied, arrivals):
    """Messages named 0, 1, ... arriving at ``arrivals`` (ns); ``applied`` gets (name, ts)."""
    for name, at in enumerate(arrivals):
        loop.schedule(at, lambda t, q=queue, fn=lambda t2, n=name: applied.append((n, t2)):
                      q.arrive(fn, t))


def _kinds(log, kind):
    return [r for r in log.rows() if r[2] == kind]


# ------------------------------------------------------------------ matching engine
def test_below_the_capacity_every_message_is_applied_at_its_arrival():
    loop, log, queue = _queue(10)                  # one message per 100 ms
    applied = []
    arrivals = [0, 100 * MS, 250 * MS, 350 * MS, 900 * MS]
    _send(loop, queue, applied, arrivals)
    loop.run()
    assert applied == list(enumerate(arrivals))
    assert len(log) == 0                           # no queue: no row
    assert queue.sample(SECOND) == (0, 0)


def test_above_the_capacity_each_message_waits_for_the_one_before_first_in_first_out():
    """Rate 10/s: a message arriving at t is applied at max(t, when the one before
    finished); the engine is then busy for 100 ms."""
    loop, log, queue = _queue(10)
    applied = []
    arrivals = [0, 0, 0, 50 * MS, 120 * MS, 500 * MS, 800 * MS]
    _send(loop, queue, applied, arrivals)
    loop.run()
    expect = [0, 100, 200, 300, 400, 500, 800]
    assert applied == [(n, t * MS) for n, t in enumerate(expect)]
    (formed,), (cleared,) = _kinds(log, K.MATCHING_QUEUE_FORMED), \
        _kinds(log, K.MATCHING_QUEUE_CLEARED)
    assert formed[0] == 0 and cleared[0] == 400 * MS       # the episode: 0 .. 400 ms
    assert cleared[10] == 3                                  # three waited together at most
    assert cleared[11] == 400 * MS - 120 * MS               # the longest wait, ns
    assert queue.sample(SECOND) == (0, 280)                 # longest wait served, ms


def test_a_message_arriving_during_a_service_waits_even_with_nobody_queued():
    loop, log, queue = _queue(4)                   # 250 ms per message
    applied = []
    _send(loop, queue, applied, [0, 10 * MS])
    loop.run()
    assert applied == [(0, 0), (1, 250 * MS)]


def test_the_service_time_is_rounded_up_so_the_capacity_is_never_overstated():
    assert MatchingQueue(3, None, None).service_ns == 333_333_334
    assert MatchingQueue(1, None, None).service_ns == SECOND
    with pytest.raises(ValueError, match="messages_per_s"):
        MatchingQueue(0, None, None)


def test_the_venues_own_orders_hold_the_engine_and_the_waiting_messages_go_after_them():
    loop, log, queue = _queue(10)
    applied = []
    _send(loop, queue, applied, [0, 0])
    loop.schedule(50 * MS, lambda t: queue.occupy(t, 3))    # 3 liquidation orders at 50 ms
    loop.run()
    # The first message holds the engine to 100 ms; the orders at 50 ms take it on to
    # 400 ms (they are applied at once, ahead of the queue); the second message follows.
    assert applied == [(0, 0), (1, 400 * MS)]


def test_the_backlog_is_the_wait_a_message_arriving_now_would_have():
    loop, log, queue = _queue(10)
    assert queue.backlog_ns(0) == 0
    for _ in range(4):
        queue.arrive(lambda t: None, 0)           # one applied, three waiting
    assert queue.backlog_ns(0) == 400 * MS
    assert queue.backlog_ns(50 * MS) == 350 * MS


def test_a_sample_counts_the_messages_that_arrived_before_it_and_are_still_waiting():
    loop, log, queue = _queue(10)
    for at in (0, 0, 0, 200 * MS, 200 * MS):
        loop.now = at
        queue.arrive(lambda t: None, at)
    # At 200 ms: message 0 ran at 0, message 1 is due at 100 ms (not served: the loop has
    # not run), 2, 3, 4 wait; the two that arrived at 200 ms itself are left out.
    assert queue.sample(200 * MS) == (2, 0)
    assert queue.sample(201 * MS) == (4, 0)


# ------------------------------------------------------------------ liquidation engine
def _exchange_with_units(eng, n):
    """``n`` isolated longs of 10 lots at 100,000, account k with 50 + k quote of margin:
    the thinnest is the deepest (listed first), so the listing is 1, 2, ... n."""
    ex = eng.exchange("binance", fund=10**6 * eng.Q)
    ex.open_account(0, MAKER, deposit=10**9 * eng.Q)
    for k in range(1, n + 1):
        ex.open_account(0, k, deposit=(50 + k) * eng.Q)
        ex.transfer_position(0, k, MAKER, 0, 10, eng.MARK, isolated_margin=((50 + k) * eng.Q, 0))
    return ex


def _called(eng, ex, since):
    return [r.account for r in eng.rows(ex, K.MARGIN_CALL, since)]


def test_liquidations_beyond_the_budget_wait_for_the_next_second_in_the_listing_order(eng):
    ex = _exchange_with_units(eng, 5)
    budget = state.of(ex).capacity = LiquidationEngine(2)
    ex.set_mark(SECOND, 0, 90_000)                 # all five deficient
    assert ex.liquidatable(0) == [(k, 0) for k in range(1, 6)]
    start = len(ex.log)
    assert run_liquidations(ex, SECOND, 0) == 2
    assert _called(eng, ex, start) == [1, 2] and budget.waiting == 3
    eng.check_all(ex)
    mid = len(ex.log)
    assert run_liquidations(ex, SECOND + 500 * MS, 0) == 0     # same second: spent
    assert _called(eng, ex, mid) == [] and budget.waiting == 3
    assert run_liquidations(ex, 2 * SECOND, 0) == 2
    assert run_liquidations(ex, 3 * SECOND, 0) == 1
    assert _called(eng, ex, start) == [1, 2, 3, 4, 5] and budget.waiting == 0
    eng.check_all(ex)


def test_a_waiting_unit_that_recovers_leaves_the_queue_without_a_waterfall(eng):
    ex = _exchange_with_units(eng, 3)
    state.of(ex).capacity = LiquidationEngine(1)
    ex.set_mark(SECOND, 0, 90_000)
    start = len(ex.log)
    run_liquidations(ex, SECOND, 0)
    ex.deposit(SECOND, 2, 10**6 * eng.Q, inst=0)   # unit 2 tops up while it waits
    run_liquidations(ex, 2 * SECOND, 0)
    assert _called(eng, ex, start) == [1, 3]       # 2 left the queue; 3 took its turn
    eng.check_all(ex)


def test_without_a_budget_every_listed_unit_starts_at_once(eng):
    ex = _exchange_with_units(eng, 4)
    state.of(ex).capacity = LiquidationEngine(0)
    ex.set_mark(SECOND, 0, 90_000)
    assert run_liquidations(ex, SECOND, 0) == 4


def test_each_liquidation_order_holds_the_matching_engine_for_one_service_time(eng):
    ex = _exchange_with_units(eng, 3)
    matching = MatchingQueue(10, lambda ts, fn: None, ex.log)
    state.of(ex).capacity = LiquidationEngine(0, matching)
    ex.set_mark(SECOND, 0, 90_000)
    run_liquidations(ex, SECOND, 0)
    orders = len(eng.rows(ex, K.LIQUIDATION_ORDER))
    assert orders == 3 and matching.free == SECOND + 3 * 100 * MS


def test_the_mark_is_stale_only_while_the_backlog_exceeds_the_threshold():
    loop = Loop()
    cap = VenueCapacity(10, 0, 250, loop.schedule, EventLog())
    cap.matching.occupy(0, 3)                      # busy until 300 ms
    assert cap.mark_stale(0) and cap.mark_stale(49 * MS)
    assert not cap.mark_stale(50 * MS)             # 250 ms left: not more than 250
    assert not VenueCapacity(10, 0, None, loop.schedule, EventLog()).mark_stale(0)


# ------------------------------------------------------------------ the loop
def _sim(overrides, scale=SMALL, seed=3, cls=Simulation):
    return cls(load(GAP_DROP, list(overrides), scale), seed=seed)


def test_a_capacity_table_of_zeros_changes_nothing_in_the_log():
    plain = _sim([]).run()
    zeros = _sim(["capacity.messages_per_s=0", "capacity.liquidations_per_s=0"]).run()
    assert zeros.capacity is None and "send" not in vars(zeros)     # send as it always was
    assert plain.log.digest() == zeros.log.digest()


def test_conservation_holds_after_every_step_with_both_limits(eng):
    sim = _sim(["capacity.messages_per_s=2000", "capacity.liquidations_per_s=500",
                "capacity.stale_mark_after_ms=500"], cls=eng.CheckedSimulation).run()
    kinds = set(sim.log.kinds())
    assert K.MATCHING_QUEUE_FORMED in kinds and K.LIQUIDATION_ORDER in kinds


def test_the_same_seed_with_a_capacity_gives_a_byte_identical_log():
    over = ["capacity.messages_per_s=2000", "capacity.liquidations_per_s=500"]
    a, b = _sim(over).run(), _sim(over).run()
    assert a.log.to_array().tobytes() == b.log.to_array().tobytes()
    assert a.log.digest() != _sim([]).run().log.digest()        # the limit did something


def test_no_more_waterfalls_start_in_a_second_than_the_budget():
    sim = _sim(["capacity.liquidations_per_s=500"]).run()      # 10 per second at 1/50
    assert sim.scenario.capacity.liquidations_per_s == 10
    log = sim.log.to_array()
    calls = log[log["kind"] == K.MARGIN_CALL]
    per_second = np.bincount(calls["ts"] // SECOND)
    assert per_second.max() == 10
    unlimited = _sim([]).run().log.to_array()
    plain = unlimited[unlimited["kind"] == K.MARGIN_CALL]
    assert np.bincount(plain["ts"] // SECOND).max() > 10        # the budget did bind


def test_queue_columns_and_summary_keys_report_the_queues():
    over = ["capacity.messages_per_s=2000", "capacity.liquidations_per_s=500"]
    r = engine.run(GAP_DROP, seed=3, scale=SMALL, overrides=over)
    col = {n: r.timeseries.column(n).to_numpy() for n in
           ("queue_len", "queue_wait_ms", "liq_queue_len")}
    s = r.summary
    assert col["queue_len"].max() > 0 and col["queue_wait_ms"].max() > 0
    assert col["liq_queue_len"].max() > 0
    assert s["max_queue_len"] == col["queue_len"].max()
    assert s["max_queue_wait_ms"] == col["queue_wait_ms"].max()
    assert s["max_liq_queue_len"] == col["liq_queue_len"].max()
    assert s["queue_overloaded_seconds"] == np.count_nonzero(col["queue_len"]) > 0
    log = r.events_array
    formed = log["ts"][log["kind"] == K.MATCHING_QUEUE_FORMED]
    cleared = log["ts"][log["kind"] == K.MATCHING_QUEUE_CLEARED]
    assert len(formed) - len(cleared) in (0, 1)              # the last may be open at the end
    n = len(cleared)
    assert (formed[:n] <= cleared).all() and (cleared[:-1] <= formed[1:n]).all()
    quiet = engine.run(GAP_DROP, seed=3, scale=SMALL)
    assert all(not quiet.timeseries.column(n).to_numpy().any() for n in col)
    assert (quiet.summary["max_queue_len"], quiet.summary["queue_overloaded_seconds"]) == (0, 0)


class SendWatch(Simulation):
    """Records every participant message: (number, sent at) when sent, (number, applied
    at) when the venue applies it."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.sent, self.applied = [], []

    def _send_queued(self, ts, fn):
        n = len(self.sent)
        self.sent.append((n, ts))

        def wrapped(t, fn=fn, n=n):
            self.applied.append((n, t))
            fn(t)
        super()._send_queued(ts, wrapped)


def test_participants_messages_are_applied_first_in_first_out_one_service_time_apart():
    """At 50 messages/s (2,000 at 1/50, the makers' own 10/s kept whole; 20 ms each) with
    a 30 ms order latency: every
    message is applied in the order it was sent, no earlier than its arrival, and at least
    one service time after the message before; the stop burst waits well past arrival."""
    sim = _sim(["capacity.messages_per_s=2000", "frictions.order_latency_ms=30"],
               cls=SendWatch).run()
    assert sim.scenario.capacity.messages_per_s == 50
    sent = dict(sim.sent)
    order = [n for n, _ in sim.applied]
    assert order == sorted(order) and len(order) > 1000
    times = [t for _, t in sim.applied]
    assert all(t >= sent[n] + 30 * MS for n, t in sim.applied)
    assert all(b - a >= 20 * MS for a, b in zip(times, times[1:]))
    waits = [t - sent[n] - 30 * MS for n, t in sim.applied]
    assert max(waits) > SECOND and waits.count(0) > len(waits) // 10


class MarkWatch(Simulation):
    """Records, at each mark step, the backlog and whether a mark row was written."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.steps = []

    def _mark_step(self, ts):
        n = len(self.log)
        backlog = self.capacity.matching.backlog_ns(ts)
        super()._mark_step(ts)
        self.steps.append((ts, backlog, len(self.log) > n, self.index_ticks,
                           self.exchange.marks[0]))


def test_marks_go_stale_while_the_backlog_exceeds_the_threshold_and_resume_after():
    sim = _sim(["capacity.messages_per_s=2000", "capacity.stale_mark_after_ms=500"],
               cls=MarkWatch).run()
    stale = [s for s in sim.steps if s[1] > 500 * MS]
    fresh = [s for s in sim.steps if s[1] <= 500 * MS and s[0] > 60 * SECOND]
    assert len(stale) > 10 and not any(published for _, _, published, _, _ in stale)
    assert len({mark for *_, mark in stale}) < len({index for *_, index, _ in stale})
    assert any(published for _, _, published, _, _ in fresh)
    assert stale[-1][0] < fresh[-1][0]                       # published again after


# ------------------------------------------------------------------ the scenario table
@pytest.mark.parametrize("key,value,match", [
    ("messages_per_s", -1, "capacity.messages_per_s"),
    ("messages_per_s", 1.5, "capacity.messages_per_s"),
    ("liquidations_per_s", "10", "capacity.liquidations_per_s"),
    ("liquidations_per_s", True, "capacity.liquidations_per_s"),
    ("stale_mark_after_ms", -5, "capacity.stale_mark_after_ms"),
    ("burst", 3, "capacity.burst: unknown key"),
])
def test_bad_capacity_values_are_one_line_errors_naming_the_field(key, value, match):
    from engine.config import ConfigError
    with pytest.raises(ConfigError, match=match) as exc:
        load(GAP_DROP, [f"capacity.{key}={value!r}".replace("True", "true")])
    # the value comes from a --set: the message names it, not the file
    assert "\n" not in str(exc.value) and str(exc.value).startswith(f"--set capacity.{key}: ")


def test_a_stale_mark_threshold_needs_a_message_rate():
    from engine.config import ConfigError
    with pytest.raises(ConfigError, match="stale_mark_after_ms: needs capacity.messages_per_s"):
        load(GAP_DROP, ["capacity.stale_mark_after_ms=100"])


def test_scale_shrinks_the_rates_rounded_up_and_never_to_unlimited():
    sc = load(GAP_DROP, ["capacity.messages_per_s=2001", "capacity.liquidations_per_s=3"],
              Fraction(1, 50))
    # the five makers' nominal load (one message a 500 ms refresh each: 10/s) stays whole:
    # 10 + (2001 - 10) / 50 = 49.82 -> 50
    assert (sc.capacity.messages_per_s, sc.capacity.liquidations_per_s) == (50, 1)
    assert load(GAP_DROP, [], Fraction(1, 50)).capacity.messages_per_s == 0
    assert sc.resolved()["capacity"] == {"messages_per_s": 50, "liquidations_per_s": 1}
    assert "capacity" not in load(GAP_DROP).resolved()


def test_the_run_opens_with_the_makers_ladders_in_place_whatever_the_capacity():
    """The opening instant is a state, not a burst: at t = 0 every maker's ladder is in the
    book with or without a message limit (else the first sample reads a vacuum)."""
    def opening(sim):
        return sum(1 for r in sim.log.rows(EventKind.ORDER_ACCEPTED) if r[0] == 0)
    plain = _sim([])
    plain.end_ns = 0
    limited = _sim(["capacity.messages_per_s=20"])
    limited.end_ns = 0
    assert opening(limited.run()) == opening(plain.run()) > 0
