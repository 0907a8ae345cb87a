"""CME Globex breakers: ``cme-dcb`` (Dynamic Circuit Breakers) and ``cme-velocity``
(Velocity Logic); plus the machinery shared with ``cde-hourly`` and ``xetra-vi``.

Reference: shared/reference/breakers-and-events.md section 1.2, P4 (DCB) [S14, S105, S106],
P5 (Velocity Logic) [S15, S16], section 4 (thresholds not in the sources).

Shared machinery (also imported by ``engine.breakers.cde`` and ``engine.breakers.xetra``)
------------------------------------------------------------------------------------------
``RollingRange``  high and low of the trade prices seen in a sliding time window:
                  two monotonic deques, O(1) amortised per trade and per query.
``BreachHalt``    a policy with a price corridor ``[lo, hi]`` that halts the venue when an
                  order would print outside it.  ``gate_order`` looks at the *potential*
                  execution prices of each incoming order before it reaches the book -- from
                  the opposite best (``best_bid``/``best_ask``) to the worst price its sweep
                  would reach (``OrderBook.sweep_price``, read-only, O(levels walked)):

                  * all inside the corridor, or the order does not cross: unchanged;
                  * the first potential price already outside: the venue halts *before*
                    the order is matched (``sim.halt`` inside the gate), so a GTC limit
                    rests in the halted book at its own price and a market/IOC/FOK order is
                    refused by the halted book (``MATCHING_HALTED``);
                  * the sweep would cross the edge: the order's limit (a market order's
                    protection price) is clipped to the edge, so it trades up to the limit
                    and no further -- its IOC/market remainder expires, a GTC remainder
                    rests at the edge -- and the venue halts as soon as the current task
                    (this order, or the liquidation cascade it belongs to) is over: the halt
                    is scheduled at the same timestamp in the BREAKERS phase, and any order
                    gated before that halts the venue first.

                  So no trade ever prints outside the corridor, and the halt's
                  ``TradingHalted`` event carries the trigger's timestamp.  The halt lasts
                  ``halt_length`` and ends with ``sim.reopen``: the uncross at the
                  volume-maximising price (ties nearest the reference; ``orderbook.auction``),
                  then continuous matching.  A halt of the venue by *another* policy is left
                  alone (compositions share one halt state; a trigger during it is ignored).
                  The Simulation uses one instrument (index 0); so do these policies.

Reason codes and event rows: a trigger logs ``BreakerTripped`` (``price`` = the breached
limit, ``value`` = the potential price that breached it, ``reason`` = the policy's CODE).
"""
from __future__ import annotations

from collections import deque

from orderbook.enums import FOK, GTC, MARKET

from ..phases import Phase
from ..rounding import floor_f
from . import register
from .base import (REASON_VELOCITY, Policy, choice, positive_pct, positive_seconds,
                   whole)

PHASE_BREAKERS = Phase.BREAKERS


class RollingRange:
    """High and low of (ts, price) observations not older than the window.

    Two monotonic deques (prices decreasing in ``_hi``, increasing in ``_lo``): ``add`` and
    ``expire`` are O(1) amortised, ``hi``/``lo`` O(1)."""

    __slots__ = ("_hi", "_lo")

    def __init__(self) -> None:
        self._hi: deque = deque()
        self._lo: deque = deque()

    def add(self, ts: int, price: int) -> None:
        hi, lo = self._hi, self._lo
        while hi and hi[-1][1] <= price:
            hi.pop()
        hi.append((ts, price))
        while lo and lo[-1][1] >= price:
            lo.pop()
        lo.append((ts, price))

    def expire(self, before: int) -> None:
        """Forget observations with ``ts < before``."""
        for d in (self._hi, self._lo):
            while d and d[0][0] < before:
                d.popleft()

    def clear(self) -> None:
        self._hi.clear()
        self._lo.clear()

    @property
    def hi(self) -> int | None:
        return self._hi[0][1] if self._hi else None

    @property
    def lo(self) -> int | None:
        return self._lo[0][1] if self._lo else None

    def __bool__(self) -> bool:
        return bool(self._hi)


