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

With ``resting = true`` it also quotes: each wake it cancels its quotes and rests a bid at
``I x (1 - c)`` and an ask at ``I x (1 + c)`` (GTC limits; what crosses trades at once), so a
sell sweep on this venue stops at its bid while it has room -- liquidity where a taker-only
arbitrageur finds none (a venue whose makers withdrew has no asks below the index to buy);
it then opens no IOC order and keeps only the unwind.  With ``gap_only`` as well it rests a
side only while no one else's order rests on that side at or inside its price (the
makers have left a gap beyond its cost): in a calm book the makers' quotes are inside its
thresholds and it shows nothing, so the book's calibrated depth is the makers' alone; it
steps in where they withdrew, and steps back when they return.
Quoting only into a gap is assumed: the sources name cross-venue arbitrage, not how it quotes.

The size is the most it may trade, capped (for an IOC order) by the book's quantity within
its limit as it sees it: its position stays within ``inventory_limit`` (notional at the
index, in lots rounded down), and a trade that adds to the position keeps its notional at
the mark within ``max_margin_use x leverage x equity`` (lots rounded down).  Reducing is
always allowed.

Hedge: each venue trade is hedged off-venue at the index at once (assumed; not in sources),
so the arbitrageur is flat overall; that hedge is outside this venue's ledger.  Only the
venue leg is modelled: it is margined, marked and liquidated like anyone's.

