"""The closed loop: one ``Simulation`` owns time, ordering, randomness and ids.

Time is ``int`` nanoseconds.  Work is a heap of ``(ts, phase, seq, fn)``: earlier time
first, then the phase, then arrival order (``seq`` from a counter on the instance), so
equal timestamps are ordered by an explicit rule.  The one ``numpy.random.Generator`` is
built from the seed and passed to whatever draws; every id counter lives on the instance
or its exchange.  Same seed + same scenario = byte-identical event log.

Phases within one timestamp (``Phase``):
  INPUT     index/oracle update, market makers' quotes, flows, shocks, fund offload
  BREAKERS  circuit-breaker evaluation (``engine.breakers``; ``none`` does nothing)
  MARK      the mark policy observes index, best bid/ask and last; the mark is set
  RISK      the cascade: margin check -> top-ups -> liquidation waterfalls (their orders
            go through the same book) -> stop orders triggered by the new prices -> the
            mark is recomputed from the new book at the same timestamp -> check again,
            until a round liquidates nobody and triggers no stop, or
            ``max_cascade_rounds`` rounds ran (the rest waits for the next step)
  SAMPLE    one-second price history for the makers' volatility rule; the time series
MARK and RISK run every ``step_ms``; SAMPLE every ``sample_interval_s``; flows and the
fund offload every second; makers every ``refresh_ms``.  Participants' orders (makers'
quotes and cancels, flows, triggered stops) reach the venue ``frictions.order_latency_ms``
after they were decided (``send``); the venue's own liquidation orders never wait.  With
a ``[capacity]`` the venue's matching and liquidation engines work at a rate and queue the
excess (``engine.venue.capacity``): ``send`` then goes through the matching engine's queue.
"""
from __future__ import annotations

import gc
import heapq
from contextlib import contextmanager
from functools import partial

import numpy as np

from .breakers import make_breaker
from .config import ConfigError
from .liquidation import state as liquidation_state
from .liquidation.offload import offload
from .liquidation.waterfalls import run_liquidations
from .market.index import IndexPath
from .market.makers import LadderMemo, MarketMaker, VolatilityWindow
from .market.programs import Programs, place_stubs
from .market.traders import Stops, TopUps, draw_traders
from .outputs.metrics import Sampler
from .phases import SECOND, Phase
from .venue.accounts import BASIS_ACCOUNT, FIRST_MAKER, FIRST_TRADER, FLOW_ACCOUNT, STUB_ACCOUNT
from .venue.capacity import VenueCapacity
from .venue.exchange import Exchange
from .venue.instruments import BUNDLED_INSTRUMENTS
from .venue.marks import make_mark_policy
from .venue.rounding import ceil_f


