"""CME Globex breakers: ``cme-dcb`` (Dynamic Circuit Breakers) and ``cme-velocity``
(Velocity Logic).

Reference: docs/reference/breakers-and-events.md section 1.2, P4 (DCB) [S14, S105, S106],
P5 (Velocity Logic) [S15, S16], section 4 (thresholds not in the sources).

The shared corridor machinery (``RollingRange``, ``BreachHalt``) is in
``engine.breakers.corridor``.

Reason codes and event rows: a trigger logs ``BreakerTripped`` (``price`` = the breached
limit, ``value`` = the potential price that breached it, ``reason`` = the policy's CODE).
"""
from __future__ import annotations

from orderbook.enums import GTC, MARKET

from ..venue.codes import BreakerId
from ..venue.rounding import floor_f
from .base import (REASON_DCB, REASON_VELOCITY, Policy, choice, positive_pct, positive_seconds,
                   whole)
from .corridor import BreachHalt, RollingRange, potential_prices, reopen_anchor


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
    CODE = BreakerId.CME_DCB
    MOVE_REASON = REASON_DCB
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

    def start(self):
        settle = self.exchange.marks[0]
        self.variant = floor_f(settle * self.params["variant_pct"])
        self.anchor = settle
        self.cursor = len(self.exchange.log)

    def observe(self, ts):
        trades, self.cursor = self.exchange.log.trades_since(self.cursor)
        window = self.window
        for t, p, _ in trades:
            window.add(t, p)
            self.anchor = p
        window.expire(ts - self.params["window_s"])

    def corridor(self, ts):
        self.observe(ts)
        hi = self.window.hi if self.window else self.anchor
        lo = self.window.lo if self.window else self.anchor
        v = self.variant
        if self.params["limits"] == "range":
            return max(1, hi - v), lo + v
        return max(1, lo - v), hi + v

    def halt_length(self, ts):
        return self.params["preopen_s"]

    def on_reopen(self, ts, result):
        # "After resumption the 60-minute look-back window restarts" [S14].
        self.window.clear()
        self.cursor = len(self.exchange.log)
        self.anchor = reopen_anchor(self.exchange, result)

    def counters(self):
        return {"dcb_trips": self.trips, "dcb_preopens": self.halts}


class VelocityLogic(Policy):
    """``cme-velocity``: CME Velocity Logic (reference P5 [S15, S16]; thresholds: section 4).

    Trigger.  An incoming order whose potential execution prices (opposite best to the
    worst price of its sweep) lie ``ticks`` or more away from the high or low of the trades
    of the last ``window_s`` seconds -- "market movement of a predefined number of ticks
    either up or down within a predefined time" [S15].
    No trade in the window, **assumed**: measured from the book's mid, else the last trade.
    Nothing has moved within the window, so the move is measured from where the market
    stands: the mid of the best bid and ask (rounded down), else (a one-sided or empty
    book) the last trade or the restart price of a reopening.  Measuring from the last
    trade however old froze a market whose makers had re-quoted lower without a trade: on
    mar-2020-bitmex every taker and liquidation order was then a "move" from a print
    minutes old and none traded for the rest of the run.  The thresholds are
    product-specific and not in the sources (section 4): ``ticks = 0`` means 1% of the
    start price in ticks, and ``window_s = 1``: both **assumed**.

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
        halts (``exchange.halt``) and the order rests in the halted book.
      PAUSED (``pause_s``, 10 s per "several 10 second pauses" [S16]): "limit orders were
        accepted but market/IOC orders were rejected" [S16]: GTC limit orders rest (even
        crossing), market/IOC/FOK orders -- stops and liquidations too -- are rejected by
        the gate with reason 114 (a fill failure for a liquidation) unless ``liq-pause``
        defers the liquidation.  Resting orders stay ("customers can submit, modify and
        cancel orders" [S15]).  No trade prints.
      End of pause: ``port.reopen`` uncrosses at the volume-maximising price (ties nearest
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
    CODE = BreakerId.CME_VELOCITY
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
        self.threshold = self.params["ticks"]
        self.anchor = None          # the last trade, or the restart price of a reopening
        self.pause_end = None
        self.pauses = 0
        self.cancelled = 0
        self.rejected_in_pause = 0

    def start(self):
        if not self.threshold:
            self.threshold = max(1, self.exchange.marks[0] // 100)
        self.cursor = len(self.exchange.log)

    def _observe(self, ts):
        trades, self.cursor = self.exchange.log.trades_since(self.cursor)
        window = self.window
        for t, p, _ in trades:
            window.add(t, p)
            self.anchor = p
        window.expire(ts - self.params["window_s"])

    def _pause(self, ts):
        if self.exchange.halted:
            return
        self.exchange.halt(ts, self.CODE)
        self.pauses += 1
        self.pause_end = ts + self.params["pause_s"]

    def evaluate(self, ts):
        self._observe(ts)
        if self.pause_end is not None:
            if not self.exchange.halted:
                self.pause_end = None
            elif ts >= self.pause_end:
                self.pause_end = None
                result = self.port.reopen(ts, self.exchange.books[0].last_price, self.CODE)
                self.window.clear()
                self.cursor = len(self.exchange.log)
                self.anchor = reopen_anchor(self.exchange, result)
                self.window.add(ts, self.anchor)

    def gate_order(self, ts, account, inst, side, qty, price, order_type, tif, liquidation):
        immediate = order_type == MARKET or tif != GTC
        if self.pause_end is not None and self.exchange.halted:
            if immediate:
                self.rejected_in_pause += 1
                return price, REASON_VELOCITY
            return price, 0
        if self.exchange.halted:
            return price, 0
        book = self.exchange.books[inst]
        pp = potential_prices(book, side, qty, price)
        if pp is None:
            return price, 0
        self._observe(ts)
        window = self.window
        if window:
            hi, lo = window.hi, window.lo
        else:
            # No trade within the window: measured from where the market stands (docstring).
            bid, ask = book.best_bid(), book.best_ask()
            if bid is not None and ask is not None:
                hi = lo = (bid + ask) // 2
            else:
                hi = lo = self.anchor if self.anchor is not None else book.last_price
        if hi is None:
            return price, 0
        first, worst = pp
        pmin, pmax = min(first, worst), max(first, worst)
        n = self.threshold
        if hi - pmin < n and pmax - lo < n:
            return price, 0
        far = pmin if hi - pmin >= n else pmax
        self.trip(ts, price=hi if far == pmin else lo, value=far)
        if immediate:
            self.cancelled += 1
            if self.params["on_immediate"] == "cancel-and-pause":
                self._pause(ts)
            return price, REASON_VELOCITY
        self._pause(ts)        # the GTC order then rests in the paused book
        return price, 0

    def counters(self):
        return {"velocity_triggers": self.trips, "velocity_cancelled": self.cancelled,
                "velocity_pauses": self.pauses,
                "velocity_rejected_in_pause": self.rejected_in_pause}