Collateral: ``capital`` is on this venue at the start; ``reserve_ratio x capital`` sits on
other venues.  When the margin cap stops an add and the reserve is not spent, it asks for
the reserve; it arrives ``transfer_delay_s`` later (a deposit through the ledger, at its
first wake on or after that time outside a freeze and an outage); until then it adds only
within the margin its equity carries now (waiting for collateral stops the extra, not the
trading its margin already covers: with "adds nothing" every arbitrageur of oct-2025-btc
seed 2 asked at the low and sat out the rebound for 300 s).  Disabled (no order, no
transfer; resting quotes pulled once the venue takes cancels) while the venue is down or
halted and within ``frictions.transfer_freeze``: frozen collateral stops it trading at
all, not only adding (assumed; not in the sources).

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
                 "transfer_due", "resting", "gap_only")

    def __init__(self, port, account_id: int, threshold_bps: int, exit_bps: int,
                 refresh_ns: int, rng, inventory_limit_q: int, cap: Fraction, reserve_q: int,
                 transfer_delay_ns: int, frozen: tuple[int, int] | None,
                 resting: bool = False, gap_only: bool = False):
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
        self.resting = resting
        self.gap_only = gap_only

    def disabled(self, ts: int) -> bool:
        """Down, halted, or inside the transfer freeze."""
        ex, frozen = self.port.exchange, self.frozen
        return ex.down or ex.halted or frozen is not None and frozen[0] <= ts < frozen[1]

    def wake(self, ts: int) -> None:
        """Draw the next wake's gap, then (unless disabled) credit a due transfer and send
        the order the gap calls for -- and with ``resting``, its quotes."""
        half = self.refresh_ns // 2
        self.port.schedule(ts + int(self.rng.integers(half, half + self.refresh_ns + 1)),
                           Phase.INPUT, self.wake)
        if self.disabled(ts):
            ex = self.port.exchange
            if self.resting and not ex.down and ex.accounts[self.account_id].open_orders:
                self.port.send(ts, lambda t: ex.cancel_all(t, self.account_id, 0))
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
        if self.resting:
            quotes = self.quotes(ts)
            port.send(ts, lambda t: self._requote(t, quotes))

    def _room(self, ts: int, side: int, limit: int, depth: int | None) -> int:
        """Lots it may trade on ``side`` now (inventory and margin caps; reducing is always
        allowed; while a transfer is pending, adding within the present margin).  When the
        margin cap, not the inventory limit nor ``depth`` (the book's, None for a quote),
        stops an add and no transfer is pending, it asks for its reserve (arriving
        ``transfer_delay`` later)."""
        port = self.port
        ex = port.exchange
        index = port.index_ticks
        acct = ex.accounts[self.account_id]
        pos = acct.positions.get(0)
        size = pos.size if pos is not None else 0
        reducing = max(0, -side * size)
        inventory = lots_at(self.inventory_limit_q, index, port.instrument)
        cap = self.cap
        margin = lots_at(max(0, ex.cross_equity(acct)) * cap.numerator // cap.denominator,
                         ex.marks[0] or index, port.instrument)
        room = max(reducing, min(inventory, margin) - side * size)
        if margin < inventory and self.reserve_q and self.transfer_due is None and \
                (depth is None or room <= depth):
            self.transfer_due = ts + self.transfer_delay_ns
        return room

    def decide(self, ts: int) -> tuple[int, int, int] | None:
        """``(side, lots, limit ticks)`` of the IOC order the book calls for now, or None
        (with ``resting``, only the unwind: its quotes do the rest).  O(log levels)."""
        port = self.port
        ex = port.exchange
        book = ex.books[0]
        index = port.index_ticks
        bid, ask = book.best_bid(), book.best_ask()
        pos = ex.accounts[self.account_id].positions.get(0)
        size = pos.size if pos is not None else 0
        c, e = self.threshold_bps, self.exit_bps
        opening = not self.resting
        if opening and bid is not None and bid * 10_000 > index * (10_000 + c):
            side, limit = -1, protection_limit(index, -1, Fraction(-c, 10_000))
        elif opening and ask is not None and ask * 10_000 < index * (10_000 - c):
            side, limit = 1, protection_limit(index, 1, Fraction(-c, 10_000))
        elif size > 0 and bid is not None and bid * 10_000 >= index * (10_000 - e):
            return -1, size, protection_limit(index, -1, Fraction(e, 10_000))
        elif size < 0 and ask is not None and ask * 10_000 <= index * (10_000 + e):
            return 1, -size, protection_limit(index, 1, Fraction(e, 10_000))
        else:
            return None
        depth = book.depth(-side, limit)
        qty = min(self._room(ts, side, limit, depth), depth)
        return (side, qty, limit) if qty > 0 else None

    def quotes(self, ts: int) -> list[tuple[int, int, int]]:
        """``resting``: ``(side, lots, price)`` of its bid at ``I x (1 - c)`` (rounded down)
        and its ask at ``I x (1 + c)`` (rounded up), each sized by its room; with
        ``gap_only``, a side only while others leave a gap there (``_others_at``)."""
        index = self.port.index_ticks
        band = Fraction(-self.threshold_bps, 10_000)
        out = []
        for side in (1, -1):
            price = protection_limit(index, side, band)
            if self.gap_only and self._others_at(side, price):
                continue
            qty = self._room(ts, side, price, None)
            if qty > 0:
                out.append((side, qty, price))
        return out

    def _others_at(self, side: int, price: int) -> int:
        """Lots resting on ``side`` at ``price`` or better that are not its own (its own
        resting orders, at most one a side, are subtracted).  O(log levels + levels within)."""
        ex = self.port.exchange
        book = ex.books[0]
        lots = book.depth(side, price)
        for oid in ex.accounts[self.account_id].open_orders:
            info = book.order(oid)
            if info is not None and info.side == side and side * (info.price - price) >= 0:
                lots -= info.qty
        return lots

    def _requote(self, ts: int, quotes) -> None:
        """Cancel its resting quotes and rest ``quotes`` (GTC limits: the part that crosses
        the book trades at once).  Nothing while the venue is down."""
        ex = self.port.exchange
        if ex.down:
            return
        ex.cancel_all(ts, self.account_id, 0)
        for side, qty, price in quotes:
            ex.submit(ts, self.account_id, 0, side, qty, price=price, order_type=LIMIT)

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
    ceiling = 10**9 * port.instrument.quanta_per_unit
    frozen = None if freeze is None else (ceil_f(freeze[0] * SECOND), ceil_f(freeze[1] * SECOND))
    for k in range(cfg.count):
        rng = np.random.default_rng([seed, ARBITRAGE_STREAM, k])
        threshold = int(rng.integers(cfg.threshold_bps[0], cfg.threshold_bps[1] + 1))
        refresh_ns = int(rng.integers(cfg.refresh_ms[0], cfg.refresh_ms[1] + 1)) * 1_000_000
        # Clipped at 1e9 quote units: a log-normal tail must fit the int64 quantums.
        factor = math.exp(sigma * float(rng.standard_normal()))
        capital = min(int(units.arbitrage_capital * factor), ceiling)
        acct_id = FIRST_ARBITRAGEUR + k
        ex.open_account(0, acct_id, deposit=capital)
        arb = Arbitrageur(port, acct_id, threshold, cfg.exit_bps, refresh_ns, rng,
                          min(int(units.arbitrage_inventory_limit * factor), ceiling), cap,
                          capital * cfg.reserve_ratio.numerator // cfg.reserve_ratio.denominator,
                          cfg.transfer_delay_s * SECOND, frozen, cfg.resting, cfg.gap_only)
        port.schedule(int(rng.integers(0, refresh_ns)), Phase.INPUT, arb.wake)
        out.append(arb)
    return out
