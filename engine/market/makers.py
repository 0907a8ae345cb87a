"""Market makers: quote ladders around a fair value, withdrawal under stress, slow return.

Each maker owns a cross account and quotes ``levels`` prices per side around its fair value
``index x (1 + basis)``: level k sits ``half_spread + k x spacing`` basis points from fair.
Depth is a profile of cumulative quote notional per side within each band's distance from
fair (``depth_bands = [[0.5, X], [1, Y], ...]``, for all makers together; ``depth_1pct = Y``
means ``[[1, Y]]``): the levels of a band (beyond the band before, within its edge) share
its increment equally, and every level beyond the last band carries the last band's size,
so depth keeps growing linearly with distance.  A maker re-quotes every
``refresh_ms``; its messages reach the book after the scenario's order latency, priced off
the index it saw and blocked by the inventory it held when it decided.  Orders at prices no
longer wanted are cancelled, missing or depleted levels (< half their size) are re-placed,
the rest keep their queue position; while depth comes back after a withdrawal every level
is re-placed at its growing size.  Past ``inventory_limit`` it stops quoting the side that would add.

Withdrawal rules, each switchable (docs/reference/breakers-and-events.md section 3, facts 1, 7,
12): realised range of a one-second price over ``vol_window_s`` above
``vol_threshold_bps`` -- the index (the reference market, the default), or with
``vol_source = "last"`` / ``"mark"`` this venue's own last trade or mark price
(``VolatilityWindow``); loss since start above ``loss_threshold``; its position ADL'd
("hedge ADL'd": the maker is left unhedged); a venue outage window.  Withdrawing cancels
every quote (``MakerWithdrew``); quotes a down venue would not cancel are pulled as soon
as it is back.  Re-entry needs ``calm_s`` seconds without a trigger;
depth then comes back linearly over ``recovery_s`` -- slower than price ("liquidity
hysteresis", fact 8).  The loss rule is a trigger, not a state: once withdrawn, only
volatility, ADL and outage keep a maker out, and losses are measured afresh from re-entry.
"""
from __future__ import annotations

from collections import deque
from fractions import Fraction

from orderbook.enums import IOC, STP_EXPIRE_MAKER

from ..phases import Phase
from ..venue.codes import WithdrawalReason
from ..venue.events import EventKind
from ..venue.rounding import protection_limit

QUOTING, WITHDRAWN, RECOVERING = 0, 1, 2
(REASON_VOLATILITY, REASON_LOSS, REASON_ADL, REASON_OUTAGE, REASON_TOXIC,
 REASON_LIQUIDATED) = WithdrawalReason


def level_factors(side: int, first_bps: int, spacing_bps: int, levels: int) -> list[int]:
    """Level k's price factor x 1e4: ``1e4 - side x (first_bps + k x spacing_bps)``."""
    return [10_000 - side * (first_bps + k * spacing_bps) for k in range(levels)]


def level_notionals(distances_bps: list[int], bands: list[tuple[int, int]]) -> list[int]:
    """Each level's notional from a depth profile: ``bands`` are ``(edge_bps, cumulative
    notional)`` with both increasing; the levels at distance <= the first edge share its
    notional, those in (edge_i-1, edge_i] share the increment, and levels beyond the last
    edge carry the last band's per-level notional (floor division throughout).  A band with
    no level adds nothing (the scenario loader rejects such profiles).  O(levels x bands).
    """
    out, lo, prev = [0] * len(distances_bps), -1, 0
    per = 0
    for edge, cumulative in bands:
        members = [k for k, d in enumerate(distances_bps) if lo < d <= edge]
        if members:
            per = (cumulative - prev) // len(members)
            for k in members:
                out[k] = per
        lo, prev = edge, cumulative
    for k, d in enumerate(distances_bps):
        if d > lo:
            out[k] = per
    return out


