"""Other takers: background two-sided flow (``[background]``) and dip buyers resting far below
(``[[dip_buyers]]``), each trading through the book from its own account -- so volume,
trades and a baseline exist before an event, and a fall meets bids a cascade may reach.

Background flow (``BackgroundFlow``, account ``BACKGROUND_ACCOUNT``): orders arrive as a
Poisson process of ``rate_per_s`` per second (exponential gaps, ns rounded down, at least 1);
each is a market order, IOC, protected ``limit_pct`` from the index (``protection_limit``,
like the programs), of a log-normal notional (median ``notional_median``, log-sd
``notional_sigma``; lots at the index rounded down; 0 lots: nothing sent).  Its side: with
probability ``momentum_share`` the sign of this venue's last-price change over the last
``momentum_window_s`` one-second samples (momentum and stop flow; a random side when it is 0
or before there is history), else a buy with probability ``buy_share``.  Only inside
``window`` (the whole run without one), and not while the venue is down or halted:
takers who see the venue's status wait, not send orders it would refuse (assumed).
The account is deep-pocketed (a billion quote units, like the programs' account): it takes both
sides and is never near liquidation.

Randomness: its own generator ``default_rng([seed, BACKGROUND_STREAM])``, never the run's:
the first gap at set-up, then at every arrival, in this order, a uniform for momentum, a
uniform for the side, a standard normal for the size and the next gap -- drawn whether or
not the order is sent, so the stream does not depend on the venue's state.

Dip buyers (``DipBuyers``, account ``DIP_ACCOUNT``): one GTC bid per ``[[dip_buyers]]`` entry
at ``anchor x (1 + offset_pct/100)`` (rounded down) for its notional (lots rounded down), the
anchor being the start price (``"start"``: placed at 0 and left alone) or the index's running
high (``"high"``: checked every second; when the high has risen the unfilled rest is
cancelled and re-placed at the new price for the notional not yet bought).  A filled bid is
not re-posted: each buys its dip once.
Dip buyers are unlevered (assumed): the deposit is the sum of their bids' notionals.  No randomness.
"""
from __future__ import annotations

import math
from collections import deque
from fractions import Fraction

import numpy as np

from ..phases import SECOND, Phase
from ..venue.accounts import BACKGROUND_ACCOUNT, DIP_ACCOUNT
from ..venue.rounding import ceil_f, protection_limit
from .programs import lots_at, offset_price, rest_order, send_taker

BACKGROUND_STREAM = 1302    # the background flow's child generator: default_rng([seed, 1302])


class BackgroundFlow:
    """The background takers, acting through ``port``; ``notional_q`` is the median order
    notional in quantums.  O(1) per arrival; one price sample a second when momentum is on."""

    __slots__ = ("port", "cfg", "notional_q", "rng", "mean_gap_ns", "band", "window",
                 "prices", "sent")

    def __init__(self, port, cfg, notional_q: int, rng):
        self.port = port
        self.cfg = cfg
        self.notional_q = notional_q
        self.rng = rng
        self.mean_gap_ns = SECOND / float(cfg.rate_per_s)
        self.band = Fraction(cfg.limit_pct) / 100
        w = cfg.window
        self.window = None if w is None else (ceil_f(w[0] * SECOND), ceil_f(w[1] * SECOND))
        self.prices: deque = deque(maxlen=cfg.momentum_window_s + 1)
        self.sent = 0           # orders sent (tests and reports)

    def _gap(self) -> int:
        return max(1, int(self.rng.exponential(self.mean_gap_ns)))

    def start(self, end_ns: int) -> None:
        self.port.schedule(self._gap(), Phase.INPUT, self.arrive)
        if self.cfg.momentum_share:
            for ts in range(0, end_ns + 1, SECOND):
                self.port.schedule(ts, Phase.SAMPLE, self.sample)

    def sample(self, ts: int) -> None:
        """This second's last price (the index until the venue has one)."""
        last = self.port.exchange.books[0].last_price
        self.prices.append(self.port.index_ticks if last is None else last)

    def arrive(self, ts: int) -> None:
        """One arrival: its draws, the next arrival, and the order if the venue takes it."""
        rng, cfg, port = self.rng, self.cfg, self.port
        u_momentum, u_side = rng.random(), rng.random()
        z = rng.standard_normal()
        port.schedule(ts + self._gap(), Phase.INPUT, self.arrive)
        ex, w = port.exchange, self.window
        if ex.down or ex.halted or w is not None and not w[0] <= ts < w[1]:
            return
        side = 0
        prices = self.prices
        if u_momentum < cfg.momentum_share and len(prices) > cfg.momentum_window_s:
            side = (prices[-1] > prices[0]) - (prices[-1] < prices[0])
        if not side:
            side = 1 if u_side < cfg.buy_share else -1
        index = port.index_ticks
        notional = min(int(self.notional_q * math.exp(float(cfg.notional_sigma) * z)),
                       10**9 * port.instrument.quanta_per_unit)   # a tail fits int64
        qty = lots_at(notional, index, port.instrument)
        if qty > 0:
            self.sent += 1
            send_taker(port, ts, BACKGROUND_ACCOUNT, side, qty,
                       protection_limit(index, side, self.band))


