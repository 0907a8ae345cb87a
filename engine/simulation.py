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
after they were decided (``send``); the venue's own liquidation orders never wait.
"""
from __future__ import annotations

import gc
import heapq
from collections import deque
from contextlib import contextmanager
from fractions import Fraction

import numpy as np
from sortedcontainers import SortedList

from orderbook.enums import IOC, MARKET

from .breakers import make_breaker
from .config import ConfigError
from .venue.accounts import BASIS_ACCOUNT, FIRST_MAKER, FIRST_TRADER, FLOW_ACCOUNT, STUB_ACCOUNT
from .venue.events import EventKind
from .venue.exchange import Exchange
from .liquidation.offload import offload
from .venue.instruments import BUNDLED_INSTRUMENTS
from .market.makers import LadderMemo, MarketMaker
from .outputs.metrics import Sampler
from .phases import SECOND, Phase
from .market.traders import draw_traders
from .venue.marks import make_mark_policy
from .venue.rounding import ceil_f, protection_limit
from .liquidation.waterfalls import run_liquidations



def _round_half_even(x: Fraction) -> int:
    return round(x)


@contextmanager
def _cyclic_gc_paused():
    """Pause the cyclic garbage collector (and restore its state after).  Building a
    population of 100k accounts otherwise triggers full collections that traverse the
    growing population again and again: ~0.3 s of a 100k-trader set-up (measured
    1.35 s -> 1.04 s with the first index).  Reference counting still frees everything
    acyclic meanwhile; nothing in the set-up depends on collection.

    It starts with one full collection: a finished ``Simulation`` is a reference cycle
    (makers and gates point back at it), and without this the previous run's garbage
    would survive the pause and then be frozen with the population by ``run()`` -- a
    benchmark running the 7M-event cascade three times measured 3.5 GB peak instead of
    1.8 GB."""
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
    ``engine.run`` wraps it into a ``RunResult``."""

    def __init__(self, scenario, breaker: str | None = None, seed: int = 0):
        self.scenario = scenario
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        meta, venue = scenario.meta, scenario.venue
        overrides = {k: getattr(venue, k) for k in ("waterfall", "taker_fee_ppm",
                                                    "maker_fee_ppm", "clearance_fee_ppm")
                     if getattr(venue, k) is not None}
        self.instrument = ins = BUNDLED_INSTRUMENTS[venue.instrument](**overrides)
        qpu = ins.quanta_per_unit
        self.insurance_fund_start = int(venue.insurance_fund * qpu)
        self.exchange = Exchange([ins], insurance_fund=self.insurance_fund_start,
                                 adl_ranking=venue.adl_ranking,
                                 fund_limit_ppm=int(venue.fund_limit * 1_000_000), rng=self.rng)
        self.log = self.exchange.log
        self.breaker = make_breaker(breaker, scenario)
        self.breaker_name = self.breaker.name
        self.halted = False
        self.halts = 0          # halts started (tests and policies read it)
        self._heap: list = []
        self._seq = 0
        self.now = 0
        self.end_ns = meta.duration_s * SECOND
        self.step_ns = meta.step_ms * 1_000_000
        self.baseline_end_ns = meta.event_start_s * SECOND
        self.latency_ns = 0
        self.mark_policy = make_mark_policy(venue.mark_policy)
        self.index_start = _round_half_even(Fraction(scenario.index.start)
                                            / Fraction(ins.tick_size))
        self._path = [(int(t * SECOND), Fraction(p) / Fraction(ins.tick_size))
                      for t, p in scenario.index.path]
        self._shock_factors = []            # (from ns, the product of the gaps so far)
        factor = Fraction(1)
        for shock in sorted(scenario.shocks, key=lambda x: x.at_s):
            factor *= 1 + Fraction(shock.index_pct) / 100
            self._shock_factors.append((shock.at_s * SECOND, factor))
        self._noise = self._draw_noise(scenario.index.noise_bps, meta.duration_s)
        self.index_ticks = self._index_at(0)
        # One price a second for the makers' volatility rule (``makers.vol_source``).
        self.vol_prices: deque = deque(maxlen=3600)
        self._ranges: dict[int, int] = {}     # window_s -> range_bps, until the next sample
        self.sampler = Sampler(ins)
        self.makers: list[MarketMaker] = []
        self.topups: set[int] = set()
        self._long_stops = SortedList()     # (trigger, account): sell when price <= trigger
        self._short_stops = SortedList()    # (trigger, account): buy when price >= trigger
        with _cyclic_gc_paused():
            self._setup()
            self.exchange.refresh_index()       # index the population now, GC paused
        if self.breaker_name != "none":
            b = self.breaker
            self.exchange.order_gate = lambda *a: b.gate_order(self, *a)
            self.exchange.liquidation_gate = lambda *a: b.gate_liquidation(self, *a)
            self.exchange.liquidation_pause = lambda *a: b.pauses_liquidations(self, *a)
            b.start(self)

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

    def run(self) -> "Simulation":
        """Run the queue to the end of the scenario.

        The objects built by the set-up (a population of accounts and positions) live for
        the whole run; ``gc.freeze()`` keeps the cyclic collector from traversing them on
        every full collection (~4% of a 100k-trader run), and ``gc.unfreeze()`` hands
        them back afterwards.  Results do not depend on it."""
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
        sc, ex, ins = self.scenario, self.exchange, self.instrument
        qpu, t = ins.quanta_per_unit, ins.tick_lot_quanta
        start = self.index_ticks
        ex.set_mark(0, 0, start)
        self.mark_policy.observe(0, start, None, None, None)
        # Makers first, so the population is seeded into a quoted book.
        m = sc.makers
        share = 1_000_000 // max(1, m.count)
        memo = LadderMemo()
        for k in range(m.count):
            acct_id = FIRST_MAKER + k
            ex.open_account(0, acct_id, deposit=int(m.capital * qpu) * share // 1_000_000)
            maker = MarketMaker(self, acct_id, m, share, memo)
            self.makers.append(maker)
            self.schedule(0, Phase.INPUT, maker.wake)
        # The population and its counterparty.
        pop = draw_traders(sc.traders, ins, start, self.rng, FIRST_TRADER)
        gross = int(np.abs(pop["size"]).sum())
        basis = max(1, gross) * start * t
        if basis >= 1 << 63:
            raise ConfigError(f"{sc.meta.name}: traders: the population's gross notional "
                              f"({basis * ins.quote_quantum:,.0f} quote units) does not fit "
                              f"the engine's int64 quantums; use fewer or smaller traders")
        largest = max((d + sp for d, sp in zip(pop["deposit"].tolist(), pop["spare"])),
                      default=0)
        if largest >= 1 << 63:
            raise ConfigError(f"{sc.meta.name}: traders.spare_margin: a trader's margin and "
                              f"spare cash ({largest * ins.quote_quantum:,.0f} quote units) do "
                              f"not fit the engine's int64 quantums; use less spare or "
                              f"smaller traders")
        ex.open_account(0, BASIS_ACCOUNT, deposit=basis)
        rows = zip(pop["id"].tolist(), pop["deposit"].tolist(), pop["spare"],
                   pop["size"].tolist(), pop["entry"].tolist(), pop["isolated"].tolist())
        ex.seed_positions(0, 0, BASIS_ACCOUNT,
                          ((a, d + sp, s, e, d if iso else 0) for a, d, sp, s, e, iso in rows))
        for a, s, stop, top in zip(pop["id"].tolist(), pop["size"].tolist(),
                                   pop["stop"].tolist(), pop["topup"].tolist()):
            if stop:
                (self._long_stops if s > 0 else self._short_stops).add((stop, a))
            if top:
                self.topups.add(a)
        # Flow and stub accounts: deep pockets, never near liquidation.
        deep = 10**9 * qpu      # one billion quote units: never near liquidation here
        ex.open_account(0, FLOW_ACCOUNT, deposit=deep)
        ex.open_account(0, STUB_ACCOUNT, deposit=deep)
        for stub in sc.stubs:
            price = max(1, int(start * (1 + Fraction(stub.offset_pct) / 100)))
            qty = int(stub.notional * qpu) // (price * t)
            if qty > 0:
                ex.submit(0, STUB_ACCOUNT, 0, 1 if price < start else -1, qty, price=price)
        if sc.frictions.order_latency_ms:
            self.latency_ns = sc.frictions.order_latency_ms * 1_000_000
        outage = sc.frictions.outage
        if outage is not None:      # before the steps: the venue is down at its first instant
            self.schedule(ceil_f(outage[0] * SECOND), Phase.INPUT, self._venue_down)
            self.schedule(ceil_f(outage[1] * SECOND), Phase.INPUT, self._venue_up)
        for ts in range(0, self.end_ns + 1, self.step_ns):
            self.schedule(ts, Phase.INPUT, self._index_step)
            self.schedule(ts, Phase.BREAKERS, self._breaker_step)
            self.schedule(ts, Phase.MARK, self._mark_step)
            self.schedule(ts, Phase.RISK, self._risk_step)
        for ts in range(0, self.end_ns + 1, SECOND):
            self.schedule(ts, Phase.INPUT, self._second_step)
            self.schedule(ts, Phase.SAMPLE, self._vol_step)
        for ts in range(0, self.end_ns + 1, sc.meta.sample_interval_s * SECOND):
            self.schedule(ts, Phase.SAMPLE, self._sample_step)
        for shock in sc.shocks:     # after the steps: at its instant it runs after them
            self.schedule(shock.at_s * SECOND, Phase.INPUT,
                          lambda ts, shock=shock: self._shock_step(ts, shock))

    # ----------------------------------------------------------------- steps
    def _index_at(self, ts: int) -> int:
        """The index in ticks: the path (linear between points, flat outside) times the
        gaps of the shocks at or before ``ts``, rounded half-even, at least 1 tick.
        O(points + shocks)."""
        value = self._path_at(ts)
        for at, factor in reversed(self._shock_factors):
            if at <= ts:
                value *= factor
                break
        return max(1, _round_half_even(value))     # a price below half a tick is 1 tick

    def _path_at(self, ts: int) -> Fraction:
        path = self._path
        if not path:
            return Fraction(self.index_start)
        if ts <= path[0][0]:
            return path[0][1] if path[0][0] == 0 else \
                Fraction(self.index_start) + (path[0][1] - self.index_start) \
                * Fraction(ts, path[0][0])
        for (t0, p0), (t1, p1) in zip(path, path[1:]):
            if ts <= t1:
                return p0 + (p1 - p0) * Fraction(ts - t0, t1 - t0)
        return path[-1][1]

    def _draw_noise(self, noise_bps, duration_s: int):
        """A seeded Gaussian random walk in ppm, one value per second (None without noise);
        the index is the path x (1 + walk), the walk linear within each second."""
        if not noise_bps:
            return None
        steps = self.rng.standard_normal(duration_s + 2) * float(noise_bps) * 100.0
        walk = np.concatenate(([0.0], np.cumsum(steps)))
        return [int(round(x)) for x in walk]

    def index_at(self, ts: int) -> int:
        """The index in ticks at ``ts``, as the simulation sets it: the path with its
        shocks (``_index_at``) times the seeded random walk, if any.  Changes nothing."""
        base = self._index_at(ts)
        noise = self._noise
        if noise is not None:
            k, frac = divmod(ts, SECOND)
            ppm = noise[k] + (noise[k + 1] - noise[k]) * frac // SECOND
            base = max(1, base + base * ppm // 1_000_000)
        return base

    def _index_step(self, ts: int) -> None:
        self.index_ticks = self.index_at(ts)

    def _breaker_step(self, ts: int) -> None:
        if self.exchange.down:      # a down venue neither halts nor reopens (no auction)
            return
        self.breaker.evaluate(self, ts)

    def _mark_step(self, ts: int) -> None:
        book = self.exchange.books[0]
        if self.halted:     # a frozen (possibly crossed) book's quotes are indicative only
            self.mark_policy.observe(ts, self.index_ticks, None, None, book.last_price)
        else:
            self.mark_policy.observe(ts, self.index_ticks, book.best_bid(), book.best_ask(),
                                     book.last_price)
        mark = self.mark_policy.mark(ts)
        if mark is None:
            return          # no mark (e.g. ``mid`` with an empty side): the last one stands
        if mark != self.exchange.marks[0]:
            self.exchange.set_mark(ts, 0, mark)

    def _venue_down(self, ts: int) -> None:
        """An outage begins (``frictions.outage``, reference breakers-and-events.md fact 12;
        BitMEX was dark for ~25 minutes on 13 Mar 2020, E3): the venue takes no order or
        cancel, matches nothing and runs no margin check, liquidation, stop or fund offload
        until it is back; resting orders stay where they are.  The index goes on."""
        self.exchange.down = True
        self.log.append(ts, EventKind.VENUE_WENT_DOWN)

    def _venue_up(self, ts: int) -> None:
        self.exchange.down = False
        self.log.append(ts, EventKind.VENUE_CAME_BACK)

    def _risk_step(self, ts: int) -> None:
        ex = self.exchange
        if ex.down:
            return
        for _ in range(self.scenario.meta.max_cascade_rounds):
            self._topup(ts)
            ran = run_liquidations(ex, ts, 0)
            stopped = self._trigger_stops(ts)
            if not ran and not stopped:
                break
            self._mark_step(ts)

    def _second_step(self, ts: int) -> None:
        sc, ex = self.scenario, self.exchange
        secs = Fraction(ts, SECOND)
        for flow in sc.flows:
            lo, hi = flow.window
            if lo <= secs < hi:
                self._program_order(ts, flow.kind, flow.notional_per_s, flow.limit_pct)
        if ex.fund.positions.get(0) is not None and ex.fund.positions[0].size and not ex.down:
            offload(ex, ts, 0, int(sc.venue.offload_fraction * 1_000_000),
                    int(sc.venue.offload_band * 1_000_000))

    def _program_order(self, ts: int, kind: str, notional, limit_pct) -> None:
        """One exogenous market order (a flow's second, a shock's burst): ``notional``
        quote units at the index, IOC, no worse than ``limit_pct`` from the index -- a sell
        trades down to ``index x (1 - limit_pct/100)`` at the lowest, a buy up to ``index x
        (1 + limit_pct/100)`` at the highest, each rounded toward the index (at least 1
        tick)."""
        ex, ins = self.exchange, self.instrument
        side = -1 if kind == "sell" else 1
        ref = self.index_ticks
        qty = int(notional * ins.quanta_per_unit) // (ref * ins.tick_lot_quanta)
        limit = protection_limit(ref, side, Fraction(limit_pct) / 100)
        if qty > 0:
            self.send(ts, lambda t: ex.submit(t, FLOW_ACCOUNT, 0, side, qty, price=limit,
                                              tif=IOC, order_type=MARKET))

    def _shock_step(self, ts: int, shock) -> None:
        """A macro shock's instant: the index gaps now (not at the next step) and its
        one-off market order, if any, is sent at the new index."""
        self._index_step(ts)
        if shock.notional:
            self._program_order(ts, shock.kind, shock.notional, shock.limit_pct)

    def _vol_step(self, ts: int) -> None:
        """This second's price for the makers' volatility rule: the index, this venue's
        last trade or its mark (``makers.vol_source``); the index until the venue has
        one."""
        source = self.scenario.makers.vol_source
        price = None
        if source == "last":
            price = self.exchange.books[0].last_price
        elif source == "mark":
            price = self.exchange.marks[0]
        self.vol_prices.append(self.index_ticks if price is None else price)
        self._ranges.clear()

    def _sample_step(self, ts: int) -> None:
        ex = self.exchange
        self.sampler.sample(ts, ex.books[0], ex, self.index_ticks, self.halted,
                            open_interest=ex.open_interest[0])

    # --------------------------------------------------------------- halts
    def halt(self, ts: int, code: int) -> None:
        """Stop continuous matching venue-wide (a pause, pre-open or auction call phase):
        limit orders rest even if they cross; market/IOC/FOK orders are refused by the
        book.  ``code`` is the halting policy's id.  No effect if already halted."""
        if self.halted:
            return
        self.halted = True
        self.halts += 1
        self.exchange.books[0].halt()
        self.log.append(ts, EventKind.TRADING_HALTED, price=self.exchange.books[0].last_price or 0,
                        reason=code)

    def reopen(self, ts: int, reference: int | None, code: int):
        """Uncross the book at the volume-maximising price (ties: nearest ``reference``) and
        resume continuous matching; the auction's fills go through the ledger.  Returns the
        ``AuctionResult``.  The mark is recomputed at once from the reopened book."""
        result = self.exchange.uncross(ts, 0, reference, resume=True)
        self.halted = False
        self.log.append(ts, EventKind.TRADING_RESUMED, price=result.price or 0,
                        qty=result.volume, value=result.imbalance, reason=code)
        self._mark_step(ts)
        return result

    def indicative(self, reference: int | None = None):
        """The auction price and volume an uncross would give now (changes nothing)."""
        return self.exchange.books[0].indicative_uncross(reference)

    def trades_since(self, cursor: int) -> tuple[list, int]:
        """(ts, price, qty) of the trades logged at rows >= ``cursor``, and the new cursor.
        Policies keep their own cursor, so each trade is read once.  O(new rows)."""
        log = self.log
        end = len(log)
        if end == cursor:
            return [], end
        new = log.to_array(cursor)
        new = new[new["kind"] == EventKind.TRADE]
        return list(zip(new["ts"].tolist(), new["price"].tolist(), new["qty"].tolist())), end

    # ------------------------------------------------------- participants
    def range_bps(self, window_s: int) -> int:
        """Realised range (max - min) / min of the last ``window_s`` one-second prices of
        ``makers.vol_source``, in basis points (rounded down).

        ``index`` (the default): makers watch the reference market -- other venues -- so
        they withdraw on the scripted move whatever this venue does, and no breaker here
        can keep them.  ``last`` / ``mark``: they watch this venue's own trades or mark, so
        its cascade (and a halt that freezes it) decides.  Never the book's mid: an emptied
        book has none, and its snap-back when quotes return is not news to a maker."""
        cached = self._ranges.get(window_s)
        if cached is not None:          # samples change once a second; makers ask ten times
            return cached
        prices = self.vol_prices
        if len(prices) < 2:
            return 0
        recent = [prices[-k] for k in range(1, min(window_s, len(prices)) + 1)]
        lo = min(recent)
        out = self._ranges[window_s] = (max(recent) - lo) * 10_000 // max(lo, 1)
        return out

    def in_outage(self, ts: int) -> bool:
        return self.exchange.down

    def _topup_blocked(self, ts: int) -> bool:
        w = self.scenario.frictions.topup_blocked
        return w is not None and w[0] * SECOND <= ts < w[1] * SECOND

    def _topup(self, ts: int) -> None:
        """Traders who add margin when called do so once, unless top-ups are blocked."""
        if not self.topups or self._topup_blocked(ts):
            return
        ex = self.exchange
        for acct_id, inst in ex.liquidatable(0):
            if acct_id in self.topups:
                self.topups.discard(acct_id)
                acct = ex.accounts[acct_id]
                pos = acct.positions[inst]
                need = ex.deficit(acct, inst) + ex.maintenance_of(acct, inst) // 2
                if need > 0:
                    ex.deposit(ts, acct_id, need)
                    if pos.isolated:
                        acct.wallet -= need
                        pos.margin += need

    def _trigger_stops(self, ts: int) -> int:
        """Fire stop-loss orders crossed by the trigger price: reduce-only market orders.
        Not while trading is halted: a halted book refuses market orders, so the stops stay
        armed and fire, if still crossed, once matching resumes (assumed: CME stops trigger
        on trades, and none print in a halt)."""
        if self.halted:
            return 0
        ex = self.exchange
        book = ex.books[0]
        price = ex.marks[0] if self.scenario.traders.stop_trigger == "mark" else book.last_price
        if price is None:
            return 0
        fired = []
        longs, shorts = self._long_stops, self._short_stops
        while longs and longs[-1][0] >= price:
            fired.append((longs.pop(-1), -1))
        while shorts and shorts[0][0] <= price:
            fired.append((shorts.pop(0), 1))
        for k, (entry, side) in enumerate(fired):
            if self.halted:     # an earlier stop's order halted the venue: re-arm the rest
                for stop, s in fired[k:]:
                    (longs if s < 0 else shorts).add(stop)
                return k
            acct_id = entry[1]
            pos = ex.accounts[acct_id].positions.get(0)
            if pos is None or not pos.size or (pos.size > 0) == (side > 0):
                continue
            self.log.append(ts, EventKind.STOP_TRIGGERED, side=side, account=acct_id,
                            price=price, qty=abs(pos.size))
            self.send(ts, lambda t, e=entry, side=side, q=abs(pos.size):
                      self._stop_order(t, e, side, q))
        return len(fired)

    def _stop_order(self, ts: int, entry: tuple, side: int, qty: int) -> None:
        """A triggered stop's reduce-only market order.  Refused because the venue is
        halted (it halted under the order, or the order arrived in a halt: the book's or a
        breaker gate's refusal) or down, the stop is armed again."""
        r = self.exchange.submit(ts, entry[1], 0, side, qty, tif=IOC, order_type=MARKET,
                                 reduce_only=True)
        if not r and (self.halted or self.exchange.down):
            (self._long_stops if side < 0 else self._short_stops).add(entry)
