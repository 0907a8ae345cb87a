"""The leveraged population over time: traders who open positions during the run.

``[arrivals]`` adds, each second of its ``window``, a Poisson number of new leveraged traders
(mean ``rate_per_s``), each a new cross account trading through the book: it deposits the
margin ``notional / leverage`` and sends a market order (IOC, no worse than ``limit_pct``
from the mark) for its notional at the mark.  Its entry is what it actually traded -- the
path the venue printed, not a scripted price -- and it is liquidated like anyone else, so a
rebound liquidates the shorts opened near a low (docs/reference/breakers-and-events.md
section 3 fact 3) and a grind keeps adding longs to its own liquidation map.

Side: long with probability ``long_share``, except a ``momentum`` share of arrivals who follow
the mark's move over the last ``momentum_window_s`` seconds (short after a fall, long after
a rise; the base share when it did not move) -- assumed: the sources give the shares of
liquidations, not of openings.  Leverage and notional are log-normal (median, log-sd),
leverage clipped to [1, the instrument's first-tier maximum].  The order in which the stream
is drawn each second: the count, then per arrival side, momentum, leverage, notional.

Randomness: the arrivals' own stream ``default_rng([seed, ARRIVAL_STREAM])``, so the run's
other draws do not move.  Accounts: ids from ``FIRST_ARRIVAL`` on (engine.venue.accounts).
O(arrivals) per second.
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from orderbook.enums import IOC, MARKET

from ..phases import SECOND
from ..venue.accounts import FIRST_ARRIVAL
from ..venue.rounding import ceil_f, protection_limit

ARRIVAL_STREAM = 17


class Arrivals:
    """New leveraged traders arriving through ``port`` (``engine.phases.Port``); ``cfg`` is
    the scenario's ``[arrivals]`` table and ``notional_median`` its median in quantums."""

    __slots__ = ("port", "cfg", "rng", "next_id", "notional_median", "marks", "opened",
                 "max_lev")

    def __init__(self, port, cfg, seed: int, notional_median: int):
        self.port = port
        self.cfg = cfg
        self.rng = np.random.default_rng([seed, ARRIVAL_STREAM])
        self.next_id = FIRST_ARRIVAL
        self.notional_median = notional_median
        self.marks: list[int] = []           # the mark at each second, for momentum
        self.opened = 0
        self.max_lev = float(port.instrument.tiers[0].max_leverage)

    def second(self, ts: int) -> None:
        """This second's arrivals, if ``ts`` is inside the window."""
        port, cfg = self.port, self.cfg
        ex = port.exchange
        mark = ex.marks[0] or port.index_ticks
        self.marks.append(mark)
        lo, hi = cfg.window
        if not lo <= Fraction(ts, SECOND) < hi or ex.down:
            return
        rng = self.rng
        n = int(rng.poisson(float(cfg.rate_per_s)))
        back = self.marks[-1 - min(cfg.momentum_window_s, len(self.marks) - 1)]
        move = (mark > back) - (mark < back)
        t = port.instrument.tick_lot_quanta
        for _ in range(n):
            long_ = rng.random() < float(cfg.long_share)
            follows = rng.random() < float(cfg.momentum)
            lev = math.exp(math.log(float(cfg.leverage_median))
                           + float(cfg.leverage_sigma) * rng.standard_normal())
            notional = self.notional_median * math.exp(float(cfg.notional_sigma)
                                                       * rng.standard_normal())
            if follows and move:
                long_ = move > 0
            lev = min(max(lev, 1.0), self.max_lev)
            qty = int(notional) // (mark * t)
            if qty <= 0:
                continue
            margin = ceil_f(Fraction(qty * mark * t) / Fraction(lev).limit_denominator(1000))
            side = 1 if long_ else -1
            acct_id = self.next_id
            self.next_id += 1
            ex.open_account(ts, acct_id, deposit=margin)
            limit = protection_limit(mark, side, Fraction(cfg.limit_pct) / 100)
            self.opened += 1
            port.send(ts, lambda tt, a=acct_id, s=side, q=qty, p=limit:
                      ex.submit(tt, a, 0, s, q, price=p, tif=IOC, order_type=MARKET))
