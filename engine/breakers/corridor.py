"""Machinery shared by the corridor-and-halt policies (``cme-dcb``, ``cde-hourly``,
``xetra-vi``) and the velocity logic.

``RollingRange``  high and low of the trade prices seen in a sliding time window:
                  two monotonic deques, O(1) amortised per trade and per query.
``BreachHalt``    a policy with a price corridor ``[lo, hi]`` that halts the venue when an
                  order would print outside it.  ``gate_order`` looks at the *potential*
                  execution prices of each incoming order before it reaches the book -- from
                  the opposite best (``best_bid``/``best_ask``) to the worst price its sweep
                  would reach (``OrderBook.sweep_price``, read-only, O(levels walked)):

                  * all inside the corridor, or the order does not cross: unchanged;
                  * the first potential price already outside: the venue halts *before*
                    the order is matched (``exchange.halt`` inside the gate), so a GTC limit
                    rests in the halted book at its own price, an IOC/FOK order is refused
                    by the halted book (``MATCHING_HALTED``), and so is a market order
                    unless the policy queues market orders into the auction
                    (``queue_market_orders``: ``xetra-vi``);
                  * the sweep would cross the edge: the order's limit (a market order's
                    protection price) is clipped to the edge, so it trades up to the limit
                    and no further -- its IOC/market remainder expires, a GTC remainder
                    rests at the edge -- and the venue halts as soon as the current task
                    (this order, or the liquidation cascade it belongs to) is over: the halt
                    is scheduled at the same timestamp in the BREAKERS phase, and any order
                    gated before that halts the venue first.

                  So no trade ever prints outside the corridor, and the halt's
                  ``TradingHalted`` event carries the trigger's timestamp.  The halt lasts
                  ``halt_length`` and ends with ``port.reopen``: the uncross at the
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
from .base import Policy

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


def reopen_anchor(exchange, result) -> int:
    """The price a policy restarts from after a reopening: the uncross price; with no
    reopening trade, the mid of the best bid and ask (rounded down), else the mark
    (assumed: the sources say nothing of a reopening without a trade)."""
    if result is not None and result.volume:
        return result.price
    book = exchange.books[0]
    bid, ask = book.best_bid(), book.best_ask()
    if bid is not None and ask is not None:
        return (bid + ask) // 2
    return exchange.marks[0]


def potential_prices(book, side: int, qty: int, price: int | None):
    """(first, worst) potential execution prices of an incoming order, or None if it
    would not trade now.  Ignores self-trade prevention (as ``sweep_price`` does)."""
    first = book.best_ask() if side > 0 else book.best_bid()
    if first is None or (price is not None and side * (price - first) < 0):
        return None
    return first, book.sweep_price(side, qty, price)


class BreachHalt(Policy):
    """Base of the corridor-and-halt policies (see the module docstring).

    Subclasses define ``corridor(ts) -> (lo, hi)`` and ``halt_length(ts)``, and
    may override ``observe`` (read new trades), ``on_breach`` and ``on_reopen``.
    ``REJECT_FOK``: an FOK that would leave the corridor is rejected with ``FOK_REASON``
    and triggers nothing (Xetra)."""

    REJECT_FOK = False
    FOK_REASON = 0
    MOVE_REASON = 0             # an order clipped to a limit: its remainder's expiry reason
    QUOTES_TRIP = False         # a resting bid above / ask below the corridor trips too

    def __init__(self, params=None, where="breaker"):
        super().__init__(params, where)
        self.pending = False        # a breach waits for its task to end before halting
        self.halt_end = None        # end of our halt (ns), None when we are not halting
        self.halt_start = None
        self.halts = 0
        self.fok_rejected = 0

    # Subclass hooks --------------------------------------------------------------
    def corridor(self, ts: int) -> tuple[int, int]:
        raise NotImplementedError

    def halt_length(self, ts: int) -> int:
        raise NotImplementedError

    def observe(self, ts: int) -> None:
        """Read the trades printed since the last call (subclasses that need them)."""

    def on_breach(self, ts: int, edge: int) -> None:
        """A breach of ``edge`` was detected (before the halt starts)."""

    def on_reopen(self, ts: int, result) -> None:
        """The venue reopened after our halt; ``result`` is the ``AuctionResult``."""

    def reopen_reference(self) -> int | None:
        return self.exchange.books[0].last_price

    # Hooks: evaluate by the loop, gate_order by the Exchange (its BreakerHook) ----------
    def evaluate(self, ts):
        self.observe(ts)
        if self.pending:
            self._halt(ts)
        if self.halt_end is not None:
            if not self.exchange.halted:          # someone else reopened the venue
                self.halt_end = None
            elif ts >= self.halt_end:
                self.halt_end = None
                result = self.port.reopen(ts, self.reopen_reference(), self.CODE)
                self.on_reopen(ts, result)

    def gate_order(self, ts, account, inst, side, qty, price, order_type, tif, liquidation):
        if self.pending:
            self._halt(ts)
        if self.exchange.halted:
            return price, 0
        book = self.exchange.books[inst]
        pp = potential_prices(book, side, qty, price)
        # A GTC limit bid above the corridor or ask below it quotes the market beyond a
        # limit if any of it rests (QUOTES_TRIP): all of it when it would not trade.
        quotes_beyond = self.QUOTES_TRIP and price is not None and order_type != MARKET \
            and tif == GTC
        if pp is None:
            if quotes_beyond:
                lo, hi = self.corridor(ts)
                if price > hi if side > 0 else price < lo:
                    self._halt_now(ts, hi if side > 0 else lo, price)   # it rests there
            return price, 0
        first, worst = pp
        lo, hi = self.corridor(ts)
        if lo <= first <= hi and lo <= worst <= hi:
            if quotes_beyond and (price > hi if side > 0 else price < lo) \
                    and book.depth(-side, price) < qty:
                # It trades inside, then its remainder would rest beyond: clipped to the
                # limit like a sweep that would cross it, then the pre-open.
                return self._clip(ts, hi if side > 0 else lo, price)
            return price, 0
        if self.REJECT_FOK and tif == FOK:
            self.fok_rejected += 1
            return price, self.FOK_REASON
        if not lo <= first <= hi:
            self._halt_now(ts, lo if first < lo else hi, first)   # before it matches
            return price, 0
        return self._clip(ts, hi if side > 0 else lo, worst)

    # Internals ---------------------------------------------------------------------
    def _halt_now(self, ts: int, edge: int, value: int) -> None:
        """Trip at ``edge`` (``value`` the price beyond it) and halt at once."""
        self.trip(ts, price=edge, value=value)
        self.on_breach(ts, edge)
        self._halt(ts)

    def _clip(self, ts: int, edge: int, value: int) -> tuple[int, int]:
        """Trip at ``edge`` (``value`` the price beyond it), let the order trade up to the
        edge, and halt once its task is done (``pending``; at the latest at this
        instant's breakers phase).  Returns the gate's answer: the order repriced."""
        self.trip(ts, price=edge, value=value)
        self.on_breach(ts, edge)
        self.moved = self.MOVE_REASON
        self.pending = True
        self.port.schedule(ts, PHASE_BREAKERS, lambda t: self._halt(t) if self.pending else None)
        return edge, 0

    def _halt(self, ts: int) -> None:
        self.pending = False
        if self.exchange.halted:
            return
        self.halt_venue(ts)
        self.halts += 1
        self.halt_start = ts
        self.halt_end = ts + self.halt_length(ts)
