"""The leveraged population over time: traders who open positions during the run.

``[arrivals]`` adds, each second of its ``window``, a Poisson number of new leveraged traders
(mean ``rate_per_s``), each a new cross account trading through the book: it deposits its
margin (below) and sends a market order (IOC, no worse than ``limit_pct`` from the mark) for
its notional at the mark.  Its entry is what it actually traded -- the
path the venue printed, not a scripted price -- and it is liquidated like anyone else, so a
rebound liquidates the shorts opened near a low (docs/reference/breakers-and-events.md
section 3 fact 3) and a grind keeps adding longs to its own liquidation map.

The rate rises with the market's moves: ``rate_per_s x (1 + activity x |move| in %)``, the
move being the mark's over ``momentum_window_s`` (assumed: crash days set volume records,
docs/reference/breakers-and-events.md section 3 fact 11).

Side: long with probability ``long_share``, except a ``momentum`` share of arrivals who follow
the mark's move over the last ``momentum_window_s`` seconds (short after a fall, long after
a rise; the base share when it did not move) -- assumed: the sources give the shares of
liquidations, not of openings.  Leverage and notional are log-normal (median, log-sd),
leverage at least 1 and at most the maximum of the tier its notional falls in, notional
clipped at 1e9 quote units.  Its deposit covers the initial margin at its worst fill price
plus the open loss to the mark there (``_margin``), so it starts solvent.  The order in
which the stream is drawn each second: the count, then per arrival side, momentum,
leverage, notional.

Exits: ``close_rate_per_s`` (mean, Poisson) draws of a trader of the population drawn at the
start, each second of the window; a drawn trader with an open position in profit at the
mark closes it with a reduce-only market order (no worse than ``limit_pct`` from the mark)
-- profit-taking, so shorts cover into a fall and open interest falls with the
liquidations (assumed rule; docs/reference/breakers-and-events.md section 3 fact 8).  Drawn
after the arrivals of the same second: the count, then one account index per draw.

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
                 "max_notional", "population", "closed")

    def __init__(self, port, cfg, seed: int, notional_median: int,
                 population: tuple[int, int] = (0, 0)):
        self.port = port
        self.cfg = cfg
        self.rng = np.random.default_rng([seed, ARRIVAL_STREAM])
        self.next_id = FIRST_ARRIVAL
        self.notional_median = notional_median
        self.marks: list[int] = []           # the mark at each second, for momentum
        self.opened = 0
        # A draw is clipped at 1e9 quote units (log-normal tails; int64 quantums).
        self.max_notional = 10**9 * port.instrument.quanta_per_unit
        self.population = population         # [first id, end id) of the start population
        self.closed = 0

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
        back = self.marks[-1 - min(cfg.momentum_window_s, len(self.marks) - 1)]
        move = (mark > back) - (mark < back)
        # Activity follows volatility: the rate rises by ``activity`` times for every 1% the
        # mark moved over the momentum window (assumed; crash days set volume records).
        rate = float(cfg.rate_per_s) * (1.0 + float(cfg.activity) * 100.0
                                        * abs(mark - back) / back)
        n = int(rng.poisson(rate))
        lot_q = port.instrument.lot_value_q(mark)
        for _ in range(n):
            long_ = rng.random() < float(cfg.long_share)
            follows = rng.random() < float(cfg.momentum)
            lev = math.exp(math.log(float(cfg.leverage_median))
                           + float(cfg.leverage_sigma) * rng.standard_normal())
            notional = self.notional_median * math.exp(float(cfg.notional_sigma)
                                                       * rng.standard_normal())
            if follows and move:
                long_ = move > 0
            qty = int(min(notional, self.max_notional)) // lot_q
            if qty <= 0:
                continue
            side = 1 if long_ else -1
            limit = protection_limit(mark, side, Fraction(cfg.limit_pct) / 100)
            margin = self._margin(qty, mark, limit, side, lev)
            acct_id = self.next_id
            self.next_id += 1
            ex.open_account(ts, acct_id, deposit=margin)
            self.opened += 1
            port.send(ts, lambda tt, a=acct_id, s=side, q=qty, p=limit:
                      ex.submit(tt, a, 0, s, q, price=p, tif=IOC, order_type=MARKET))
        self._exits(ts, mark)

    def _margin(self, qty: int, mark: int, limit: int, side: int, lev: float) -> int:
        """What an arrival deposits: the initial margin of its position at its worst fill
        price (the protection ``limit``) at its leverage -- capped by the maximum leverage
        of the tier that notional falls in -- plus the open loss to the mark if it fills
        there (rounded up), so it never starts below its initial margin.  O(tiers)."""
        ins = self.port.instrument
        table = ins.table_q
        notional = ins.notional(limit, qty)
        cap = table[table.index_of_q(notional)].max_leverage
        lev_f = min(Fraction(max(lev, 1.0)).limit_denominator(1000), Fraction(cap))
        # The open loss to the mark if it fills at the limit (up: a requirement).
        # (inverse: a long's loss is the value at the mark less the value at the limit)
        loss = max(0, side * (ins.value_q(mark, qty, up=side > 0)
                              - ins.value_q(limit, qty, up=side < 0))) if ins.inverse else qty * ins.tick_lot_quanta * max(0, side * (limit - mark))
        return ceil_f(Fraction(notional) / lev_f) + loss

    def _exits(self, ts: int, mark: int) -> None:
        """This second's profit-taking exits from the start population."""
        first, end = self.population
        cfg, rng = self.cfg, self.rng
        if not cfg.close_rate_per_s or end <= first:
            return
        ex, port = self.port.exchange, self.port
        n = int(rng.poisson(float(cfg.close_rate_per_s)))
        k = port.instrument.inverse_k
        accounts = ex.accounts
        band = Fraction(cfg.limit_pct) / 100
        # The n draws in one call give the same numbers as n single calls (numpy; checked
        # by tests/engine/market/test_population.py and the event-log digests).
        for draw in rng.integers(0, end - first, size=n).tolist():
            acct = accounts.get(first + draw)
            pos = acct.positions.get(0) if acct is not None else None
            if pos is None or not pos.size or (pos.unrealised_inverse(mark, k) <= 0 if k
                                               else pos.size * mark <= pos.cost):
                continue            # flat, or not in profit at the mark
            side = -1 if pos.size > 0 else 1
            limit = protection_limit(mark, side, band)
            self.closed += 1
            port.send(ts, lambda tt, a=first + draw, s=side, q=abs(pos.size), p=limit:
                      ex.submit(tt, a, 0, s, q, price=p, tif=IOC, order_type=MARKET,
                                reduce_only=True))
