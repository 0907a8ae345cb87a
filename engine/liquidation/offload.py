"""The insurance fund re-offering the positions it took over.

Binance says only that the fund "will offload positions according to a preset algorithm"
(docs/reference/liquidation-mechanics.md section 1.6 item 9).  The stated rule here (assumed):
each call sends one IOC order for ``fraction_ppm`` of the fund's position (at least one
lot), limited to ``band_ppm`` away from the mark in the direction that closes it; the
Simulation calls it once per second per instrument.  What does not fill stays with the
fund; its fills pay the instrument's taker fee like anyone's.
"""
from __future__ import annotations

from fractions import Fraction

from orderbook.enums import IOC

from ..venue.events import EventKind
from ..venue.rounding import protection_limit

OFFLOAD_FRACTION_PPM = 100_000   # 10% of the position per call (assumed)
OFFLOAD_BAND_PPM = 10_000        # no worse than 1% from mark (assumed)


def offload(ex, ts: int, inst: int, fraction_ppm: int = OFFLOAD_FRACTION_PPM,
            band_ppm: int = OFFLOAD_BAND_PPM) -> int:
    """Offer part of the fund's position in ``inst``; return the lots sold or bought."""
    pos = ex.fund.positions.get(inst)
    mark = ex.marks[inst]
    if pos is None or not pos.size or mark is None:
        return 0
    side = -1 if pos.size > 0 else 1
    qty = max(1, abs(pos.size) * fraction_ppm // 1_000_000)
    limit = protection_limit(mark, side, Fraction(band_ppm, 1_000_000))
    ex.log.append(ts, EventKind.FUND_OFFLOAD_ORDER, side=side, inst=inst, account=ex.fund.id,
                  price=limit, qty=qty)
    r = ex.submit(ts, ex.fund.id, inst, side, qty, price=limit, tif=IOC)
    return r.filled_qty if r else 0
