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

from orderbook.enums import STP_EXPIRE_MAKER

from ..phases import Phase
from ..venue.codes import WithdrawalReason
from ..venue.events import EventKind

QUOTING, WITHDRAWN, RECOVERING = 0, 1, 2
REASON_VOLATILITY, REASON_LOSS, REASON_ADL, REASON_OUTAGE = WithdrawalReason   # 1..4


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


class LadderMemo:
    """The latest ladder of each shape, shared by the makers of one simulation.

    A ladder is a pure function of its shape (level price factors and notionals), the fair
    value and the depth factor; makers configured alike see the same index at the same
    instant, so the first to quote computes it and the others reuse it (five makers: one
    ``quote_ladder`` call instead of five).  Results are the same with or without it.
    Keeps one entry per (shape, side): O(shapes) memory; a lookup is O(1).
    """

    __slots__ = ("_shapes", "_last")

    def __init__(self) -> None:
        self._shapes: dict[tuple, int] = {}
        self._last: dict[int, tuple] = {}

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
        want = quote_ladder(fair, side, factors, pers)
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


class MarketMaker:
    """One market maker, acting through ``port`` (``engine.phases.Port``).  ``share`` is its
    fraction (ppm) of the configured depth; ``volatility`` the run's shared
    ``VolatilityWindow``; ``memo`` the run's shared ``LadderMemo`` (a private one if None).
    ``cfg`` is the scenario's ``[makers]`` table and ``units`` its amounts in quantums
    (``ScenarioUnits``)."""

    def __init__(self, port, account_id: int, cfg, units, share_ppm: int,
                 volatility: VolatilityWindow, memo: LadderMemo | None = None):
        self.port = port
        self.volatility = volatility
        self.account_id = account_id
        self.cfg = cfg
        self.share_ppm = share_ppm
        self.state = QUOTING
        self.bids: dict[int, int] = {}     # price -> order id
        self.asks: dict[int, int] = {}
        self.calm_since: int | None = None
        self.recover_start = 0
        self.start_equity: int | None = None
        distances = [cfg.half_spread_bps + k * cfg.spacing_bps for k in range(cfg.levels)]
        bands = [(edge_bps, notional * share_ppm // 1_000_000)
                 for edge_bps, notional in units.maker_depth_bands]
        self.level_notional_q = level_notionals(distances, bands)
        self._pers: tuple[int, list[int]] | None = None    # (depth factor, lots x ticks)
        self.inventory_limit_q = units.maker_inventory_limit
        self.loss_threshold_q = units.maker_loss_threshold
        self.refresh_ns = cfg.refresh_ms * 1_000_000
        self._factors = {side: level_factors(side, cfg.half_spread_bps, cfg.spacing_bps,
                                             cfg.levels) for side in (1, -1)}
        self._last_key = None
        self._memo = memo if memo is not None else LadderMemo()
        self._shape = self._memo.shape_id(self._factors, self.level_notional_q)

    # ------------------------------------------------------------ triggers
    def _trigger(self, ts: int) -> int:
        """The first withdrawal rule that fires now (0 = none)."""
        cfg, ex = self.cfg, self.port.exchange
        if cfg.withdraw_on_outage and ex.down:
            return REASON_OUTAGE
        if cfg.withdraw_on_adl and self.account_id in ex.adl_hits:
            return REASON_ADL
        if cfg.withdraw_on_volatility and \
                self.volatility.range_bps(cfg.vol_window_s) > cfg.vol_threshold_bps:
            return REASON_VOLATILITY
        if cfg.withdraw_on_loss and self.start_equity is not None and self.state != WITHDRAWN:
            if self.start_equity - ex.cross_equity(ex.accounts[self.account_id]) > \
                    self.loss_threshold_q:
                return REASON_LOSS
        return 0

    # --------------------------------------------------------------- wakeup
    def wake(self, ts: int) -> None:
        """Check the rules, move between states, re-quote, schedule the next wakeup."""
        port = self.port
        ex = port.exchange
        if self.start_equity is None and ex.marks[0] is not None:
            self.start_equity = ex.cross_equity(ex.accounts[self.account_id])
        reason = self._trigger(ts)
        if reason:
            self.calm_since = None
            if self.state != WITHDRAWN:
                self.state = WITHDRAWN
                port.send(ts, self._pull)
                ex.log.append(ts, EventKind.MAKER_WITHDREW, account=self.account_id,
                              reason=reason)
            if reason == REASON_ADL:
                ex.adl_hits.pop(self.account_id, None)   # withdrawn once per ADL hit
        elif self.state == WITHDRAWN:
            if self.calm_since is None:
                self.calm_since = ts
            elif ts - self.calm_since >= self.cfg.calm_s * 1_000_000_000:
                self.state = RECOVERING
                self.recover_start = ts
                # Losses are measured afresh from re-entry.
                self.start_equity = ex.cross_equity(ex.accounts[self.account_id])
        if self.state == WITHDRAWN and (self.bids or self.asks) and not ex.down:
            port.send(ts, self._pull)        # quotes the venue would not cancel while down
        if self.state != WITHDRAWN:
            factor, fair = self._depth_factor_ppm(ts), port.index_ticks
            size, long_full, short_full = self._inventory()
            port.send(ts, lambda t: self._quote(t, factor, fair, size, long_full, short_full))
        port.schedule(ts + self.refresh_ns, Phase.INPUT, self.wake)

    def _inventory(self) -> tuple[int, bool, bool]:
        """(position in lots, long side full, short side full) now: a side is full when
        the position's notional at the mark (the index before the first mark) is at or
        past ``inventory_limit``.  Read when the maker decides, so a quote in flight does
        not know of fills that happen while it travels.  O(1)."""
        port = self.port
        ex = port.exchange
        pos = ex.accounts[self.account_id].positions.get(0)
        size = pos.size if pos is not None else 0
        if not size:
            return 0, False, False
        full = port.instrument.notional(ex.marks[0] or port.index_ticks, size) \
            >= self.inventory_limit_q
        return size, full and size > 0, full and size < 0

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
               short_full: bool) -> None:
        """Bring the ladder to its target around ``index_ticks`` with the inventory blocks
        ``long_full``/``short_full`` -- all as the maker saw them when it decided (with
        order latency they are stale on arrival; ``size`` is its position then).  Skipped
        outright when the target inputs (fair value, depth factor, inventory) are unchanged
        and none of its orders traded or was cancelled since the last quote (its
        open-order count says so)."""
        port = self.port
        ex = port.exchange
        if ex.down:         # the venue takes no message: the ladder stays as it rests
            return
        t = port.instrument.tick_lot_quanta
        cfg = self.cfg
        fair = index_ticks * (10_000 + cfg.basis_bps)        # x 1e4
        acct = ex.accounts[self.account_id]
        key = (fair, factor_ppm, long_full, short_full, size)
        if key == self._last_key and len(acct.open_orders) == len(self.bids) + len(self.asks):
            return
        self._last_key = key
        resized = self._pers is None or self._pers[0] != factor_ppm
        if resized:
            self._pers = (factor_ppm, [q * factor_ppm // 1_000_000 // t
                                       for q in self.level_notional_q])
        pers = self._pers[1]                                  # lots x ticks, per level
        memo, shape = self._memo, self._shape
        for side, blocked in ((1, long_full), (-1, short_full)):
            ladder = self.bids if side > 0 else self.asks
            if blocked:
                want, items = {}, []
            else:
                want, items = memo.quotes(shape, side, fair, factor_ppm, self._factors[side],
                                          pers)
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