def reopen_anchor(sim, result) -> int:
    """The price a policy restarts from after a reopening: the uncross price; with no
    reopening trade, the mid of the best bid and ask (rounded down), else the mark
    (assumed: the sources say nothing of a reopening without a trade)."""
    if result is not None and result.volume:
        return result.price
    book = sim.exchange.books[0]
    bid, ask = book.best_bid(), book.best_ask()
    if bid is not None and ask is not None:
        return (bid + ask) // 2
    return sim.exchange.marks[0]


def potential_prices(book, side: int, qty: int, price: int | None):
    """(first, worst) potential execution prices of an incoming order, or None if it
    would not trade now.  Ignores self-trade prevention (as ``sweep_price`` does)."""
    first = book.best_ask() if side > 0 else book.best_bid()
    if first is None or (price is not None and side * (price - first) < 0):
        return None
    return first, book.sweep_price(side, qty, price)


class BreachHalt(Policy):
    """Base of the corridor-and-halt policies (see the module docstring).

    Subclasses define ``corridor(sim, ts) -> (lo, hi)`` and ``halt_length(sim, ts)``, and
    may override ``observe`` (read new trades), ``on_breach`` and ``on_reopen``.
    ``REJECT_FOK``: an FOK that would leave the corridor is rejected with ``FOK_REASON``
    and triggers nothing (Xetra)."""

    REJECT_FOK = False
    FOK_REASON = 0
    QUOTES_TRIP = False         # a resting bid above / ask below the corridor trips too

    def __init__(self, params=None, where="breaker"):
        super().__init__(params, where)
        self.pending = False        # a breach waits for its task to end before halting
        self.halt_end = None        # end of our halt (ns), None when we are not halting
        self.halt_start = None
        self.halts = 0
        self.fok_rejected = 0

    # Subclass hooks --------------------------------------------------------------
    def corridor(self, sim, ts: int) -> tuple[int, int]:
        raise NotImplementedError

    def halt_length(self, sim, ts: int) -> int:
        raise NotImplementedError

    def observe(self, sim, ts: int) -> None:
        """Read the trades printed since the last call (subclasses that need them)."""

    def on_breach(self, sim, ts: int, edge: int) -> None:
        """A breach of ``edge`` was detected (before the halt starts)."""

    def on_reopen(self, sim, ts: int, result) -> None:
        """The venue reopened after our halt; ``result`` is the ``AuctionResult``."""

    def reopen_reference(self, sim) -> int | None:
        return sim.exchange.books[0].last_price

    # Hooks called by the Simulation -------------------------------------------------
    def evaluate(self, sim, ts):
        self.observe(sim, ts)
        if self.pending:
            self._halt(sim, ts)
        if self.halt_end is not None:
            if not sim.halted:          # someone else reopened the venue
                self.halt_end = None
            elif ts >= self.halt_end:
                self.halt_end = None
                result = sim.reopen(ts, self.reopen_reference(sim), self.CODE)
                self.on_reopen(sim, ts, result)

    def gate_order(self, sim, ts, account, inst, side, qty, price, order_type, tif, liquidation):
        if self.pending:
            self._halt(sim, ts)
        if sim.halted:
            return price, 0
        book = sim.exchange.books[inst]
        pp = potential_prices(book, side, qty, price)
        # A GTC limit bid above the corridor or ask below it quotes the market beyond a
        # limit if any of it rests (QUOTES_TRIP): all of it when it would not trade.
        quotes_beyond = self.QUOTES_TRIP and price is not None and order_type != MARKET \
            and tif == GTC
        if pp is None:
            if quotes_beyond:
                lo, hi = self.corridor(sim, ts)
                if price > hi if side > 0 else price < lo:
                    self._halt_now(sim, ts, hi if side > 0 else lo, price)   # it rests there
            return price, 0
        first, worst = pp
        lo, hi = self.corridor(sim, ts)
        if lo <= first <= hi and lo <= worst <= hi:
            if quotes_beyond and (price > hi if side > 0 else price < lo) \
                    and book.depth(-side, price) < qty:
                # It trades inside, then its remainder would rest beyond: clipped to the
                # limit like a sweep that would cross it, then the pre-open.
                return self._clip(sim, ts, hi if side > 0 else lo, price)
            return price, 0
        if self.REJECT_FOK and tif == FOK:
            self.fok_rejected += 1
            return price, self.FOK_REASON
        if not lo <= first <= hi:
            self._halt_now(sim, ts, lo if first < lo else hi, first)   # before it matches
            return price, 0
        return self._clip(sim, ts, hi if side > 0 else lo, worst)

    # Internals ---------------------------------------------------------------------
    def _halt_now(self, sim, ts: int, edge: int, value: int) -> None:
        """Trip at ``edge`` (``value`` the price beyond it) and halt at once."""
        self.trip(sim, ts, price=edge, value=value)
        self.on_breach(sim, ts, edge)
        self._halt(sim, ts)

    def _clip(self, sim, ts: int, edge: int, value: int) -> tuple[int, int]:
        """Trip at ``edge`` (``value`` the price beyond it), let the order trade up to the
        edge, and halt once its task is done (``pending``; at the latest at this
        instant's breakers phase).  Returns the gate's answer: the order repriced."""
        self.trip(sim, ts, price=edge, value=value)
        self.on_breach(sim, ts, edge)
        self.pending = True
        schedule = getattr(sim, "schedule", None)
        if schedule is not None:
            schedule(ts, PHASE_BREAKERS, lambda t: self._halt(sim, t) if self.pending else None)
        return edge, 0

    def _halt(self, sim, ts: int) -> None:
        self.pending = False
        if sim.halted:
            return
        sim.halt(ts, self.CODE)
        self.halts += 1
        self.halt_start = ts
        self.halt_end = ts + self.halt_length(sim, ts)


