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

Withdrawal rules, each switchable (reference breakers-and-events.md section 3, facts 1, 7,
12): realised range of a one-second price over ``vol_window_s`` above
``vol_threshold_bps`` -- the index (the reference market, the default), or with
``vol_source = "last"`` / ``"mark"`` this venue's own last trade or mark price
(``Simulation.range_bps``); loss since start above ``loss_threshold``; its position ADL'd
("hedge ADL'd": the maker is left unhedged); a venue outage window.  Withdrawing cancels
every quote (``MakerWithdrew``); quotes a down venue would not cancel are pulled as soon
as it is back.  Re-entry needs ``calm_s`` seconds without a trigger;
depth then comes back linearly over ``recovery_s`` -- slower than price ("liquidity
hysteresis", fact 8).  The loss rule is a trigger, not a state: once withdrawn, only
volatility, ADL and outage keep a maker out, and losses are measured afresh from re-entry.
"""
from __future__ import annotations

from orderbook.enums import STP_EXPIRE_MAKER

from ..venue.events import EventKind
from ..phases import Phase

QUOTING, WITHDRAWN, RECOVERING = 0, 1, 2
REASON_VOLATILITY, REASON_LOSS, REASON_ADL, REASON_OUTAGE = 1, 2, 3, 4


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


class MarketMaker:
    """One market maker.  ``share`` is its fraction (ppm) of the configured depth;
    ``memo`` is the simulation's shared ``LadderMemo`` (a private one if None)."""

    def __init__(self, sim, account_id: int, cfg, share_ppm: int,
                 memo: LadderMemo | None = None):
        self.sim = sim
        self.account_id = account_id
        self.cfg = cfg
        self.share_ppm = share_ppm
        self.state = QUOTING
        self.bids: dict[int, int] = {}     # price -> order id
        self.asks: dict[int, int] = {}
        self.calm_since: int | None = None
        self.recover_start = 0
        self.start_equity: int | None = None
        ins = sim.instrument
        qpu = ins.quanta_per_unit
        distances = [cfg.half_spread_bps + k * cfg.spacing_bps for k in range(cfg.levels)]
        bands = [(pct * 100, int(notional * qpu) * share_ppm // 1_000_000)
                 for pct, notional in cfg.depth_bands]
        self.level_notional_q = level_notionals(distances, bands)
        self._pers: tuple[int, list[int]] | None = None    # (depth factor, lots x ticks)
        self.inventory_limit_q = int(cfg.inventory_limit * qpu)
        self.loss_threshold_q = int(cfg.loss_threshold * qpu)
        self.refresh_ns = cfg.refresh_ms * 1_000_000
        self._factors = {side: level_factors(side, cfg.half_spread_bps, cfg.spacing_bps,
                                             cfg.levels) for side in (1, -1)}
        self._last_key = None
        self._memo = memo if memo is not None else LadderMemo()
        self._shape = self._memo.shape_id(self._factors, self.level_notional_q)

    # ------------------------------------------------------------ triggers
    def _trigger(self, ts: int) -> int:
        """The first withdrawal rule that fires now (0 = none)."""
        cfg, sim = self.cfg, self.sim
        if cfg.withdraw_on_outage and sim.in_outage(ts):
            return REASON_OUTAGE
        if cfg.withdraw_on_adl and self.account_id in sim.exchange.adl_hits:
            return REASON_ADL
        if cfg.withdraw_on_volatility and sim.range_bps(cfg.vol_window_s) > cfg.vol_threshold_bps:
            return REASON_VOLATILITY
        if cfg.withdraw_on_loss and self.start_equity is not None and self.state != WITHDRAWN:
            ex = sim.exchange
            if self.start_equity - ex.cross_equity(ex.accounts[self.account_id]) > \
                    self.loss_threshold_q:
                return REASON_LOSS
        return 0

    # --------------------------------------------------------------- wakeup
    def wake(self, ts: int) -> None:
        """Check the rules, move between states, re-quote, schedule the next wakeup."""
        sim = self.sim
        ex = sim.exchange
        if self.start_equity is None and ex.marks[0] is not None:
            self.start_equity = ex.cross_equity(ex.accounts[self.account_id])
        reason = self._trigger(ts)
        if reason:
            self.calm_since = None
            if self.state != WITHDRAWN:
                self.state = WITHDRAWN
                sim.send(ts, self._pull)
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
            sim.send(ts, self._pull)        # quotes the venue would not cancel while down
        if self.state != WITHDRAWN:
            factor, fair = self._depth_factor_ppm(ts), sim.index_ticks
            size, long_full, short_full = self._inventory()
            sim.send(ts, lambda t: self._quote(t, factor, fair, size, long_full, short_full))
        sim.schedule(ts + self.refresh_ns, Phase.INPUT, self.wake)

    def _inventory(self) -> tuple[int, bool, bool]:
        """(position in lots, long side full, short side full) now: a side is full when
        the position's notional at the mark (the index before the first mark) is at or
        past ``inventory_limit``.  Read when the maker decides, so a quote in flight does
        not know of fills that happen while it travels.  O(1)."""
        sim = self.sim
        ex = sim.exchange
        pos = ex.accounts[self.account_id].positions.get(0)
        size = pos.size if pos is not None else 0
        if not size:
            return 0, False, False
        full = sim.instrument.notional(ex.marks[0] or sim.index_ticks, size) \
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
        ex = self.sim.exchange
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
        sim = self.sim
        ex = sim.exchange
        if ex.down:         # the venue takes no message: the ladder stays as it rests
            return
        t = sim.instrument.tick_lot_quanta
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