@contextmanager
def _cyclic_gc_paused():
    """Pause the cyclic garbage collector (and restore its state after).  Building a
    population of 100k accounts otherwise triggers full collections that traverse the
    growing population again and again (docs/performance.md).  Reference counting still
    frees everything acyclic meanwhile; nothing in the set-up depends on collection.

    It starts with one full collection: a finished ``Simulation`` is a reference cycle
    (makers and policies point back at it), and without it the previous run's garbage
    would survive the pause and be frozen with the population by ``run()``."""
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class Simulation:
    """A scenario replayed through one venue.  ``run()`` returns the ``Simulation`` itself;
    ``engine.run`` wraps it into a ``RunResult``.  The Simulation is the ``Port`` of its
    policies and participants (``engine.phases.Port``)."""

    def __init__(self, scenario, breaker: str | None = None, seed: int = 0):
        self.scenario = scenario
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        meta, venue = scenario.meta, scenario.venue
        overrides = {k: getattr(venue, k) for k in ("waterfall", "taker_fee_ppm",
                                                    "maker_fee_ppm", "clearance_fee_ppm")
                     if getattr(venue, k) is not None}
        self.instrument = instrument = BUNDLED_INSTRUMENTS[venue.instrument](**overrides)
        self.units = units = scenario.in_units(instrument)
        self.insurance_fund_start = units.insurance_fund
        self.exchange = Exchange([instrument], insurance_fund=self.insurance_fund_start,
                                 adl_ranking=venue.adl_ranking,
                                 fund_limit_ppm=units.fund_limit_ppm, rng=self.rng)
        self.log = self.exchange.log
        self.breaker = make_breaker(breaker, scenario)
        self.breaker_name = self.breaker.name
        self._heap: list = []
        self._seq = 0
        self.now = 0
        self.end_ns = meta.duration_s * SECOND
        self.step_ns = meta.step_ms * 1_000_000
        self.baseline_end_ns = meta.event_start_s * SECOND
        self.latency_ns = scenario.frictions.order_latency_ms * 1_000_000
        self.mark_policy = make_mark_policy(venue.mark_policy)
        # The index's random walk is the first draw of the run's Generator.
        self.index = IndexPath(scenario.index, scenario.shocks, instrument.tick_size,
                               meta.duration_s, self.rng)
        self.index_ticks = self.index.at(0)
        self.volatility = VolatilityWindow(self, scenario.makers.vol_source)
        self.sampler = Sampler(instrument)
        self.makers: list[MarketMaker] = []
        self.programs = Programs(self, scenario.flows, units.flow_notionals)
        self.stops = Stops(self, scenario.traders.stop_trigger)
        self.topups = TopUps(self.exchange, scenario.frictions.topup_blocked)
        self.capacity = None
        cap = scenario.capacity
        if cap.enabled:         # else nothing is built and ``send`` stays as it is
            self.capacity = VenueCapacity(cap.messages_per_s, cap.liquidations_per_s,
                                          cap.stale_mark_after_ms,
                                          lambda ts, fn: self.schedule(ts, Phase.INPUT, fn),
                                          self.log)
            liquidation_state.of(self.exchange).capacity = self.capacity.liquidation
            if self.capacity.matching is not None:
                self.send = self._send_queued
        with _cyclic_gc_paused():
            self._setup()
            self.exchange.refresh_index()       # index the population now, GC paused
        if self.breaker_name != "none":
            self.exchange.breaker = self.breaker
            self.breaker.bind(self)

    # ----------------------------------------------------------- scheduling
    def schedule(self, ts: int, phase: int, fn) -> None:
        """Queue ``fn(ts)``; scheduling in the past is an error."""
        if ts < self.now:
            raise ValueError(f"cannot schedule at {ts} before now ({self.now})")
        self._seq += 1
        heapq.heappush(self._heap, (ts, phase, self._seq, fn))

    def send(self, ts: int, fn) -> None:
        """A participant's message decided at ``ts``: it reaches the venue (``fn`` runs)
        after the scenario's ``frictions.order_latency_ms``, as an INPUT at that time; at
        once without latency.  Everything ``fn`` uses was decided at ``ts`` (prices, sizes);
        the venue applies its own rules (reduce-only, breakers, the book) on arrival.
        Liquidation orders are the venue's own and never wait."""
        if self.latency_ns:
            self.schedule(ts + self.latency_ns, Phase.INPUT, fn)
        else:
            fn(ts)

    def _send_queued(self, ts: int, fn) -> None:
        """``send`` through the matching engine's queue (``MatchingQueue.arrive``): the
        message arrives after the order latency and is applied when its turn comes."""
        arrive = self.capacity.matching.arrive
        if self.latency_ns:
            self.schedule(ts + self.latency_ns, Phase.INPUT, partial(arrive, fn))
        else:
            arrive(fn, ts)

    def run(self) -> "Simulation":
        """Run the queue to the end of the scenario.

        The objects built by the set-up (a population of accounts and positions) live for
        the whole run; ``gc.freeze()`` keeps the cyclic collector from traversing them on
        every full collection, and ``gc.unfreeze()`` hands them back afterwards
        (docs/performance.md).  Results do not depend on it."""
        heap = self._heap
        pop = heapq.heappop
        end = self.end_ns
        gc.freeze()
        try:
            while heap:
                ts, _, _, fn = pop(heap)
                if ts > end:
                    break
                self.now = ts
                fn(ts)
        finally:
            gc.unfreeze()
        return self

    # ---------------------------------------------------------------- setup
    def _setup(self) -> None:
        """Open the venue's accounts and seed the market, in a fixed order (the draws from
        the Generator follow it): makers first, so the population is seeded into a quoted
        book; the population and its counterparty; flow and stub accounts and the stubs;
        then the outage and the phase steps; shocks last (at their instant they run after
        the steps)."""
        sc, ex, instrument, units = self.scenario, self.exchange, self.instrument, self.units
        t = instrument.tick_lot_quanta
        start = self.index_ticks
        ex.set_mark(0, 0, start)
        self.mark_policy.observe(0, start, None, None, None)
        m = sc.makers
        share = 1_000_000 // max(1, m.count)
        memo = LadderMemo()
        for k in range(m.count):
            acct_id = FIRST_MAKER + k
            ex.open_account(0, acct_id, deposit=units.maker_capital * share // 1_000_000)
            maker = MarketMaker(self, acct_id, m, units, share, self.volatility, memo)
            self.makers.append(maker)
            self.schedule(0, Phase.INPUT, maker.wake)
        pop = draw_traders(sc.traders, instrument, start, self.rng, FIRST_TRADER)
        gross = int(np.abs(pop["size"]).sum())
        basis = max(1, gross) * start * t
        if basis >= 1 << 63:
            raise ConfigError(f"{sc.meta.name}: traders: the population's gross notional "
                              f"({basis * instrument.quote_quantum:,.0f} quote units) does not fit "
                              f"the engine's int64 quantums; use fewer or smaller traders")
        largest = max((d + sp for d, sp in zip(pop["deposit"].tolist(), pop["spare"])),
                      default=0)
        if largest >= 1 << 63:
            raise ConfigError(f"{sc.meta.name}: traders.spare_margin: a trader's margin and "
                              f"spare cash ({largest * instrument.quote_quantum:,.0f} quote units) "
                              f"do not fit the engine's int64 quantums; use less spare or "
                              f"smaller traders")
        ex.open_account(0, BASIS_ACCOUNT, deposit=basis)
        rows = zip(pop["id"].tolist(), pop["deposit"].tolist(), pop["spare"],
                   pop["size"].tolist(), pop["entry"].tolist(), pop["isolated"].tolist())
        ex.seed_positions(0, 0, BASIS_ACCOUNT,
                          ((a, d + sp, s, e, d if iso else 0) for a, d, sp, s, e, iso in rows))
        for a, s, stop, top in zip(pop["id"].tolist(), pop["size"].tolist(),
                                   pop["stop"].tolist(), pop["topup"].tolist()):
            if stop:
                self.stops.arm(a, s, stop)
            if top:
                self.topups.accounts.add(a)
        deep = 10**9 * instrument.quanta_per_unit   # a billion quote units: never liquidated
        ex.open_account(0, FLOW_ACCOUNT, deposit=deep)
        ex.open_account(0, STUB_ACCOUNT, deposit=deep)
        place_stubs(ex, sc.stubs, units.stub_notionals, start, instrument)
        outage = sc.frictions.outage
        if outage is not None:      # before the steps: the venue is down at its first instant
            self.schedule(ceil_f(outage[0] * SECOND), Phase.INPUT, ex.go_down)
            self.schedule(ceil_f(outage[1] * SECOND), Phase.INPUT, ex.come_back)
        for ts in range(0, self.end_ns + 1, self.step_ns):
            self.schedule(ts, Phase.INPUT, self._index_step)
            self.schedule(ts, Phase.BREAKERS, self._breaker_step)
            self.schedule(ts, Phase.MARK, self._mark_step)
            self.schedule(ts, Phase.RISK, self._risk_step)
        for ts in range(0, self.end_ns + 1, SECOND):
            self.schedule(ts, Phase.INPUT, self._second_step)
            self.schedule(ts, Phase.SAMPLE, self.volatility.sample)
        for ts in range(0, self.end_ns + 1, sc.meta.sample_interval_s * SECOND):
            self.schedule(ts, Phase.SAMPLE, self._sample_step)
        for shock, notional in zip(sc.shocks, units.shock_notionals):
            self.schedule(shock.at_s * SECOND, Phase.INPUT,
                          lambda ts, s=shock, q=notional: self._shock_step(ts, s, q))

    # ----------------------------------------------------------------- steps
    def index_at(self, ts: int) -> int:
        """The index in ticks at ``ts``, as the simulation sets it (``IndexPath.at``)."""
        return self.index.at(ts)

    def _index_step(self, ts: int) -> None:
        self.index_ticks = self.index.at(ts)

    def _breaker_step(self, ts: int) -> None:
        if self.exchange.down:      # a down venue neither halts nor reopens (no auction)
            return
        self.breaker.evaluate(ts)

    def _mark_step(self, ts: int) -> None:
        if self.capacity is not None and self.capacity.mark_stale(ts):
            return          # the mark engine lags the flow: the last mark stands
        ex = self.exchange
        book = ex.books[0]
        # The index stands for the reference market, so it is also the external perp mid of
        # the mark policies that take one (Hyperliquid's third input; assumed: other venues'
        # perps trade at the index).  A frozen (possibly crossed) book's quotes are
        # indicative only: a halted venue gives the mark no quotes.
        index = self.index_ticks
        if ex.halted:
            self.mark_policy.observe(ts, index, None, None, book.last_price, index)
        else:
            self.mark_policy.observe(ts, index, book.best_bid(), book.best_ask(),
                                     book.last_price, index)
        mark = self.mark_policy.mark(ts)
        if mark is None:
            return          # no mark (e.g. ``mid`` with an empty side): the last one stands
        if mark != ex.marks[0]:
            ex.set_mark(ts, 0, mark)

    def _risk_step(self, ts: int) -> None:
        ex = self.exchange
        if ex.down:
            return
        for _ in range(self.scenario.meta.max_cascade_rounds):
            self.topups.run(ts)
            ran = run_liquidations(ex, ts, 0)
            stopped = self.stops.fire(ts)
            if not ran and not stopped:
                break
            self._mark_step(ts)

    def _second_step(self, ts: int) -> None:
        ex = self.exchange
        self.programs.second(ts)
        fund_pos = ex.fund.positions.get(0)
        if fund_pos is not None and fund_pos.size and not ex.down:
            offload(ex, ts, 0, self.units.offload_fraction_ppm, self.units.offload_band_ppm)

    def _shock_step(self, ts: int, shock, notional: int) -> None:
        """A macro shock's instant: the index gaps now (not at the next step) and its
        one-off market order of ``notional`` quantums, if any, is sent at the new index."""
        self._index_step(ts)
        if notional:
            self.programs.order(ts, shock.kind, notional, shock.limit_pct)

    def _sample_step(self, ts: int) -> None:
        ex = self.exchange
        self.sampler.sample(ts, ex.books[0], ex, self.index_ticks, ex.halted,
                            open_interest=ex.open_interest[0],
                            queue=self.capacity.sample(ts) if self.capacity else (0, 0, 0))

    # --------------------------------------------------------------- halts
    def reopen(self, ts: int, reference: int | None, code: int):
        """End a halt: the Exchange's reopening auction (``Exchange.reopen``), then the mark
        is recomputed at once from the reopened book.  Returns the ``AuctionResult``."""
        result = self.exchange.reopen(ts, reference, code)
        self._mark_step(ts)
        return result