def quote_ladder(fair: int, side: int, factors: list[int], pers: list[int]) -> dict[int, int]:
    """One side's wanted quotes ``{price: qty}`` (ticks: lots).

    Level k sits at ``fair x factors[k] / 1e8`` ticks (``fair`` is the fair value x 1e4,
    ``factors`` from ``level_factors``), rounded away from fair -- bids down, asks up --
    and carries ``pers[k] // price`` lots (``pers[k]`` its notional in lots x ticks); a
    level whose price or size would be <= 0 is left out, and a price two levels round to
    is kept once, in level order.  O(levels).  (A ``map``-over-``range`` version in C
    measured slower than this comprehension for 40 levels.)
    """
    unit = 100_000_000 * side
    return {price: qty for factor, per in zip(factors, pers)
            if (price := side * ((fair * factor) // unit)) > 0 and (qty := per // price) > 0}


def quote_ladder_fixed(fair: int, side: int, factors: list[int], lots: list[int]) -> dict:
    """``quote_ladder`` for an inverse instrument: level k carries ``lots[k]`` lots at any
    price (its face value in quote is fixed).  O(levels)."""
    unit = 100_000_000 * side
    return {price: qty for factor, qty in zip(factors, lots)
            if (price := side * ((fair * factor) // unit)) > 0 and qty > 0}


class LadderMemo:
    """The latest ladder of each shape, shared by the makers of one simulation.

    A ladder is a pure function of its shape (level price factors and notionals), the fair
    value and the depth factor; makers configured alike see the same index at the same
    instant, so the first to quote computes it and the others reuse it (five makers: one
    ``quote_ladder`` call instead of five).  Results are the same with or without it.
    Keeps one entry per (shape, side): O(shapes) memory; a lookup is O(1).
    """

    __slots__ = ("_shapes", "_last", "fixed_lots")

    def __init__(self, fixed_lots: bool = False) -> None:
        self._shapes: dict[tuple, int] = {}
        self._last: dict[int, tuple] = {}
        # Inverse instruments: ``pers`` are each level's lots (``quote_ladder_fixed``).
        self.fixed_lots = fixed_lots

    def shape_id(self, factors: dict[int, list[int]], notionals: list[int]) -> int:
        """A small int naming a ladder shape; equal shapes get equal ids."""
        key = (tuple(factors[1]), tuple(factors[-1]), tuple(notionals))
        return self._shapes.setdefault(key, len(self._shapes))

    def quotes(self, shape: int, side: int, fair: int, factor_ppm: int, factors: list[int],
               pers: list[int]) -> tuple[dict[int, int], list[tuple[int, int]]]:
        """``(want, list(want.items()))`` of ``quote_ladder(fair, side, factors, pers)``
        for a maker of ``shape`` at depth factor ``factor_ppm`` (which ``pers`` reflects).
        Callers must not mutate what they get."""
        key = 2 * shape + (side > 0)
        hit = self._last.get(key)
        if hit is not None and hit[0] == fair and hit[1] == factor_ppm:
            return hit[2], hit[3]
        want = quote_ladder(fair, side, factors, pers) if not self.fixed_lots else \
            quote_ladder_fixed(fair, side, factors, pers)
        items = list(want.items())
        self._last[key] = (fair, factor_ppm, want, items)
        return want, items


class VolatilityWindow:
    """The makers' volatility signal: one price a second of ``makers.vol_source`` and its
    realised range over the last ``window_s`` seconds.

    ``index`` (the default): makers watch the reference market -- other venues -- so they
    withdraw on the scripted move whatever this venue does, and no breaker here can keep
    them.  ``last`` / ``mark``: they watch this venue's own trades or mark, so its cascade
    (and a halt that freezes it) decides; the index until the venue has one.  Never the
    book's mid: an emptied book has none, and its snap-back when quotes return is not news
    to a maker.  Keeps the last hour of samples; ``range_bps`` is cached until the next
    sample (makers ask ten times a second).  O(window) per new sample and window."""

    __slots__ = ("port", "source", "prices", "_ranges")

    def __init__(self, port, source: str):
        self.port = port
        self.source = source
        self.prices: deque = deque(maxlen=3600)
        self._ranges: dict[int, int] = {}     # window_s -> range_bps, until the next sample

    def sample(self, ts: int) -> None:
        """This second's price (SAMPLE phase, every second)."""
        port, price = self.port, None
        if self.source == "last":
            price = port.exchange.books[0].last_price
        elif self.source == "mark":
            price = port.exchange.marks[0]
        self.prices.append(port.index_ticks if price is None else price)
        self._ranges.clear()

    def range_bps(self, window_s: int) -> int:
        """Realised range (max - min) / min of the last ``window_s`` one-second prices, in
        basis points (rounded down); 0 before two samples."""
        cached = self._ranges.get(window_s)
        if cached is not None:
            return cached
        prices = self.prices
        if len(prices) < 2:
            return 0
        recent = [prices[-k] for k in range(1, min(window_s, len(prices)) + 1)]
        lo = min(recent)
        out = self._ranges[window_s] = (max(recent) - lo) * 10_000 // max(lo, 1)
        return out


class MakerDraws:
    """One maker's own parameters, drawn from its group's ranges (``vol_threshold_bps`` ..
    ``vol_threshold_max_bps``, ``calm_s`` .. ``calm_max_s``, ``refresh_ms`` ..
    ``refresh_max_ms``; the low key alone when no max is given)."""

    __slots__ = ("vol_threshold_bps", "calm_s", "refresh_ms", "latency_ns")

    def __init__(self, vol_threshold_bps: int, calm_s: int, refresh_ms: int,
                 latency_ns: int | None = None):
        self.vol_threshold_bps = vol_threshold_bps
        self.calm_s = calm_s
        self.refresh_ms = refresh_ms
        self.latency_ns = latency_ns        # None: the scenario's order latency

    @classmethod
    def fixed(cls, cfg) -> "MakerDraws":
        """The group's low values, drawing nothing (a group without ranges)."""
        lat = None if cfg.latency_ms is None else cfg.latency_ms * 1_000_000
        return cls(cfg.vol_threshold_bps, cfg.calm_s, cfg.refresh_ms, lat)

    @classmethod
    def draw(cls, cfg, rng) -> "MakerDraws":
        """Uniform integer draws, in this order: threshold, calm, refresh (three draws
        whether or not a range is given, so the stream does not depend on which are), then
        the order latency only where the group gives ``latency_ms``."""
        def one(lo: int, hi: int | None) -> int:
            return int(rng.integers(lo, (lo if hi is None else hi) + 1))
        out = cls(one(cfg.vol_threshold_bps, cfg.vol_threshold_max_bps),
                  one(cfg.calm_s, cfg.calm_max_s), one(cfg.refresh_ms, cfg.refresh_max_ms))
        if cfg.latency_ms is not None:
            out.latency_ns = one(cfg.latency_ms, cfg.latency_max_ms) * 1_000_000
        return out


class Hedge:
    """A maker's off-venue hedge of its perp inventory (assumed model: the hedge venue is
    the reference market, so it trades at the index; it is outside this venue's ledger).
    With the group's ``hedge_latency_ms`` an adjustment decided at a wake, on the position
    then, trades that much later at the index then (``MarketMaker.wake``).

    ``lots`` (signed) moves toward ``-round(share x position)`` at each decision, by at most
    the capacity accrued at ``per_s`` quantums of notional a second since it was last used
    (kept for at most one second, or the time since the last decision if longer: the desk
    hedges between a slow maker's decisions; 0 = at once), paying
    ``cost_bps`` of the notional traded.  ``pnl`` is its mark-to-index value: the lots at
    the index less their cost and the costs paid, quantums.  When ADL closes the perp leg
    the hedge is left naked (the exposure ``position + lots`` jumps) and unwinds at the
    same capacity (docs/reference/breakers-and-events.md section 3 fact 7; 10 Oct 2025:
    makers left with "naked spot").  O(1) per decision.

    With ``k`` (an inverse instrument's ``inverse_k``) the hedge is an inverse contract too:
    ``cost`` is in coin quantums as on the venue (``engine.venue.accounts``: a buy of ``q``
    lots at ``p`` adds ``-floor(q k / p)``), ``pnl`` is ``floor(-lots k / index) - cost``
    less the costs paid, and the capacity and costs use ``floor(k / index)`` a lot."""

    __slots__ = ("share", "per_s", "cost_bps", "lots", "cost", "paid", "last_ts", "budget",
                 "k")

    def __init__(self, share, per_s: int, cost_bps: int, k: int = 0):
        self.share = share              # a Fraction in [0, 1]
        self.per_s = per_s
        self.cost_bps = cost_bps
        self.k = k
        self.lots = 0
        self.cost = 0                   # sum of signed lots x index ticks (inverse: above)
        self.paid = 0                   # quantums of hedging cost
        self.last_ts = 0
        self.budget = 0                 # unused capacity, quantums x 1e9 (see ``adjust``)

    def target(self, position: int) -> int:
        """``-share x position`` rounded toward zero, lots."""
        share = self.share
        t = abs(position) * share.numerator // share.denominator
        return -t if position > 0 else t

    def start(self, position: int, index: int) -> None:
        """Hedge the opening position in full at the start (no cost: it predates the run)."""
        self.lots = self.target(position)
        self.cost = self.lots * index if not self.k else self._value(self.lots, index)

    def _value(self, lots: int, index: int) -> int:
        """Inverse: the cost of ``lots`` (signed) bought at ``index``, coin quantums."""
        v = abs(lots) * self.k // index
        return -v if lots > 0 else v

    def adjust(self, ts: int, position: int, index: int, tlq: int) -> None:
        """Trade toward the target at the index within the capacity since the last call."""
        want = self.target(position) - self.lots
        elapsed, self.last_ts = ts - self.last_ts, ts
        if self.per_s:
            # Capacity accrues between calls (up to one second's worth, or the whole gap
            # since the last call), so calls more frequent than a lot's worth of capacity
            # still hedge at the stated rate, and a slow maker's hedge keeps up.
            self.budget = min(self.budget + self.per_s * elapsed,
                              self.per_s * max(elapsed, 1_000_000_000))
        if not want or index <= 0:
            return
        lot_q = index * tlq if not self.k else max(1, self.k // index)     # one lot
        if self.per_s:
            unit = 1_000_000_000 * lot_q             # one lot, in the budget's units
            cap = self.budget // unit
            if cap <= 0:
                return
            want = max(-cap, min(cap, want))
            self.budget -= abs(want) * unit
        self.lots += want
        self.cost += want * index if not self.k else self._value(want, index)
        self.paid += -(-abs(want) * lot_q * self.cost_bps // 10_000)   # ceil: a cost

    def pnl(self, index: int, tlq: int) -> int:
        if self.k:
            return (-self.lots * self.k) // index - self.cost - self.paid
        return (self.lots * index - self.cost) * tlq - self.paid


class MarketMaker:
    """One market maker, acting through ``port`` (``engine.phases.Port``).  ``share`` is its
    fraction (ppm) of its group's depth; ``volatility`` the ``VolatilityWindow`` of its
    group's ``vol_source``; ``memo`` the run's shared ``LadderMemo`` (a private one if None);
    ``draws`` its own ``MakerDraws`` (the group's low values if None).  ``cfg`` is its
    group's ``[makers]`` table and ``units`` the group's amounts in quantums
    (``engine.scenarios.scenario.MakerUnits``).  Its fair value is the index, or with
    ``last_weight`` > 0 the index moved toward this venue's last trade.

    Stress: each rule gives a ratio to its threshold (ppm) -- the volatility range to the
    maker's threshold, the liquidation flow it absorbed within ``vol_window_s`` to
    ``toxic_notional``, its loss (venue equity plus hedge value) to ``loss_threshold``.  At
    1 it withdraws.  With ``stress_stages`` > 0 it first passes through that many stages
    from ``widen_from`` on: stage s of S quotes ``widen_bps x s / S`` wider and keeps
    ``(S + 1 - s) / (S + 1)`` of its levels within ``thin_within_bps`` of fair -- spreads
    widen and the near book thins before quotes go (fact 1)."""

    def __init__(self, port, account_id: int, cfg, units, share_ppm: int,
                 volatility: VolatilityWindow, memo: LadderMemo | None = None,
                 draws: MakerDraws | None = None):
        self.port = port
        self.volatility = volatility
        self.account_id = account_id
        self.cfg = cfg
        self.share_ppm = share_ppm
        self.draws = draws = draws or MakerDraws.fixed(cfg)
        self.state = QUOTING
        self.bids: dict[int, int] = {}     # price -> order id
        self.asks: dict[int, int] = {}
        self.calm_since: int | None = None
        self.recover_start = 0
        self.start_equity: int | None = None
        self.stage = 0
        bands = [(edge_bps, notional * share_ppm // 1_000_000)
                 for edge_bps, notional in units.depth_bands]
        self.inventory_limit_q = units.inventory_limit
        self.loss_threshold_q = units.loss_threshold
        self.toxic_q = units.toxic_notional
        self.refresh_ns = draws.refresh_ms * 1_000_000
        self._last_key = None
        self._memo = memo if memo is not None else LadderMemo(port.instrument.inverse)
        self._absorbed: deque = deque()      # (ts, cumulative absorbed) at each decision
        self.hedge = Hedge(cfg.hedge_share, units.hedge_per_s, cfg.hedge_cost_bps,
                           port.instrument.inverse_k) if cfg.hedge_share else None
        # One ladder shape per stress stage: (factors by side, level notionals, shape id).
        stages = cfg.stress_stages
        self._shapes = []
        for stage in range(stages + 1):
            first = cfg.half_spread_bps + (cfg.widen_bps * stage // stages if stages else 0)
            distances = [first + k * cfg.spacing_bps for k in range(cfg.levels)]
            notionals = level_notionals(
                [cfg.half_spread_bps + k * cfg.spacing_bps for k in range(cfg.levels)], bands)
            if stage:
                keep = stages + 1 - stage
                notionals = [q * keep // (stages + 1) if d <= cfg.thin_within_bps else q
                             for q, d in zip(notionals, distances)]
            factors = {side: level_factors(side, first, cfg.spacing_bps, cfg.levels)
                       for side in (1, -1)}
            self._shapes.append((factors, notionals,
                                 self._memo.shape_id(factors, notionals)))
        self._pers: tuple | None = None    # ((stage, depth factor), lots x ticks per level)

    # ------------------------------------------------------------ triggers
    def _total_equity(self) -> int:
        """Venue equity plus the hedge's value at the index, quantums."""
        ex = self.port.exchange
        equity = ex.cross_equity(ex.accounts[self.account_id])
        if self.hedge is not None:
            equity += self.hedge.pnl(self.port.index_ticks, self.port.instrument.tick_lot_quanta)
        return equity

    def _absorbed_in_window(self, ts: int) -> int:
        """Liquidation-order notional this maker absorbed since its first decision within
        the last ``vol_window_s``, quantums; recorded at every decision (``_trigger``
        calls it first), so a gap in its decisions never stretches the window.  O(1)
        amortised."""
        cum = self.port.exchange.liquidation_absorbed.get(self.account_id, 0)
        hist = self._absorbed
        hist.append((ts, cum))
        horizon = ts - self.cfg.vol_window_s * 1_000_000_000
        while hist[0][0] < horizon:         # the current entry is never older
            hist.popleft()
        return cum - hist[0][1]

    def _trigger(self, ts: int) -> tuple[int, int]:
        """``(reason, stress_ppm)``: the first withdrawal rule that fires now (0 = none) and
        the highest ratio of a rule to its threshold, ppm."""
        cfg, ex = self.cfg, self.port.exchange
        absorbed = self._absorbed_in_window(ts) if self.toxic_q else 0
        if cfg.withdraw_on_outage and ex.down:
            return REASON_OUTAGE, 1_000_000
        if cfg.withdraw_on_adl and self.account_id in ex.adl_hits:
            return REASON_ADL, 1_000_000
        stress = 0
        if cfg.withdraw_on_volatility:
            rng = self.volatility.range_bps(cfg.vol_window_s)
            if rng > self.draws.vol_threshold_bps:
                return REASON_VOLATILITY, 1_000_000
            stress = rng * 1_000_000 // self.draws.vol_threshold_bps
        if cfg.withdraw_on_loss and self.start_equity is not None and self.state != WITHDRAWN:
            loss = self.start_equity - self._total_equity()
            if loss > self.loss_threshold_q:
                return REASON_LOSS, 1_000_000
            if self.loss_threshold_q:
                stress = max(stress, loss * 1_000_000 // self.loss_threshold_q)
        if self.toxic_q:
            if absorbed > self.toxic_q:
                return REASON_TOXIC, 1_000_000
            stress = max(stress, absorbed * 1_000_000 // self.toxic_q)
        return 0, stress

    def _stage(self, stress_ppm: int) -> int:
        """The stress stage (0 = calm) for a stress ratio below 1."""
        stages = self.cfg.stress_stages
        if not stages:
            return 0
        cfg = self.cfg
        lo = cfg.widen_from.numerator * 1_000_000 // cfg.widen_from.denominator
        if stress_ppm < lo:
            return 0
        return min(stages, 1 + (stress_ppm - lo) * stages // (1_000_000 - lo))

    # --------------------------------------------------------------- wakeup
    def wake(self, ts: int) -> None:
        """Check the rules, move between states, re-quote, schedule the next wakeup."""
        port = self.port
        ex = port.exchange
        if self.hedge is not None:
            pos = ex.accounts[self.account_id].positions.get(0)
            size, tlq = (pos.size if pos is not None else 0), port.instrument.tick_lot_quanta
            hedge, lag = self.hedge, self.cfg.hedge_latency_ms * 1_000_000
            if lag:     # decided now on this position, traded at the index when it lands
                port.schedule(ts + lag, Phase.INPUT,
                              lambda t: hedge.adjust(t, size, port.index_ticks, tlq))
            else:
                hedge.adjust(ts, size, port.index_ticks, tlq)
        if self.start_equity is None and ex.marks[0] is not None:
            self.start_equity = self._total_equity()
        if self.account_id in ex.margin_called:
            # Its own account margin-called: its capital here is gone -- it pulls what it
            # still quotes and stops for the rest of the run (*assumed*: no desk refunds a
            # liquidated venue account within an event).  No further wakeups.
            self.state = WITHDRAWN
            self._send(ts, self._pull)
            ex.log.append(ts, EventKind.MAKER_WITHDREW, account=self.account_id,
                          reason=REASON_LIQUIDATED)
            return
        reason, stress = self._trigger(ts)
        if reason:
            self.calm_since = None
            # An ADL hit is logged even on a maker already out: its naked hedge renews the
            # withdrawal (the calm clock starts again).
            if self.state != WITHDRAWN or reason == REASON_ADL:
                self.state = WITHDRAWN
                self._send(ts, self._pull)
                ex.log.append(ts, EventKind.MAKER_WITHDREW, account=self.account_id,
                              reason=reason)
            if reason == REASON_ADL:
                ex.adl_hits.pop(self.account_id, None)   # withdrawn once per ADL hit
        elif self.state == WITHDRAWN:
            if self.calm_since is None:
                self.calm_since = ts
            elif ts - self.calm_since >= self.draws.calm_s * 1_000_000_000:
                self.state = RECOVERING
                self.recover_start = ts
                # Losses are measured afresh from re-entry.
                self.start_equity = self._total_equity()
        if self.state == WITHDRAWN and (self.bids or self.asks) and not ex.down:
            self._send(ts, self._pull)       # quotes the venue would not cancel while down
        if self.state != WITHDRAWN:
            stage = self.stage = self._stage(stress)
            factor, fair = self._depth_factor_ppm(ts), self._fair()
            size, long_full, short_full, skew = self._inventory()
            self._send(ts, lambda t: self._quote(t, factor, fair, size, long_full, short_full,
                                                 stage, skew))
            if self.cfg.unwind_share and (long_full or short_full):
                self._unwind(ts, fair, -1 if long_full else 1)
        port.schedule(ts + self.refresh_ns, Phase.INPUT, self.wake)

    def _unwind(self, ts: int, fair: int, side: int) -> None:
        """Past its inventory limit, a maker also trades part of the excess away through the
        book: an IOC of ``unwind_share`` of the exposure beyond the limit on ``side``, no
        worse than ``unwind_band_bps`` from its fair value (rounded toward fair) -- the
        "hot potato" of a crash (docs/reference/breakers-and-events.md section 3 fact 11).
        Assumed rule; the hedge absorbs the rest at its capacity.  O(1)."""
        port, cfg = self.port, self.cfg
        ex = port.exchange
        pos = ex.accounts[self.account_id].positions.get(0)
        exposure = (pos.size if pos is not None else 0) + \
            (self.hedge.lots if self.hedge is not None else 0)
        price = ex.marks[0] or port.index_ticks
        lot_q = port.instrument.lot_value_q(price)
        excess = abs(exposure) * lot_q - self.inventory_limit_q
        share = cfg.unwind_share
        qty = excess * share.numerator // share.denominator // lot_q
        if qty <= 0:
            return
        limit = protection_limit(fair, side, Fraction(cfg.unwind_band_bps, 10_000))
        acct = self.account_id
        # Against its own resting quotes the older (the quote) is cancelled, as in its mass
        # quotes (Binance's expire-maker self-trade prevention).
        self._send(ts, lambda t: ex.submit(t, acct, 0, side, qty, price=limit, tif=IOC,
                                           stp=STP_EXPIRE_MAKER))

    def _send(self, ts: int, fn) -> None:
        """A message of this maker's: through the port, after its own latency if it has
        one (``MakerDraws.latency_ns``), else the scenario's."""
        lat = self.draws.latency_ns
        if lat is None:
            self.port.send(ts, fn)
        else:
            self.port.send(ts, fn, lat)

    def _fair(self) -> int:
        """The fair value in ticks: the index, moved toward this venue's last trade by
        ``last_weight`` (rounded toward the index).  O(1)."""
        index = self.port.index_ticks
        w = self.cfg.last_weight
        last = self.port.exchange.books[0].last_price if w else None
        if last is None:
            return index
        gap = (last - index) * w.numerator
        return index + (gap // w.denominator if gap >= 0 else -(-gap // w.denominator))

    def _inventory(self) -> tuple[int, bool, bool, int]:
        """(position in lots, long side full, short side full, skew in bps) now.  The
        exposure is the position plus the off-venue hedge; a side is full when the
        exposure's notional at the mark (the index before the first mark) is at or past
        ``inventory_limit``; the skew is ``skew_bps`` x exposure / limit (capped at
        ``skew_bps``, rounded toward zero), positive when long (quotes move down to sell).
        Read when the maker decides, so a quote in flight does not know of fills that
        happen while it travels.  O(1)."""
        port = self.port
        ex = port.exchange
        pos = ex.accounts[self.account_id].positions.get(0)
        size = pos.size if pos is not None else 0
        exposure = size + (self.hedge.lots if self.hedge is not None else 0)
        if not exposure:
            return size, False, False, 0
        notional = port.instrument.notional(ex.marks[0] or port.index_ticks, exposure)
        full = notional >= self.inventory_limit_q
        skew = 0
        if self.cfg.skew_bps and self.inventory_limit_q:
            mag = min(self.cfg.skew_bps, self.cfg.skew_bps * notional // self.inventory_limit_q)
            skew = mag if exposure > 0 else -mag
        return size, full and exposure > 0, full and exposure < 0, skew

    def _depth_factor_ppm(self, ts: int) -> int:
        if self.state == QUOTING:
            return 1_000_000
        span = self.cfg.recovery_s * 1_000_000_000
        done = ts - self.recover_start
        if span == 0 or done >= span:
            self.state = QUOTING
            return 1_000_000
        return max(1, done * 1_000_000 // span)

    # --------------------------------------------------------------- quotes
    def _pull(self, ts: int) -> None:
        """Cancel every quote.  One the venue refuses to cancel (it is down) stays on the
        ladder, and is pulled at a later wake."""
        ex = self.port.exchange
        book = ex.books[0]
        for ladder in (self.bids, self.asks):
            for price, oid in list(ladder.items()):
                if ex.cancel(ts, oid) or oid not in book:      # cancelled, or gone
                    del ladder[price]
        self._last_key = None       # the next quote must place its ladder anew

    def _quote(self, ts: int, factor_ppm: int, index_ticks: int, size: int, long_full: bool,
               short_full: bool, stage: int = 0, skew_bps: int = 0) -> None:
        """Bring the ladder of stress ``stage`` to its target around ``index_ticks`` moved
        by ``-skew_bps``, with the inventory blocks ``long_full``/``short_full`` -- all as
        the maker saw them when it decided (with order latency they are stale on arrival;
        ``size`` is its position then).  Skipped outright when the target inputs (fair
        value, depth factor, stage, inventory) are unchanged and none of its orders traded
        or was cancelled since the last quote (its open-order count says so)."""
        port = self.port
        ex = port.exchange
        if ex.down:         # the venue takes no message: the ladder stays as it rests
            return
        t = port.instrument.tick_lot_quanta
        cfg = self.cfg
        fair = index_ticks * (10_000 + cfg.basis_bps - skew_bps)        # x 1e4
        acct = ex.accounts[self.account_id]
        key = (fair, factor_ppm, long_full, short_full, size, stage)
        if key == self._last_key and len(acct.open_orders) == len(self.bids) + len(self.asks):
            return
        self._last_key = key
        factors, notionals, shape = self._shapes[stage]
        resized = self._pers is None or self._pers[0] != (stage, factor_ppm)
        if resized:
            if t is None:
                # Inverse: a level's lots are its notional at the price the scenario's
                # amounts were converted at (``LadderMemo`` with ``fixed_lots``): its
                # face value in quote stays as written, whatever the price.
                p0, k = port.units.price_ticks, port.instrument.inverse_k
                self._pers = ((stage, factor_ppm), [q * factor_ppm // 1_000_000 * p0 // k
                                                    for q in notionals])
            else:
                self._pers = ((stage, factor_ppm), [q * factor_ppm // 1_000_000 // t
                                                    for q in notionals])
        pers = self._pers[1]                                  # lots x ticks, per level
        memo = self._memo
        for side, blocked in ((1, long_full), (-1, short_full)):
            ladder = self.bids if side > 0 else self.asks
            if blocked:
                want, items = {}, []
            else:
                want, items = memo.quotes(shape, side, fair, factor_ppm, factors[side], pers)
            if resized or ladder.keys().isdisjoint(want):
                # The usual case (fair moved): nothing rests at a wanted price.  Or depth
                # is coming back (a new depth factor): every level is re-placed at its new
                # size -- a kept order would stay at the size it had when placed.
                keep, cancel, quotes = {}, list(ladder.values()), items
            else:
                # Keep an order at a wanted price with at least half its size (queue
                # position); cancel the rest, then place what is missing.
                resting_qty = ex.books[0].resting_qty
                keep, cancel = {}, []
                for price, oid in ladder.items():
                    qty = want.get(price)
                    if qty is not None and 2 * resting_qty(oid) >= qty:
                        keep[price] = oid
                    else:
                        cancel.append(oid)
                quotes = [(p, q) for p, q in want.items() if p not in keep]
            # One mass quote per side; the ladder is built from positive int ticks and lots.
            placed = ex.mass_quote(ts, self.account_id, 0, side, cancel, quotes,
                                   STP_EXPIRE_MAKER, validated=True)
            if keep:
                keep.update(placed)
            else:
                keep = placed
            if side > 0:
                self.bids = keep
            else:
                self.asks = keep
