"""Cross-venue arbitrageurs: they trade this venue back toward the index when the gap exceeds
their costs, within their capital, inventory and collateral transfers -- so they bound the
venue's dispersion in calm markets and fail in stress (docs/reference/breakers-and-events.md
section 3, fact 4: per-venue lows several percent below the index).

Each of ``arbitrage.count`` arbitrageurs owns a cross margin account on this venue (ids from
``FIRST_ARBITRAGEUR``) and wakes every ``refresh`` with jitter.  Awake, with the index ``I``,
its cost threshold ``c`` and exit ``e`` (basis points):

* best bid ``> I x (1 + c)``: it sells, IOC limit at ``I x (1 + c)`` rounded up;
* best ask ``< I x (1 - c)``: it buys, IOC limit at ``I x (1 - c)`` rounded down;
* else, holding a long and the bid back to ``>= I x (1 - e)``: it sells the long (limit
  ``I x (1 - e)`` rounded up); holding a short and the ask back to ``<= I x (1 + e)``: it
  buys it back (limit ``I x (1 + e)`` rounded down) -- the gap closed, the trade unwound.

The size is the most it may trade, capped by the book's quantity within its limit as it sees
it: its position stays within ``inventory_limit`` (notional at the index, in lots rounded
down), and a trade that adds to the position keeps its notional at the mark within
``max_margin_use x leverage x equity`` (lots rounded down).  Reducing is always allowed.

Hedge (assumed: not in the sources): every venue trade is matched by an opposite trade on
other venues at the index at the same instant, so the arbitrageur is flat overall; that hedge
is off this venue and outside its ledger.  Only the venue leg is modelled: it is margined,
marked and liquidated like anyone's.

Collateral: ``capital`` is on this venue at the start; ``reserve_ratio x capital`` sits on
other venues.  When the margin cap stops an add and the reserve is not spent, it asks for
the reserve; it arrives ``transfer_delay_s`` later (a deposit through the ledger, at its
first wake on or after that time outside a freeze and an outage), and until then it adds
nothing.  Disabled (no order, no transfer) while the venue is down or halted and within
``frictions.transfer_freeze`` (assumed: an arbitrageur whose collateral cannot follow its
hedge between venues stops arbitraging rather than trading on the margin it has).

Randomness: arbitrageur ``k`` draws from its own generator ``default_rng([seed,
ARBITRAGE_STREAM, k])``, never from the run's: at set-up, in this order, its threshold
(``integers`` in ``threshold_bps``), its refresh (``integers`` in ``refresh_ms``, ms), a
standard normal ``z`` for its size (capital and inventory limit both ``median x exp(sigma
z)``, rounded down: large firms run large books) and its first wake (``integers`` in
``[0, refresh)`` ns); then at every wake, one ``integers`` in ``[refresh/2, 3 refresh/2]``
ns, the gap to its next wake.  So the run's draws are the same with or without them.
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from orderbook.enums import LIMIT

from ..phases import SECOND, Phase
from ..venue.accounts import FIRST_ARBITRAGEUR
from ..venue.rounding import ceil_f, protection_limit
from .programs import lots_at, send_taker

ARBITRAGE_STREAM = 1301     # the arbitrageurs' child generators: default_rng([seed, 1301, k])


class Arbitrageur:
    """One arbitrageur, acting through ``port`` (``engine.phases.Port``).  Money in quantums,
    thresholds in bps, times in ns; ``cap`` is ``leverage x max_margin_use`` (a Fraction);
    ``frozen`` the transfer freeze ``(from, to)`` in ns or None.  A wake is O(log levels)
    (the book's best prices and its depth within the limit)."""

    __slots__ = ("port", "account_id", "threshold_bps", "exit_bps", "refresh_ns", "rng",
                 "inventory_limit_q", "cap", "reserve_q", "transfer_delay_ns", "frozen",
                 "transfer_due")

    def __init__(self, port, account_id: int, threshold_bps: int, exit_bps: int,
                 refresh_ns: int, rng, inventory_limit_q: int, cap: Fraction, reserve_q: int,
                 transfer_delay_ns: int, frozen: tuple[int, int] | None):
        self.port = port
        self.account_id = account_id
        self.threshold_bps = threshold_bps
        self.exit_bps = exit_bps
        self.refresh_ns = refresh_ns
        self.rng = rng
        self.inventory_limit_q = inventory_limit_q
        self.cap = cap
        self.reserve_q = reserve_q
        self.transfer_delay_ns = transfer_delay_ns
        self.frozen = frozen
        self.transfer_due: int | None = None      # when the requested reserve arrives

    def disabled(self, ts: int) -> bool:
        """Down, halted, or inside the transfer freeze."""
        ex, frozen = self.port.exchange, self.frozen
        return ex.down or ex.halted or frozen is not None and frozen[0] <= ts < frozen[1]

    def wake(self, ts: int) -> None:
        """Draw the next wake's gap, then (unless disabled) credit a due transfer and send
        the one order the gap calls for."""
        half = self.refresh_ns // 2
        self.port.schedule(ts + int(self.rng.integers(half, half + self.refresh_ns + 1)),
                           Phase.INPUT, self.wake)
        if self.disabled(ts):
            return
        port = self.port
        ex = port.exchange
        due = self.transfer_due
        if due is not None and ts >= due:
            ex.deposit(ts, self.account_id, self.reserve_q)
            self.reserve_q, self.transfer_due = 0, None
        order = self.decide(ts)
        if order is not None:
            side, qty, limit = order
            send_taker(port, ts, self.account_id, side, qty, limit, order_type=LIMIT)

    def decide(self, ts: int) -> tuple[int, int, int] | None:
        """``(side, lots, limit ticks)`` of the order the book calls for now, or None; asks
        for the reserve when the margin cap stops an add.  Reads only, but for the request."""
        port = self.port
        ex = port.exchange
        book = ex.books[0]
        index = port.index_ticks
        bid, ask = book.best_bid(), book.best_ask()
        acct = ex.accounts[self.account_id]
        pos = acct.positions.get(0)
        size = pos.size if pos is not None else 0
        c, e = self.threshold_bps, self.exit_bps
        if bid is not None and bid * 10_000 > index * (10_000 + c):
            side, limit, reduce_only = -1, protection_limit(index, -1, Fraction(-c, 10_000)), False
        elif ask is not None and ask * 10_000 < index * (10_000 - c):
            side, limit, reduce_only = 1, protection_limit(index, 1, Fraction(-c, 10_000)), False
        elif size > 0 and bid is not None and bid * 10_000 >= index * (10_000 - e):
            side, limit, reduce_only = -1, protection_limit(index, -1, Fraction(e, 10_000)), True
        elif size < 0 and ask is not None and ask * 10_000 <= index * (10_000 + e):
            side, limit, reduce_only = 1, protection_limit(index, 1, Fraction(e, 10_000)), True
        else:
            return None
        reducing = max(0, -side * size)          # lots that reduce the position
        if reduce_only:
            room = reducing
        else:
            inventory = lots_at(self.inventory_limit_q, index, port.instrument)
            cap = self.cap
            margin = lots_at(max(0, ex.cross_equity(acct)) * cap.numerator // cap.denominator,
                             ex.marks[0] or index, port.instrument)
            blocked = self.transfer_due is not None
            room = reducing if blocked else max(reducing, min(inventory, margin) - side * size)
            if margin < inventory and not blocked and self.reserve_q and \
                    room <= book.depth(-side, limit):
                # The margin cap, not the book, stops the add: ask for the reserve.
                self.transfer_due = ts + self.transfer_delay_ns
        qty = min(room, book.depth(-side, limit))
        return (side, qty, limit) if qty > 0 else None


def open_arbitrageurs(port, cfg, units, freeze, seed: int) -> list[Arbitrageur]:
    """Open ``cfg.count`` arbitrageurs' accounts (their capital deposited at 0) and schedule
    their first wakes; nothing (no account, no draw) when the count is 0.  ``units`` is the
    scenario's ``ScenarioUnits``, ``freeze`` its ``frictions.transfer_freeze``."""
    out = []
    if not cfg.count:
        return out
    ex = port.exchange
    cap = Fraction(cfg.leverage) * cfg.max_margin_use
    sigma = float(cfg.capital_sigma)
    frozen = None if freeze is None else (ceil_f(freeze[0] * SECOND), ceil_f(freeze[1] * SECOND))
    for k in range(cfg.count):
        rng = np.random.default_rng([seed, ARBITRAGE_STREAM, k])
        threshold = int(rng.integers(cfg.threshold_bps[0], cfg.threshold_bps[1] + 1))
        refresh_ns = int(rng.integers(cfg.refresh_ms[0], cfg.refresh_ms[1] + 1)) * 1_000_000
        factor = math.exp(sigma * float(rng.standard_normal()))
        capital = int(units.arbitrage_capital * factor)
        acct_id = FIRST_ARBITRAGEUR + k
        ex.open_account(0, acct_id, deposit=capital)
        arb = Arbitrageur(port, acct_id, threshold, cfg.exit_bps, refresh_ns, rng,
                          int(units.arbitrage_inventory_limit * factor), cap,
                          capital * cfg.reserve_ratio.numerator // cfg.reserve_ratio.denominator,
                          cfg.transfer_delay_s * SECOND, frozen)
        port.schedule(int(rng.integers(0, refresh_ns)), Phase.INPUT, arb.wake)
        out.append(arb)
    return out