class DipBuyers:
    """The dip buyers' bids, resting for ``DIP_ACCOUNT``: per entry ``[order id, price,
    lots placed, quantums left to buy]``.  O(bids) per second with a ``high`` anchor."""

    __slots__ = ("port", "entries", "bids", "high")

    def __init__(self, port, entries, notionals):
        self.port = port
        self.entries = tuple(zip(entries, notionals))
        self.bids: list[list] = []
        self.high = port.index_ticks

    def place(self, ts: int) -> None:
        """Rest every bid at its anchor (both anchors start at the start price)."""
        ex, ins, start = self.port.exchange, self.port.instrument, self.high
        for entry, notional in self.entries:
            price = offset_price(start, entry.offset_pct)
            placed = rest_order(ex, ts, DIP_ACCOUNT, 1, price, notional, ins,
                                reduce_only=entry.closes)
            oid, qty = placed if placed is not None else (None, 0)
            self.bids.append([oid, price, qty, notional])

    def second(self, ts: int) -> None:
        """Follow a new running high of the index: re-place the unfilled rest of each
        ``high``-anchored bid at its new price (decided now, sent through ``port``)."""
        port = self.port
        index = port.index_ticks
        ex = port.exchange
        if index <= self.high or ex.down or ex.halted:
            return      # down or halted: the new high is followed once it is back
        self.high = index
        for (entry, _), bid in zip(self.entries, self.bids):
            if entry.anchor == "high" and bid[0] is not None:
                price = offset_price(index, entry.offset_pct)
                if price > bid[1]:
                    port.send(ts, lambda t, b=bid, p=price, r=entry.closes:
                              self._move(t, b, p, r))

    def _move(self, ts: int, bid: list, price: int, reduce_only: bool = False) -> None:
        """Cancel ``bid``'s rest and re-place what it has not bought at ``price``."""
        ex, ins = self.port.exchange, self.port.instrument
        oid, old, placed, left = bid
        if oid is None or ex.down:
            return
        rest = ex.books[0].resting_qty(oid) if oid in ex.books[0] else 0
        left -= (placed - rest) * ins.lot_value_q(old)            # what it bought there
        if rest and not ex.cancel(ts, oid):
            return
        new = rest_order(ex, ts, DIP_ACCOUNT, 1, price, left, ins,
                         reduce_only=reduce_only) if rest else None
        oid, qty = new if new is not None else (None, 0)      # None: bought in full
        bid[:] = [oid, price, qty, left]


def open_background(port, cfg, units, seed: int, end_ns: int) -> BackgroundFlow | None:
    """The background flow with its deep-pocketed account, or None (nothing opened or
    drawn) when ``rate_per_s`` is 0."""
    if not cfg.rate_per_s:
        return None
    port.exchange.open_account(0, BACKGROUND_ACCOUNT,
                               deposit=10**9 * port.instrument.quanta_per_unit)
    flow = BackgroundFlow(port, cfg, units.background_notional,
                          np.random.default_rng([seed, BACKGROUND_STREAM]))
    flow.start(end_ns)
    return flow


def open_dip_buyers(port, entries, notionals, end_ns: int) -> DipBuyers | None:
    """The dip buyers' account (deposit: the sum of their notionals) and bids at 0, and a
    check every second when one follows the high; None when there are none."""
    if not entries:
        return None
    if DIP_ACCOUNT not in port.exchange.accounts:     # else opened holding (dip_holding)
        port.exchange.open_account(0, DIP_ACCOUNT, deposit=sum(notionals))
    dips = DipBuyers(port, entries, notionals)
    dips.place(0)
    if any(e.anchor == "high" for e in entries):
        for ts in range(SECOND, end_ns + 1, SECOND):
            port.schedule(ts, Phase.INPUT, dips.second)
    return dips


def dip_holding(entries, notionals, start: int, instrument) -> int:
    """Signed lots (<= 0) the dip buyers' account holds at the start: for each entry with
    ``closes``, the lots of its bid at its price from the start price (``offset_price``,
    lots rounded down) -- short, so the bids are take-profits that close it.  *Assumed*:
    resting bids far below a market are largely shorts' take-profit orders (short covering
    into a crash), sized to exactly what they would buy; a ``high``-anchored bid re-placed
    higher buys fewer lots, and what is left of the short stays open.  O(entries)."""
    return -sum(notional // instrument.lot_value_q(offset_price(start, e.offset_pct))
                for e, notional in zip(entries, notionals) if e.closes)
