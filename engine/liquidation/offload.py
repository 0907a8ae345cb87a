"""The insurance fund -- and, with ``[venue] backstop_offload``, Hyperliquid's backstop vault --
re-offering the positions it took over.

Binance says only that the fund "will offload positions according to a preset algorithm"
(docs/reference/liquidation-mechanics.md section 1.6 item 9).  The stated rule here (assumed):
each call sends one IOC order for ``fraction_ppm`` of the fund's position (at least one
lot), limited to ``band_ppm`` away from the mark in the direction that closes it; the
Simulation calls it once per second per instrument.  What does not fill stays with the
fund; its fills pay the instrument's taker fee like anyone's.  A loss that takes the fund's
wallet below zero is written off as bad debt at once (``settlement.clear_fund_shortfall``).

Under a breaker that refuses limits beyond a band around the mark (``price-band``), the
fund's limit is kept at the band's edge (``Policy.limit_edge``; assumed: whether a venue
exempts its own fund from its band is not published): it is the venue's own engine and
knows its band, as Bybit re-prices to "the nearest allowed price" (breakers-and-events.md
P11).  Sent beyond it, every order was refused: on mar-2020-bitmex
(1/20, seed 0) 1,090 of 1,104 offload orders, the fund kept what it took over and went
insolvent, and ADL closed 152 units.

``OffloadBand`` widens that band the longer the fund holds a position (assumed, like the
rest of the algorithm): from ``band_ppm`` when it takes one on to ``max_ppm`` after
``widen_s`` seconds, linearly, back to ``band_ppm`` once it is flat -- so in a book emptied
near the mark the fund still works its position out, at worse prices, over time.

The backstop vault (the liquidator strategy of HLP, liquidation-mechanics.md section 5) is
not a passive holder either: it took over "billions of dollars of positions in ~20 minutes"
on 10 Oct 2025 (section 9), and a market-making vault closes what it takes.  How it closes
is not published: with ``backstop_offload`` the vault follows the fund's rule above, with the
same parameters and its own band (assumed).  Its orders are logged as
``FundOffloadOrder`` rows whose ``account`` is the vault's id.
"""
from __future__ import annotations

from fractions import Fraction

from orderbook.enums import IOC

from ..venue.events import EventKind
from ..venue.rounding import protection_limit
from .settlement import clear_fund_shortfall

OFFLOAD_FRACTION_PPM = 100_000   # 10% of the position per call (assumed)
OFFLOAD_BAND_PPM = 10_000        # no worse than 1% from mark (assumed)


def offload(ex, ts: int, inst: int, fraction_ppm: int = OFFLOAD_FRACTION_PPM,
            band_ppm: int = OFFLOAD_BAND_PPM, holder=None) -> int:
    """Offer part of ``holder``'s position in ``inst`` (default: the fund's); return the
    lots sold or bought."""
    holder = ex.fund if holder is None else holder
    pos = holder.positions.get(inst)
    mark = ex.marks[inst]
    if pos is None or not pos.size or mark is None:
        return 0
    side = -1 if pos.size > 0 else 1
    qty = max(1, abs(pos.size) * fraction_ppm // 1_000_000)
    limit = protection_limit(mark, side, Fraction(band_ppm, 1_000_000))
    breaker = ex.breaker if inst == 0 else None     # the breakers gate instrument 0 only
    edge = breaker.limit_edge(inst, side) if breaker is not None else None
    if edge is not None and side * (limit - edge) > 0:
        limit = edge            # no deeper than the venue's order-entry band admits
    ex.log.append(ts, EventKind.FUND_OFFLOAD_ORDER, side=side, inst=inst, account=holder.id,
                  price=limit, qty=qty)
    r = ex.submit(ts, holder.id, inst, side, qty, price=limit, tif=IOC)
    if holder is ex.fund:
        clear_fund_shortfall(ex, ts, inst)
    return r.filled_qty if r else 0


class OffloadBand:
    """The fund's offload band for one instrument: ``band_ppm`` when it takes a position
    on, widening linearly to ``max_ppm`` over ``widen_s`` seconds held (rounded down),
    reset when the position is flat.  O(1)."""

    __slots__ = ("band_ppm", "max_ppm", "widen_ns", "since")

    def __init__(self, band_ppm: int, max_ppm: int, widen_s: int):
        self.band_ppm = band_ppm
        self.max_ppm = max(band_ppm, max_ppm)
        self.widen_ns = widen_s * 1_000_000_000
        self.since: int | None = None

    def at(self, ts: int, holding: bool) -> int:
        """The band at ``ts``, ppm, for a fund that is (or is not) ``holding`` a position."""
        if not holding:
            self.since = None
            return self.band_ppm
        if self.since is None:
            self.since = ts
        if not self.widen_ns:
            return self.band_ppm
        held = min(ts - self.since, self.widen_ns)
        return self.band_ppm + (self.max_ppm - self.band_ppm) * held // self.widen_ns
