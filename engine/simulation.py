"""The closed loop: one ``Simulation`` owns time, ordering, randomness and ids.

Time is ``int`` nanoseconds.  Work is a heap of ``(ts, phase, seq, fn)``: earlier time
first, then the phase, then arrival order (``seq`` from a counter on the instance), so
equal timestamps are ordered by an explicit rule.  The one ``numpy.random.Generator`` is
built from the seed and passed to whatever draws; every id counter lives on the instance
or its exchange.  Same seed + same scenario = byte-identical event log.

Phases within one timestamp (``Phase``):
  INPUT     index/oracle update, market makers' quotes, flows, shocks, fund offload;
            with ``[funding]`` enabled, last at its instants: the funding settlement
            (payments at the mark or oracle) then the premium sample on the
            ``sample_s`` grid, whose rate feeds the Binance mark's Price 1
  BREAKERS  circuit-breaker evaluation (``engine.breakers``; ``none`` does nothing)
  MARK      the mark policy observes index, best bid/ask and last; the mark is set
  RISK      the cascade: margin check -> top-ups -> liquidation waterfalls (their orders
            go through the same book) -> stop orders triggered by the new prices -> the
            mark is recomputed from the new book at the same timestamp -> check again,
            until a round liquidates nobody and triggers no stop, or
            ``max_cascade_rounds`` rounds ran (the rest waits for the next step)
  SAMPLE    one-second price history for the makers' volatility rule; the time series
MARK and RISK run every ``step_ms``; SAMPLE every ``sample_interval_s``; flows and the
fund's offload (and the vault's, with ``backstop_offload``) every second; makers every
``refresh_ms``.  Participants' orders (makers'
quotes and cancels, flows, triggered stops) reach the venue ``frictions.order_latency_ms``
after they were decided (``send``); the venue's own liquidation orders never wait.  With
a ``[capacity]`` the venue's matching and liquidation engines work at a rate and queue the
excess (``engine.venue.capacity``): ``send`` then goes through the matching engine's queue.
"""
from __future__ import annotations

import gc
import heapq
import weakref
from contextlib import contextmanager
from fractions import Fraction
from functools import partial

import attrs
import numpy as np

from .breakers import compress_params, make_breaker
from .config import ConfigError
from .liquidation import state as liquidation_state
from .liquidation.offload import OffloadBand, offload
from .liquidation.settlement import clear_fund_shortfall
from .liquidation.waterfalls import run_liquidations
from .market.arbitrage import open_arbitrageurs
from .market.arrivals import Arrivals
from .market.basis import BasisTraders, opposite_leg, take_opposite
from .market.collateral import CollateralMarket
from .market.background import dip_holding, open_background, open_dip_buyers
from .market.index import IndexPath
from .market.makers import LadderMemo, MakerDraws, MarketMaker, VolatilityWindow
from .market.programs import Programs, flow_holding, place_stubs
from .market.traders import Stops, TopUps, draw_traders
from .outputs.metrics import Sampler
from .phases import SECOND, Phase
from .scenarios.catalogue import compress_funding, compress_mark
from .scenarios.scenario import fund_limit_alone
from .venue.accounts import (BASIS_ACCOUNT, DIP_ACCOUNT, FIRST_ARRIVAL, FIRST_ASSET_ACCOUNT,
                             FIRST_BASIS, FIRST_MAKER, FIRST_TRADER, FLOW_ACCOUNT, STUB_ACCOUNT)
from .venue.capacity import VenueCapacity
from .venue.exchange import Exchange
from .venue.funding import Funding
from .venue.instruments import BUNDLED_INSTRUMENTS
from .venue.marks import FUNDED_MARKS, make_mark_policy
from .venue.rounding import ceil_f, floor_f


#: The Simulations not yet freed in this process (see ``_cyclic_gc_paused``).
_ALIVE: "weakref.WeakSet[Simulation]" = weakref.WeakSet()


