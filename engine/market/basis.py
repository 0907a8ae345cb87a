"""Basis traders: holders of the population's opposite side who react.

A cash-and-carry (basis) trader is short the perpetual on this venue and long the same
amount of spot elsewhere (outside this venue's ledger), earning the funding the longs pay.
``[basis]`` gives them a ``share`` of the leveraged population's net opposite side (what the
makers' ``opposite_share`` leaves), split equally among ``count`` accounts, on margin at
``leverage`` (their collateral is elsewhere: they run this leg capital-efficiently, so ADL
reaches them as it reached basis and market-making books on 10 Oct 2025 --
docs/reference/breakers-and-events.md section 2.1).

They react to the basis: each second, when this venue's best ask is more than
``unwind_bps`` below the index, the perpetual is cheap against their spot -- they buy back
``unwind_fraction`` of their remaining short (a reduce-only order no worse than ``unwind_bps``
below the index), closing the carry at a profit and selling the spot elsewhere (assumed
rule: the sources describe basis traders only as the holders of the other side).  A halt or
an outage stops them like anyone.  An ADL that closes their short leaves their spot naked;
there is nothing more for them to do here.  Accounts ``FIRST_BASIS`` onwards
(``engine.venue.accounts``).  O(count) a second; no random draws.
"""
from __future__ import annotations

from fractions import Fraction

from orderbook.enums import IOC, LIMIT

from ..venue.accounts import BASIS_ACCOUNT, FIRST_BASIS
from ..venue.rounding import ceil_f

MAX_BASIS = 30      # accounts FIRST_BASIS .. FIRST_BASIS + 29


def opposite_leg(net: int, share: Fraction, holders: int, lot_q: int,
                 leverage) -> tuple[int, int]:
    """One holder's part of the population's net opposite side: ``(lots, margin)`` --
    ``share`` of ``|net|`` lots split equally among ``holders`` (rounded down), and its
    margin at ``lot_q`` quantums a lot (``Instrument.lot_value_q`` of the price) and
    ``leverage`` (rounded up).  Makers' ``opposite_share``
    and the basis traders' ``share`` both use it.  O(1)."""
    lots = abs(net) * share.numerator // share.denominator // max(1, holders)
    return lots, ceil_f(Fraction(lots * lot_q) / Fraction(leverage))


def take_opposite(ex, account_id: int, lots: int, net: int, price: int) -> None:
    """Move ``lots`` of ``BASIS_ACCOUNT``'s side (``net``'s sign) to ``account_id`` by an
    off-book transfer at ``price`` ticks (nothing for 0 lots)."""
    if not lots:
        return
    if net < 0:     # the basis account is short: the holder takes the short
        ex.transfer_position(0, BASIS_ACCOUNT, account_id, 0, lots, price)
    else:
        ex.transfer_position(0, account_id, BASIS_ACCOUNT, 0, lots, price)


class BasisTraders:
    """The ``[basis]`` group acting through ``port`` (``engine.phases.Port``)."""

    __slots__ = ("port", "cfg", "ids", "bought")

    def __init__(self, port, cfg):
        self.port = port
        self.cfg = cfg
        self.ids = list(range(FIRST_BASIS, FIRST_BASIS + cfg.count))
        self.bought = 0             # lots bought back over the run

    def open(self, net: int, start: int) -> int:
        """Open the accounts and take ``share`` of ``net`` (the basis account's signed
        position, lots) off ``BASIS_ACCOUNT`` at ``start`` ticks, each with its margin at
        ``leverage`` (rounded up).  Returns the lots taken.  O(count)."""
        ex = self.port.exchange
        each, margin = opposite_leg(net, self.cfg.share, len(self.ids),
                                    self.port.instrument.lot_value_q(start), self.cfg.leverage)
        for acct_id in self.ids:
            ex.open_account(0, acct_id, deposit=margin)
            take_opposite(ex, acct_id, each, net, start)
        return each * len(self.ids)

    def second(self, ts: int) -> None:
        """Buy back (or sell back, for a long carry) when the perpetual trades beyond
        ``unwind_bps`` through the index on the side that closes them at a profit."""
        port, cfg = self.port, self.cfg
        ex = port.exchange
        if ex.down or ex.halted:
            return
        book, index = ex.books[0], port.index_ticks
        frac = cfg.unwind_fraction
        for acct_id in self.ids:
            pos = ex.accounts[acct_id].positions.get(0)
            if pos is None or not pos.size:
                continue
            side = 1 if pos.size < 0 else -1            # the order that closes it
            touch = book.best_ask() if side > 0 else book.best_bid()
            if touch is None:
                continue
            # The limit: index x (1 - unwind_bps) for a buy, x (1 + ...) for a sell; rounded
            # toward the index (never beyond the band).
            num = index * (10_000 - side * cfg.unwind_bps)
            limit = num // 10_000 if side > 0 else -(-num // 10_000)
            if side * (touch - limit) > 0:
                continue                                # not cheap (or rich) enough
            qty = max(1, abs(pos.size) * frac.numerator // frac.denominator)
            self.bought += qty
            port.send(ts, lambda tt, a=acct_id, s=side, q=qty, p=limit:
                      ex.submit(tt, a, 0, s, q, price=p, tif=IOC, order_type=LIMIT,
                                reduce_only=True))
