"""``luld``: US Limit Up-Limit Down, emulated on one book (docs/reference/breakers-and-events.md
section 1.2, P1 [S1-S7]; section 4 for what is unconfirmed).
"""
from __future__ import annotations

from collections import deque
from fractions import Fraction

from orderbook.enums import MARKET

from ..venue.codes import BreakerId
from ..venue.rounding import ceil_f, floor_f
from .base import (REASON_LULD_BAND, Policy, auction_params, choice, pct, positive_pct,
                   positive_seconds)

CONT, LIMIT_STATE, PAUSE = 0, 1, 2


class LimitUpLimitDown(Policy):
    """``luld``: price bands around a 5-minute mean; limit state; 5-minute trading pause.

    Reference price.  "The arithmetic mean" of the trade prices of the preceding five
    minutes (``reference_window_s``) [S1]; recalculated every ``recalc_s`` (30 s) and
    republished only when it moved by ``republish_pct`` (1%) or more [S4]; rounded
    half-even to a tick.  Before any trade it is the first mark (the index at start: a
    replay has no opening auction; cf. "first reference = opening price" [S4]).  With no
    trade in the window the reference is kept (assumed).
    Bands: ``lower = ref x (1 - band_pct)``, ``upper = ref x (1 + band_pct)`` [S2],
    rounded inward to whole ticks.  ``band_pct`` 5 / 10 / 20 are the Tier 1 / Tier 2 /
    low-price tiers [S2]; the doubling in the first 15 and last 25 minutes of a trading
    day [S2] does not apply to a 24/7 replay.

    Rule: "trades may not occur outside the bands" [S7 quoting S1].  The venue rule for
    orders priced through a band is not in the sources (section 4); here, in CONTINUOUS
    and LIMIT STATE:
      * a limit order (GTC, IOC, FOK) priced through the band -- a buy above ``upper``,
        a sell below ``lower`` -- is repriced to the band edge (``mode = "reprice"``,
        default; its effective limit is ``min(limit, upper)`` for a buy, ``max(limit,
        lower)`` for a sell) or rejected with reason 113 (``mode = "reject"``);
      * a market order -- including the Simulation's stop orders (market reduce-only)
        and market liquidation orders -- gets the band edge as its protection price (or
        keeps a tighter one), so its remainder beyond the band expires;
      * liquidation orders (IOC/FOK at the bankruptcy price, or market) are banded like
        any other: what cannot fill inside the band is a fill failure;
      * resting orders stay.  A resting order priced *through* a band after the band
        moved (a bid above ``upper``, an ask below ``lower``: "unexecutable" in LULD
        [S7]) would match first in a single price-time book and print outside the band,
        so it is cancelled when the band moves (``OrderCancelled``; assumed).
    So no trade prints outside the band, and a sell limit repriced to the band rests
    *at* it: the quote that starts a limit state.

    States (P1 emulator spec: ``state in {CONT, LIMIT(t0), PAUSE(t0)}``):
      CONTINUOUS -> LIMIT STATE when the best ask is at the lower band or the best bid at
        the upper band ("NBO = lower band or NBB = upper band" [S3]).
      LIMIT STATE -> CONTINUOUS when no quote is at the band any more ("all Limit State
        Quotations are executed or canceled in their entirety" within 15 s [S3]); checked
        every step (the quote's identity is not tracked: a new quote at the band within
        the same step continues the limit state).
      LIMIT STATE -> PAUSE after ``limit_state_s`` (15 s) without exit [S3]: ``exchange.halt``
        for ``pause_s`` (5 minutes) [S3].
      PAUSE: no matching.  Resting orders stay; GTC limit orders are accepted at any price
        (bands are not applied, the collar decides) and rest even if they cross.  Market
        orders -- stops' and Hyperliquid's liquidation orders included -- queue into the
        reopening auction (``queue_market_orders``, default true: the reopening "cannot
        reopen" with "a remaining market-order imbalance" [S3], so market orders take part
        in it); their remainder expires after it.  IOC/FOK orders, and liquidation orders
        that are IOC/FOK limits (Binance, tiered, dYdX), are refused by the halted book (a
        fill failure for a liquidation) unless ``liq-pause`` defers the liquidation; with
        ``queue_market_orders = false`` market orders are refused too, as before.
        The mark policy gets no book quotes (the mark follows the index) and margin
        checks continue every step.
      End of pause: the indicative uncross (``exchange.indicative``, ties nearest the
        reference; ``auction_price_rule``, default every-tick: the reference gives the
        uncross "at the maximum-volume price inside the auction collar" [P1 spec] and no
        tie-break beyond it, so the book's own rule is kept).  If its price lies inside the auction collar, the reopening auction
        (``port.reopen``) trades at it; if the book is not crossed (no pair-off, no
        imbalance) trading reopens with no trade; otherwise the pause is extended by
        ``extension_s`` (5 minutes) and tried again [S3].  The collar is not in the
        sources: **assumed** ``ref x (1 -+ (band_pct + k x collar_step_pct))`` after ``k``
        extensions (it widens, so a pause ends).
      After reopening, bands are re-applied [S3] around a new reference: the reopening
        price, or with no reopening trade the mid of the best bid and ask, else the mark
        (assumed); the 5-minute window restarts from the reopening trades.
    Not modelled: pauses across venues, the closing cross in the last 10 minutes [S5].
    """

    NAME = "luld"
    DOC = ("US Limit Up-Limit Down: no trade outside ref (5-min mean) +- band; quote at "
           "the band 15 s -> 5-minute pause, reopening auction inside a collar, else extend")
    CAP_REASON = REASON_LULD_BAND
    CODE = BreakerId.LULD
    PARAMS = {
        "band_pct": (5, positive_pct,
                     "band around the reference: 5 Tier 1, 10 Tier 2, 20 low-priced"),
        "limit_state_s": (15, positive_seconds,
                          "a limit state not cleared within this -> trading pause"),
        "pause_s": (300, positive_seconds, "trading pause length"),
        "extension_s": (300, positive_seconds,
                        "extension when the reopening cannot uncross in the collar"),
        "reference_window_s": (300, positive_seconds,
                               "the reference is the mean trade price of this window"),
        "recalc_s": (30, positive_seconds, "how often the reference is recalculated"),
        "republish_pct": (1, pct, "the reference is republished only on a change this large"),
        "collar_step_pct": (5, pct,
                            "auction collar = band + k x this after k extensions (assumed)"),
        "mode": ("reprice", choice("reprice", "reject"),
                 "a limit order priced through the band: repriced to it, or rejected (113)"),
        **auction_params(True, "every-tick"),
    }

    def __init__(self, params=None, where="breaker"):
        super().__init__(params, where)
        self.state = CONT
        self.ref = None
        self.lower = self.upper = 0
        self.trades: deque = deque()
        self.sum = 0
        self.cursor = 0
        self.last_calc = 0
        self.limit_since = None
        self.pause_end = None
        self.pause_extensions = 0
        self.limit_states = 0
        self.pauses = 0
        self.extensions = 0
        self.reference_updates = 0
        self.repriced = 0
        self.capped = 0
        self.rejected = 0
        self.cancelled = 0

    # ---------------------------------------------------------------- bands
    def _set_reference(self, ref: int) -> None:
        b = self.params["band_pct"]
        self.ref = ref
        self.lower = max(1, ceil_f(ref * (1 - b)))
        self.upper = floor_f(ref * (1 + b))

    def collar(self) -> tuple[int, int]:
        """The auction collar after the extensions so far (assumed; see class docstring)."""
        w = self.params["band_pct"] + self.pause_extensions * self.params["collar_step_pct"]
        return max(1, ceil_f(self.ref * (1 - w))), floor_f(self.ref * (1 + w))

    def start(self):
        self._set_reference(self.exchange.marks[0])
        self.cursor = len(self.exchange.log)

    def _ingest(self, ts) -> None:
        """Trades since the last call into the 5-minute window.  O(new trades)."""
        new, self.cursor = self.exchange.log.trades_since(self.cursor)
        trades = self.trades
        for t, p, _ in new:
            trades.append((t, p))
            self.sum += p
        before = ts - self.params["reference_window_s"]
        while trades and trades[0][0] < before:
            self.sum -= trades.popleft()[1]

    def _recalculate(self, ts) -> None:
        self.last_calc = ts
        if not self.trades:
            return
        pro = round(Fraction(self.sum, len(self.trades)))      # half-even to a tick
        if abs(pro - self.ref) >= self.ref * self.params["republish_pct"]:
            self._set_reference(pro)
            self.reference_updates += 1

    def _cancel_through(self, ts) -> None:
        """Cancel resting orders priced through a band (bids above upper, asks below lower)."""
        ex = self.exchange
        book = ex.books[0]
        for side, beyond in ((1, lambda p: p > self.upper), (-1, lambda p: p < self.lower)):
            while True:
                best = book.best_bid() if side > 0 else book.best_ask()
                if best is None or not beyond(best):
                    break
                done = 0
                for info in book.orders_at(side, best):
                    if ex.cancel(ts, info.order_id):
                        done += 1
                self.cancelled += done
                if not done:
                    break

    # ---------------------------------------------------------------- hooks
    def evaluate(self, ts):
        if self.state == PAUSE:
            if not self.exchange.halted:                  # someone else reopened the venue
                self._resumed(ts, None)
            elif ts >= self.pause_end:
                self._end_of_pause(ts)
            return
        self._ingest(ts)
        if self.exchange.halted:
            if self.state == LIMIT_STATE:
                # Another policy halted the venue: nothing trades at the band meanwhile, so
                # a limit state cannot run out; it starts afresh after the reopening.
                self.state = CONT
                self.limit_since = None
            return
        if ts - self.last_calc >= self.params["recalc_s"]:
            self._recalculate(ts)
        self._cancel_through(ts)
        book = self.exchange.books[0]
        bid, ask = book.best_bid(), book.best_ask()
        at_lower = ask is not None and ask <= self.lower
        at_band = at_lower or (bid is not None and bid >= self.upper)
        if self.state == CONT:
            if at_band:
                self.state = LIMIT_STATE
                self.limit_since = ts
                self.limit_states += 1
                self.trip(ts, price=self.lower if at_lower else self.upper, value=1)
        elif not at_band:
            self.state = CONT
            self.limit_since = None
        elif ts - self.limit_since >= self.params["limit_state_s"]:
            self.state = PAUSE
            self.pause_end = ts + self.params["pause_s"]
            self.pause_extensions = 0
            self.pauses += 1
            self.trip(ts, price=self.lower if at_lower else self.upper, value=2)
            self.halt_venue(ts)

    def _end_of_pause(self, ts) -> None:
        ind = self.exchange.indicative(self.ref)
        lo, hi = self.collar()
        if ind.price is not None and ind.volume and not lo <= ind.price <= hi:
            self.pause_extensions += 1
            self.extensions += 1
            self.pause_end = ts + self.params["extension_s"]
            self.trip(ts, price=ind.price, value=3)
            return
        result = self.port.reopen(ts, self.ref, self.CODE)
        self._resumed(ts, result)

    def _resumed(self, ts, result) -> None:
        book = self.exchange.books[0]
        if result is not None and result.volume:
            ref = result.price
        elif book.best_bid() is not None and book.best_ask() is not None:
            ref = (book.best_bid() + book.best_ask()) // 2
        else:
            ref = self.exchange.marks[0] or self.ref
        self.state = CONT
        self.limit_since = None
        self.pause_end = None
        self.trades.clear()
        self.sum = 0
        self.last_calc = ts
        self._set_reference(ref)
        self._ingest(ts)                   # the reopening trades open the new window
        self._cancel_through(ts)

    def gate_order(self, ts, account, inst, side, qty, price, order_type, tif, liquidation):
        if self.state == PAUSE or self.exchange.halted:
            return price, 0
        edge = self.upper if side > 0 else self.lower
        if order_type == MARKET:
            if price is None or side * (price - edge) > 0:
                self.moved = REASON_LULD_BAND
                return edge, 0
            return price, 0
        if side * (price - edge) > 0:
            if self.params["mode"] == "reject":
                self.rejected += 1
                return price, REASON_LULD_BAND
            self.repriced += 1
            self.moved = REASON_LULD_BAND
            return edge, 0
        return price, 0

    def counters(self):
        return {"luld_limit_states": self.limit_states, "luld_pauses": self.pauses,
                "luld_extensions": self.extensions,
                "luld_reference_updates": self.reference_updates,
                "luld_repriced": self.repriced, "luld_market_capped": self.capped,
                "luld_rejected": self.rejected, "luld_cancelled_through_band": self.cancelled}