@contextmanager
def _cyclic_gc_paused():
    """Pause the cyclic garbage collector (and restore its state after).  Building a
    population of 100k accounts otherwise triggers full collections that traverse the
    growing population again and again (docs/performance.md).  Reference counting still
    frees everything acyclic meanwhile; nothing in the set-up depends on collection.

    It starts with one full collection if an earlier ``Simulation`` is not freed yet: a
    finished one is a reference cycle (makers and policies point back at it), and without
    the collection its garbage would survive the pause and be frozen with the population
    by ``run()``.  One ``close``d (``engine.run`` closes its own) was freed at once, and
    the full collection -- a traversal of every object of the process, ~36 ms with
    pyarrow and pandas loaded -- is skipped (docs/performance.md).

    A set-up that completes ends with ``gc.freeze()``: the population it built (all in the
    youngest generation while the collector was paused) is out of the collector's reach
    from then on, as ``run()`` keeps it, instead of being traversed by the first young,
    middle and full collections after the pause (100k traders: ~0.25 s, in whatever ran
    next -- ``liquidation_levels`` in ``engine.run``).  ``run()`` unfreezes it at its end;
    a Simulation never run stays frozen until the next set-up, which unfreezes before its
    collection so that such a one is freed too."""
    if _ALIVE:
        gc.unfreeze()
        gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
        gc.freeze()
    finally:
        if enabled:
            gc.enable()