@register
class DynamicCircuitBreaker(BreachHalt):
    """``cme-dcb``: CME Dynamic Circuit Breakers (reference P4 [S14]; P3 [S13]).

    Limits.  ``variant = previous settle x variant_pct``, rounded down to a whole tick [S14];
    the previous settle is the scenario's start price (the mark at start; assumed: a replay
    has no prior session).  The high ``H`` and low ``L`` of trade prices in a rolling
    ``window_s`` (60-minute [S14]) look-back give the limits:
      ``limits = "range"`` (default):   lower = H - variant, upper = L + variant -- the
          market may not move more than the variant within the window ("If a contract
          market moves beyond +/- 3.5% within an hour, trading will be paused for two
          minutes" [S13]; "how far an instrument is allowed to move in a configured time
          interval" [S14]);
      ``limits = "extremes"``:          lower = L - variant, upper = H + variant -- the
          reference's spec line (P4 "Spec") reading of "the high and low prices within the
          window plus or minus the variant".  [S14]'s wording fits both; "range" is chosen
          because with "extremes" a steady slide of any size never trips.
    With no trade in the window, H = L = the last trade price, else the settle, or the
    restart price after a reopening (assumed).

    States.  OPEN -> (a trade, bid or ask would go beyond a limit: an order that would
    trade beyond it, or a resting bid above the upper / ask below the lower) -> PRE-OPEN for
    ``preopen_s`` (2 minutes, "no monitoring period" [S14]) -> reopening uncross -> OPEN,
    with the look-back window restarted [S14] from the reopening price (with no
    reopening trade: the mid of the best bid and ask, else the mark; assumed).
    Detection is before the trade prints (see the module docstring): the triggering
    order is clipped to the limit.

    Orders.  OPEN: resting orders stay; incoming limit/market/IOC/FOK/stop/liquidation
    orders trade normally inside the limits; one whose sweep would cross a limit is
    clipped to it (trades up to the limit; IOC/market/stop/liquidation remainder expires
    -- a fill failure for a liquidation; GTC remainder rests at the limit), then the
    pre-open starts.  If the opposite best is already beyond a limit, the pre-open starts
    before the order matches.  PRE-OPEN: orders are accepted, modified and cancelled but
    not matched [S14]; limit orders rest even if they cross; market orders "will not be
    accepted" [S105] and IOC/FOK, stop and liquidation orders (IOC/FOK/market) are refused
    by the halted book (``MATCHING_HALTED``; a liquidation refused this way is a fill
    failure) unless ``liq-pause`` defers the liquidation.
    Mark and margin during the pre-open: the Simulation feeds the mark policy no book
    quotes (the mark follows the index); margin checks continue every step.
    Reopening price: the uncross at the volume-maximising price, ties nearest the last
    price; if the book is not crossed the market reopens with no trade (and the window
    restarts from the mid, else the mark, as above).  Not modelled:
    lead-month/group propagation, the 5 s halt in the last five minutes of a session
    (24/7 replay: no close) [S14].
    """

    NAME = "cme-dcb"
    QUOTES_TRIP = True          # "trade/bid/ask beyond" the limits (P4)
    DOC = ("CME Dynamic Circuit Breaker: a move beyond the 60-min high/low -/+ variant "
           "(3.5% of settle) -> 2-minute pre-open, uncross, window restarts")
    CODE = 3
    PARAMS = {
        "variant_pct": ("3.5", positive_pct,
                        "variant = start price ('previous settle') x this %, "
                        "rounded down to a tick"),
        "window_s": (3600, positive_seconds, "rolling look-back window of trade prices"),
        "preopen_s": (120, positive_seconds,
                      "pre-open (no matching) after a trigger, then uncross"),
        "limits": ("range", choice("range", "extremes"),
                   "range: high-variant..low+variant; extremes: low-variant..high+variant"),
    }

    def __init__(self, params=None, where="breaker"):
        super().__init__(params, where)
        self.window = RollingRange()
        self.cursor = 0
        self.variant = 0
        self.anchor = None

    def start(self, sim):
        settle = sim.exchange.marks[0]
        self.variant = floor_f(settle * self.p["variant_pct"])
        self.anchor = settle
        self.cursor = len(sim.log)

    def observe(self, sim, ts):
        trades, self.cursor = sim.trades_since(self.cursor)
        window = self.window
        for t, p, _ in trades:
            window.add(t, p)
            self.anchor = p
        window.expire(ts - self.p["window_s"])

    def corridor(self, sim, ts):
        self.observe(sim, ts)
        hi = self.window.hi if self.window else self.anchor
        lo = self.window.lo if self.window else self.anchor
        v = self.variant
        if self.p["limits"] == "range":
            return max(1, hi - v), lo + v
        return max(1, lo - v), hi + v

    def halt_length(self, sim, ts):
        return self.p["preopen_s"]

    def on_reopen(self, sim, ts, result):
        # "After resumption the 60-minute look-back window restarts" [S14].
        self.window.clear()
        self.cursor = len(sim.log)
        self.anchor = reopen_anchor(sim, result)

    def counters(self):
        return {"dcb_trips": self.trips, "dcb_preopens": self.halts}