#: The makers' own random stream (``default_rng([seed, MAKER_STREAM])``): per-maker draws
#: of a population of archetypes, apart from the run's Generator.
MAKER_STREAM = 13
#: The ADL counterfactual's own stream (``default_rng([seed, ADL_COUNTERFACTUAL_STREAM])``):
#: dYdX's random start when every ranking is measured (``[venue] adl_counterfactual``).
ADL_COUNTERFACTUAL_STREAM = 19


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
        # A fund sized by the open interest is paid in once the population is seeded.
        self.insurance_fund_start = units.insurance_fund \
            if venue.insurance_fund_oi_pct is None else 0
        # [collateral]: the assets' own books are instruments 1.. (engine.market.collateral).
        self.collateral = None if scenario.collateral is None else CollateralMarket(
            scenario.collateral, instrument, scenario.frictions, seed, meta.duration_s)
        cm = self.collateral
        self.exchange = Exchange([instrument, *(cm.instruments if cm else ())],
                                 insurance_fund=self.insurance_fund_start,
                                 adl_ranking=venue.adl_ranking,
                                 fund_limit_ppm=units.fund_limit_ppm, rng=self.rng,
                                 collateral=cm.assets if cm else ())
        self.log = self.exchange.log
        # Programs, stale stubs, dip buyers, background takers, recorded data and the
        # collateral books' own flows stand for money outside the venue: never settled.
        self.exchange.exogenous = (range(1, FIRST_BASIS),
                                   range(FIRST_ASSET_ACCOUNT, FIRST_ARRIVAL))
        k = meta.time_compression      # venue-rule clocks run k times faster (catalogue)
        self.breaker = make_breaker(breaker, scenario if k == 1 else attrs.evolve(
            scenario, breaker=compress_params(scenario.breaker, k,
                                              f"{scenario.source_path}: breaker")))
        self.breaker_name = self.breaker.name
        self._heap: list = []
        self._seq = 0
        self.now = 0
        self.end_ns = meta.duration_s * SECOND
        self.step_ns = meta.step_ms * 1_000_000
        self.baseline_end_ns = meta.event_start_s * SECOND
        self.latency_ns = scenario.frictions.order_latency_ms * 1_000_000
        fund = scenario.funding
        self.funding = Funding(compress_funding(fund.rule_for(instrument), k),
                               instrument.tick_lot_quanta) if fund.enabled else None
        self.mark_policy = make_mark_policy(venue.mark_policy, **self._funding_basis(),
                                            **compress_mark(venue.mark_policy, k))
        # The index's random walk is the first draw of the run's Generator.
        self.index = IndexPath(scenario.index, scenario.shocks, instrument.tick_size,
                               meta.duration_s, self.rng)
        self.index_ticks = self.index.at(0)
        # One volatility window per source the makers watch (the top-level one first).
        self.volatility = VolatilityWindow(self, scenario.makers.vol_source)
        self.volatility_windows = {self.volatility.source: self.volatility}
        for group in scenario.makers.archetypes:
            if group.vol_source not in self.volatility_windows:
                self.volatility_windows[group.vol_source] = VolatilityWindow(self,
                                                                             group.vol_source)
        self.sampler = Sampler(instrument, extra=cm.columns() if cm else ())
        self.progress = None    # a callable (ts, log) run at each sample: a progress bar
        self.makers: list[MarketMaker] = []
        self.programs = Programs(self, scenario.flows, units.flow_notionals)
        self.stops = Stops(self, scenario.traders.stop_trigger)
        self.topups = TopUps(self.exchange, scenario.frictions.topup_blocked)
        self.arrivals = None if scenario.arrivals is None else Arrivals(
            self, scenario.arrivals, seed,
            floor_f(Fraction(scenario.arrivals.notional_median)
                    * (instrument.quote_per_unit(units.price_ticks) if units.price_ticks
                       else instrument.quanta_per_unit)),
            (FIRST_TRADER, FIRST_TRADER + scenario.traders.count))
        self.basis_traders = BasisTraders(self, scenario.basis) if scenario.basis.count \
            else None
        self.offload_band = OffloadBand(units.offload_band_ppm, units.offload_band_max_ppm,
                                        venue.offload_widen_s)
        self.backstop_band = OffloadBand(units.offload_band_ppm, units.offload_band_max_ppm,
                                         venue.offload_widen_s) if venue.backstop_offload \
            else None
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
        if venue.adl_counterfactual:
            liquidation_state.of(self.exchange).counterfactual = \
                liquidation_state.AdlCounterfactual(
                    np.random.default_rng([seed, ADL_COUNTERFACTUAL_STREAM]))
        with _cyclic_gc_paused():
            _ALIVE.add(self)
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

    def send(self, ts: int, fn, latency_ns: int | None = None) -> None:
        """A participant's message decided at ``ts``: it reaches the venue (``fn`` runs)
        after the scenario's ``frictions.order_latency_ms`` (or the participant's own
        ``latency_ns``), as an INPUT at that time; at once without latency.  Everything
        ``fn`` uses was decided at ``ts`` (prices, sizes); the venue applies its own rules
        (reduce-only, breakers, the book) on arrival.  Liquidation orders are the venue's
        own and never wait."""
        lag = self.latency_ns if latency_ns is None else latency_ns
        if lag:
            self.schedule(ts + lag, Phase.INPUT, fn)
        else:
            fn(ts)

    def _send_queued(self, ts: int, fn, latency_ns: int | None = None) -> None:
        """``send`` through the matching engine's queue (``MatchingQueue.arrive``): the
        message arrives after the order latency and is applied when its turn comes.  The
        run's first instant is the venue's opening state, not a burst: without order
        latency, messages at t = 0 (the makers' opening ladders) are applied at once
        (assumed: the run starts with the book already quoted, as it does without a
        capacity limit)."""
        lag = self.latency_ns if latency_ns is None else latency_ns
        if ts == 0 and not lag:
            fn(ts)
            return
        arrive = self.capacity.matching.arrive
        if lag:
            self.schedule(ts + lag, Phase.INPUT, partial(arrive, fn))
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

    def close(self) -> None:
        """Free the run's state (population, books, queue) now, once its results are read:
        a finished Simulation is a reference cycle (makers, policies and queued calls point
        back at it; the Exchange and its liquidation index at each other), so dropping it
        leaves its garbage to a full collection.  Clearing the two objects' attributes
        breaks the cycles and reference counting frees everything at once; the next
        Simulation then needs no collection first (``_cyclic_gc_paused``).  Arrays taken
        from the log (``log.to_array``) stay valid.  The Simulation is unusable after."""
        exchange = self.__dict__.get("exchange")
        if exchange is not None:
            exchange.__dict__.clear()
        self.__dict__.clear()

    # ---------------------------------------------------------------- setup
    def _setup(self) -> None:
        """Open the venue's accounts and seed the market, in a fixed order (the draws from
        the Generator follow it): makers first, so the population is seeded into a quoted
        book; the population and its counterparty; flow and stub accounts and the stubs;
        then the outage and the phase steps; shocks (at their instant they run after the
        steps); the other takers last: arbitrageurs, background flow, dip buyers."""
        sc, ex, instrument, units = self.scenario, self.exchange, self.instrument, self.units
        start = self.index_ticks
        ex.set_mark(0, 0, start)
        self.mark_policy.observe(0, start, None, None, None)
        self._open_makers()
        if self.collateral is not None:
            self.collateral.open(self)
        pop = draw_traders(sc.traders, instrument, start, self.rng, FIRST_TRADER)
        gross = int(np.abs(pop["size"]).sum())
        basis = max(1, gross) * instrument.lot_value_q(start)
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
        seeded = ((a, d + sp, s, e, d if iso else 0) for a, d, sp, s, e, iso in rows)
        if self.collateral is not None:     # holders margin part of it in an asset
            seeded = self.collateral.assign(list(seeded))
        ex.seed_positions(0, 0, BASIS_ACCOUNT, seeded)
        if self.collateral is not None:
            self.collateral.deposit_holdings()
        self._seed_holders(start)
        self._hand_over_opposite_side(start)
        self._size_fund(start)
        for a, s, stop, top in zip(pop["id"].tolist(), pop["size"].tolist(),
                                   pop["stop"].tolist(), pop["topup"].tolist()):
            if stop:
                self.stops.arm(a, s, stop)
            if top:
                self.topups.accounts.add(a)
        deep = 10**9 * instrument.quanta_per_unit   # a billion quote units: never liquidated
        if FLOW_ACCOUNT not in ex.accounts:     # else opened holding (_seed_holders)
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
            for window in self.volatility_windows.values():
                self.schedule(ts, Phase.SAMPLE, window.sample)
        for ts in range(0, self.end_ns + 1, sc.meta.sample_interval_s * SECOND):
            self.schedule(ts, Phase.SAMPLE, self._sample_step)
        for shock, notional in zip(sc.shocks, units.shock_notionals):
            self.schedule(shock.at_s * SECOND, Phase.INPUT,
                          lambda ts, s=shock, q=notional: self._shock_step(ts, s, q))
        # Other takers, off by default, after every draw of the run's Generator (they draw
        # from their own child generators: engine.market.arbitrage, .background).
        self.arbitrageurs = open_arbitrageurs(self, sc.arbitrage, units,
                                              sc.frictions.transfer_freeze, self.seed)
        self.background = open_background(self, sc.background, units, self.seed, self.end_ns)
        self.dip_buyers = open_dip_buyers(self, sc.dip_buyers, units.dip_notionals, self.end_ns)
        if self.funding is not None:
            for ts in self.funding.times(self.end_ns):
                self.schedule(ts, Phase.INPUT, self._funding_step)

    def _open_makers(self) -> None:
        """Open the makers' accounts, group by group (``[makers]`` alone is one group), ids
        from ``FIRST_MAKER`` on; each maker gets an equal share of its group's depth and of
        its capital (or a log-normal share with ``capital_sigma``).  Each maker draws its own
        parameters (``MakerDraws``) from the makers' stream,
        ``default_rng([seed, MAKER_STREAM])`` -- its own generator, so the run's other draws
        do not move; a scenario without archetypes, capital or latency draws draws nothing."""
        sc, ex = self.scenario, self.exchange
        groups = sc.makers.archetypes or (sc.makers,)
        drawn = bool(sc.makers.archetypes) or sc.makers.capital_sigma > 0 or \
            sc.makers.latency_ms is not None
        rng = np.random.default_rng([self.seed, MAKER_STREAM]) if drawn else None
        memo = LadderMemo(self.instrument.inverse)
        acct_id = FIRST_MAKER
        self.maker_groups = []
        for cfg, gu in zip(groups, self.units.maker_groups):
            share = 1_000_000 // max(1, cfg.count)
            capital_ppm = [share] * cfg.count
            if cfg.capital_sigma > 0 and cfg.count:
                # The group's capital split log-normally (its total kept, rounded down):
                # one standard normal per maker, drawn before the makers' other draws.
                w = np.exp(float(cfg.capital_sigma) * rng.standard_normal(cfg.count))
                capital_ppm = [int(x) for x in np.floor(w / w.sum() * 1_000_000)]
            members = []
            for k in range(cfg.count):
                ex.open_account(0, acct_id, deposit=gu.capital * capital_ppm[k] // 1_000_000)
                draws = MakerDraws.draw(cfg, rng) if rng is not None else None
                maker = MarketMaker(self, acct_id, cfg, gu, share,
                                    self.volatility_windows[cfg.vol_source], memo, draws)
                self.makers.append(maker)
                members.append(maker)
                self.schedule(0, Phase.INPUT, maker.wake)
                acct_id += 1
            self.maker_groups.append((cfg, members))

    def _size_fund(self, start: int) -> None:
        """``venue.insurance_fund_oi_pct`` / ``fund_limit_oi_pct`` (and
        ``backstop_capital_oi_pct``, the vault's capital): the fund's size and its
        position limit as percentages of the opening open interest (its long side at the
        start price), rounded down -- assumed: no source gives a venue's ratio; both scale
        with the population, as the fund does with ``--scale``."""
        venue, ex = self.scenario.venue, self.exchange
        if venue.insurance_fund_oi_pct is None and venue.fund_limit_oi_pct is None and \
                venue.backstop_capital_oi_pct is None:
            return
        oi = ex.open_interest[0] * self.instrument.lot_value_q(start)
        if venue.backstop_capital_oi_pct is not None:      # the vault's, the same way
            size = floor_f(oi * venue.backstop_capital_oi_pct / 100)
            if size:
                ex.deposit(0, ex.backstop.id, size)
            liquidation_state.of(ex).backstop_limited = True
        if venue.insurance_fund_oi_pct is not None:
            size = floor_f(oi * venue.insurance_fund_oi_pct / 100)
            if size:
                ex.deposit(0, ex.fund.id, size)
            self.insurance_fund_start = ex.fund.wallet
        if venue.fund_limit_oi_pct is not None:
            ex.fund_limit_notional = max(1, floor_f(oi * venue.fund_limit_oi_pct / 100))
            ex.fund_limit_notional_alone = fund_limit_alone(venue, self.instrument.waterfall)

    def _seed_holders(self, start: int) -> None:
        """Open the accounts of participants who close an existing position through the
        run -- closing flows (``engine.market.programs.flow_holding``, on the deep-pocketed
        ``FLOW_ACCOUNT``) and take-profit dip bids (``background.dip_holding``, on
        ``DIP_ACCOUNT`` with its usual deposit) -- holding it at the start price against
        ``BASIS_ACCOUNT``, before the opposite side is handed over, so the makers and basis
        traders hold its other side and its closing lowers open interest.  Nothing (no
        account opened, no event) when no flow or dip bid ``closes``.  O(flows + bids)."""
        sc, ex, ins, units = self.scenario, self.exchange, self.instrument, self.units
        for account, held, deposit in (
                (FLOW_ACCOUNT, flow_holding(sc.flows, units.flow_notionals, start, ins),
                 10**9 * ins.quanta_per_unit),
                (DIP_ACCOUNT, dip_holding(sc.dip_buyers, units.dip_notionals, start, ins),
                 sum(units.dip_notionals))):
            if held:
                ex.seed_positions(0, 0, BASIS_ACCOUNT, [(account, deposit, held, start, 0)])

    def _hand_over_opposite_side(self, start: int) -> None:
        """Give the basis traders (``[basis]``, ``engine.market.basis``) their share and each
        maker group its ``opposite_share`` of the population's net opposite side (seeded on
        ``BASIS_ACCOUNT``), split equally among its makers, by an off-book
        transfer at the start price; each gets that position's margin at
        ``opposite_leverage`` (rounded up) and hedges it off-venue (its ``Hedge`` starts at
        the target).  The rest stays with the basis account.  O(makers)."""
        ex, lot_q = self.exchange, self.instrument.lot_value_q(start)
        basis = ex.accounts[BASIS_ACCOUNT].positions.get(0)
        net = basis.size if basis is not None else 0
        if self.basis_traders is not None:
            self.basis_traders.open(net, start)
        for cfg, members in self.maker_groups:
            if cfg.opposite_share and net and members:
                each, margin = opposite_leg(net, cfg.opposite_share, len(members), lot_q,
                                            cfg.opposite_leverage)
                for maker in members:
                    if each:
                        take_opposite(ex, maker.account_id, each, net, start)
                        ex.deposit(0, maker.account_id, margin)
            for maker in members:
                if maker.hedge is not None:
                    pos = ex.accounts[maker.account_id].positions.get(0)
                    maker.hedge.start(pos.size if pos is not None else 0, start)

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
        if self.collateral is not None:
            self.collateral.reprice(ts)
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
            if self.collateral is not None:
                self.collateral.watch(ts)
            ran = run_liquidations(ex, ts, 0)
            stopped = self.stops.fire(ts)
            if not ran and not stopped:
                break
            self._mark_step(ts)

    def _second_step(self, ts: int) -> None:
        ex = self.exchange
        self.programs.second(ts)
        if self.collateral is not None:
            self.collateral.second(ts)
        if self.arrivals is not None:
            self.arrivals.second(ts)
        if self.basis_traders is not None:
            self.basis_traders.second(ts)
        self._offload(ts, ex.fund, self.offload_band)
        if self.backstop_band is not None:
            self._offload(ts, ex.backstop, self.backstop_band)

    def _offload(self, ts: int, holder, offload_band) -> None:
        """One second of ``holder``'s offload (the fund, or the backstop vault)."""
        ex = self.exchange
        pos = holder.positions.get(0)
        holding = pos is not None and bool(pos.size)
        band = offload_band.at(ts, holding)
        if holding and not ex.down:
            offload(ex, ts, 0, self.units.offload_fraction_ppm, band, holder)

    def _shock_step(self, ts: int, shock, notional: int) -> None:
        """A macro shock's instant: the index gaps now (not at the next step) and its
        one-off market order of ``notional`` quantums, if any, is sent at the new index."""
        self._index_step(ts)
        if notional:
            self.programs.order(ts, shock.kind, notional, shock.limit_pct)

    def _funding_basis(self) -> dict:
        """The funded mark's parameters (Binance's Price 1, BitMEX's Fair Price) when funding
        is on: the interval, the first funding instant and the rate in force at t = 0 (ppm);
        none otherwise (Price 1 / Fair Price = index, as before)."""
        f = self.funding
        if f is None or self.scenario.venue.mark_policy not in FUNDED_MARKS:
            return {}
        return dict(funding_interval_s=f.rule.interval_s, next_funding_ns=f.next_ns,
                    funding_rate_ppm=f.rate() * 1_000_000)

    def _funding_step(self, ts: int) -> None:
        """A funding instant and/or premium sample (``Funding.step``); the predicted rate
        becomes the funded mark's "last funding rate" (assumed: the published rate the
        venue updates between settlements, not the one last paid)."""
        f = self.funding
        f.step(ts, self.exchange, 0, self.index_ticks)
        clear_fund_shortfall(self.exchange, ts)     # what the fund paid beyond its assets
        if self._funding_basis():
            self.mark_policy.set_funding(f.rate() * 1_000_000)

    def _sample_step(self, ts: int) -> None:
        ex = self.exchange
        f = self.funding
        self.sampler.sample(ts, ex.books[0], ex, self.index_ticks, ex.halted,
                            open_interest=ex.open_interest[0],
                            funding=None if f is None else (f.premium_ppb, f.rate_ppb()),
                            queue=self.capacity.sample(ts) if self.capacity else (0, 0, 0),
                            down=ex.down,
                            extra=self.collateral.sample(ts) if self.collateral else ())
        if self.progress is not None:
            self.progress(ts, self.log)

    # --------------------------------------------------------------- halts
    def reopen(self, ts: int, reference: int | None, code: int):
        """End a halt: the Exchange's reopening auction (``Exchange.reopen``), then the mark
        is recomputed at once from the reopened book.  Returns the ``AuctionResult``."""
        result = self.exchange.reopen(ts, reference, code)
        self._mark_step(ts)
        return result