@register
class VelocityLogic(Policy):
    """``cme-velocity``: CME Velocity Logic (reference P5 [S15, S16]; thresholds: section 4).

    Trigger.  An incoming order whose potential execution prices (opposite best to the
    worst price of its sweep) lie ``ticks`` or more away from the high or low of the trades
    of the last ``window_s`` seconds (from the last trade price when there was none in the
    window; assumed) -- "market movement of a predefined number of ticks either up or down
    within a predefined time" [S15].  The thresholds are product-specific and not in the
    sources (section 4): ``ticks = 0`` means 1% of the start price in ticks, and
    ``window_s = 1``: both **assumed**.

    States and orders.
      OPEN: resting orders stay; orders that do not trigger trade normally.  A triggering
        Fill-and-Kill or market order -- here any IOC, FOK or market order, including stop
        orders (market reduce-only) and liquidation orders -- "is eliminated (cancelled)"
        and "the market will remain open" [S15]: it is rejected with reason 114 and
        nothing is paused (``on_immediate = "cancel"``, default).  With
        ``on_immediate = "cancel-and-pause"`` it is rejected *and* the pause starts (a
        reading of the 2018 account of "several 10 second pauses" [S16]; assumed).
        A triggering GTC limit order puts the market into the reserved / pre-open state
        before it matches (P5: "lead-month trigger puts the whole group ... into Pre-Open,
        other products into Reserved"; neither state matches orders [S15, S17]): the venue
        halts (``sim.halt``) and the order rests in the halted book.
      PAUSED (``pause_s``, 10 s per "several 10 second pauses" [S16]): "limit orders were
        accepted but market/IOC orders were rejected" [S16]: GTC limit orders rest (even
        crossing), market/IOC/FOK orders -- stops and liquidations too -- are rejected by
        the gate with reason 114 (a fill failure for a liquidation) unless ``liq-pause``
        defers the liquidation.  Resting orders stay ("customers can submit, modify and
        cancel orders" [S15]).  No trade prints.
      End of pause: ``sim.reopen`` uncrosses at the volume-maximising price (ties nearest
        the last price), or reopens with no trade when the book is not crossed; the
        look-back window restarts from the reopening price, else the mid of the best bid
        and ask, else the mark (assumed, as for the DCB).
    Mark and margin while paused: the mark policy gets no book quotes (index-driven);
    margin checks continue every step.  Not modelled: group/option propagation and mass
    quotes [S15].
    """

    NAME = "cme-velocity"
    DOC = ("CME Velocity Logic: a move of N ticks within T s -> the triggering market/IOC "
           "order is cancelled; a triggering limit order -> 10 s pause (limits only)")
    CODE = 4
    PARAMS = {
        "ticks": (0, whole, "trigger: a move of this many ticks within window_s "
                            "(0 = 1% of the start price; assumed)"),
        "window_s": (1, positive_seconds, "look-back window of trade prices (assumed)"),
        "pause_s": (10, positive_seconds,
                    "pause (no matching; limit orders only) after a trigger"),
        "on_immediate": ("cancel", choice("cancel", "cancel-and-pause"),
                         "a triggering market/IOC/FOK order: cancelled; optionally pause too"),
    }

    def __init__(self, params=None, where="breaker"):
        super().__init__(params, where)
        self.window = RollingRange()
        self.cursor = 0
        self.threshold = self.p["ticks"]
        self.anchor = None          # the last trade, or the restart price of a reopening
        self.pause_end = None
        self.pauses = 0
        self.cancelled = 0
        self.rejected_in_pause = 0

    def start(self, sim):
        if not self.threshold:
            self.threshold = max(1, sim.exchange.marks[0] // 100)
        self.cursor = len(sim.log)

    def _observe(self, sim, ts):
        trades, self.cursor = sim.trades_since(self.cursor)
        window = self.window
        for t, p, _ in trades:
            window.add(t, p)
            self.anchor = p
        window.expire(ts - self.p["window_s"])

    def _pause(self, sim, ts):
        if sim.halted:
            return
        sim.halt(ts, self.CODE)
        self.pauses += 1
        self.pause_end = ts + self.p["pause_s"]

    def evaluate(self, sim, ts):
        self._observe(sim, ts)
        if self.pause_end is not None:
            if not sim.halted:
                self.pause_end = None
            elif ts >= self.pause_end:
                self.pause_end = None
                result = sim.reopen(ts, sim.exchange.books[0].last_price, self.CODE)
                self.window.clear()
                self.cursor = len(sim.log)
                self.anchor = reopen_anchor(sim, result)
                self.window.add(ts, self.anchor)

    def gate_order(self, sim, ts, account, inst, side, qty, price, order_type, tif, liquidation):
        immediate = order_type == MARKET or tif != GTC
        if self.pause_end is not None and sim.halted:
            if immediate:
                self.rejected_in_pause += 1
                return price, REASON_VELOCITY
            return price, 0
        if sim.halted:
            return price, 0
        book = sim.exchange.books[inst]
        pp = potential_prices(book, side, qty, price)
        if pp is None:
            return price, 0
        self._observe(sim, ts)
        window = self.window
        # An empty window: the last trade, or the restart price until a trade (as the DCB).
        last = self.anchor if self.anchor is not None else book.last_price
        hi = window.hi if window else last
        lo = window.lo if window else last
        if hi is None:
            return price, 0
        first, worst = pp
        pmin, pmax = min(first, worst), max(first, worst)
        n = self.threshold
        if hi - pmin < n and pmax - lo < n:
            return price, 0
        far = pmin if hi - pmin >= n else pmax
        self.trip(sim, ts, price=hi if far == pmin else lo, value=far)
        if immediate:
            self.cancelled += 1
            if self.p["on_immediate"] == "cancel-and-pause":
                self._pause(sim, ts)
            return price, REASON_VELOCITY
        self._pause(sim, ts)        # the GTC order then rests in the paused book
        return price, 0

    def counters(self):
        return {"velocity_triggers": self.trips, "velocity_cancelled": self.cancelled,
                "velocity_pauses": self.pauses,
                "velocity_rejected_in_pause": self.rejected_in_pause}
